"""Bulk import and export of an index: start and follow imports, stream an export."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from inferhouse.client._transport import Transport, api_error, index_path, segment


@dataclass(frozen=True)
class ImportStatus:
    """One bulk import as the server reports it (Pinecone's import model)."""

    id: str
    uri: str
    status: str  # Pending, InProgress, Failed, Completed or Cancelled
    percent_complete: float
    records_imported: int
    created_at: str
    finished_at: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("Failed", "Completed", "Cancelled")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ImportStatus:
        return cls(
            id=body["id"],
            uri=body["uri"],
            status=body["status"],
            percent_complete=float(body.get("percentComplete") or 0.0),
            records_imported=int(body.get("recordsImported") or 0),
            created_at=body.get("createdAt") or "",
            finished_at=body.get("finishedAt"),
            error=body.get("error"),
        )


class ImportsAPI(Transport):
    def start_import(self, index: str, uri: str, *, error_mode: str = "abort") -> str:
        """Start importing Parquet files in Pinecone's layout from ``uri`` (a directory on the server's
        disk, or a file:// URI); the import's id."""
        body = {"uri": uri, "errorMode": {"onError": error_mode}}
        reply = self._post(f"{index_path(index)}/bulk/imports", body)
        return str(reply["id"])

    def describe_import(self, index: str, import_id: str) -> ImportStatus:
        reply = self._request("GET", f"{index_path(index)}/bulk/imports/{segment(import_id)}")
        return ImportStatus.from_json(reply)

    def list_imports(self, index: str) -> list[ImportStatus]:
        found: list[ImportStatus] = []
        params: dict[str, str] = {}
        while True:
            reply = self._request("GET", f"{index_path(index)}/bulk/imports", params=params)
            found.extend(ImportStatus.from_json(item) for item in reply.get("data", []))
            token = (reply.get("pagination") or {}).get("next")
            if not token:
                return found
            params = {"paginationToken": token}

    def cancel_import(self, index: str, import_id: str) -> None:
        self._request("DELETE", f"{index_path(index)}/bulk/imports/{segment(import_id)}")

    @contextmanager
    def export_stream(self, index: str) -> Iterator[Iterator[bytes]]:
        """The index's records from one snapshot, as the pieces of an Arrow IPC stream (read it with
        pyarrow; ``inferhouse index export`` writes it as Parquet)."""
        with self._http.stream("GET", f"/api/indexes/{segment(index)}/export", timeout=None) as response:
            if response.is_error:
                response.read()
                raise api_error(response)
            yield response.iter_bytes()
