"""Index backups and restores: back an index up, list, describe and delete backups, restore one into a
new index and follow its restore job."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inferhouse.client._transport import Transport, segment

RESTORE_ENDED = ("Completed", "Failed")


@dataclass(frozen=True)
class BackupDescription:
    """One backup: ``Initializing`` while it is taken, then ``Ready`` (or ``InitializationFailed``)."""

    backup_id: str
    source_index_name: str
    status: str
    name: str | None = None
    description: str | None = None
    record_count: int | None = None
    namespace_count: int | None = None
    size_bytes: int | None = None
    created_at: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> BackupDescription:
        return cls(
            backup_id=body["backup_id"],
            source_index_name=body["source_index_name"],
            status=body["status"],
            name=body.get("name"),
            description=body.get("description"),
            record_count=body.get("record_count"),
            namespace_count=body.get("namespace_count"),
            size_bytes=body.get("size_bytes"),
            created_at=body.get("created_at"),
        )


@dataclass(frozen=True)
class RestoreJobDescription:
    """One restore of a backup into a new index: ``Pending``, ``InProgress``, then ``Completed`` or
    ``Failed``."""

    restore_job_id: str
    backup_id: str
    target_index_name: str
    target_index_id: str
    status: str
    percent_complete: float = 0.0
    created_at: str | None = None
    completed_at: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> RestoreJobDescription:
        return cls(
            restore_job_id=body["restore_job_id"],
            backup_id=body["backup_id"],
            target_index_name=body["target_index_name"],
            target_index_id=body["target_index_id"],
            status=body["status"],
            percent_complete=float(body.get("percent_complete") or 0.0),
            created_at=body.get("created_at"),
            completed_at=body.get("completed_at"),
        )


class BackupsAPI(Transport):
    def create_backup(
        self, index: str, *, name: str | None = None, description: str | None = None
    ) -> BackupDescription:
        body = {key: value for key, value in (("name", name), ("description", description)) if value}
        reply = self._post(f"/indexes/{segment(index)}/backups", body)
        return BackupDescription.from_json(reply)

    def list_backups(self, index: str | None = None) -> list[BackupDescription]:
        """Every backup (of ``index``, when given), oldest first, every page."""
        path = "/backups" if index is None else f"/indexes/{segment(index)}/backups"
        return [BackupDescription.from_json(item) for item in self._every_page(path)]

    def describe_backup(self, backup_id: str) -> BackupDescription:
        return BackupDescription.from_json(self._request("GET", f"/backups/{segment(backup_id)}"))

    def delete_backup(self, backup_id: str) -> None:
        self._request("DELETE", f"/backups/{segment(backup_id)}")

    def restore_backup(
        self,
        backup_id: str,
        name: str,
        *,
        deletion_protection: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RestoreJobDescription:
        """Start restoring ``backup_id`` into a new index ``name``; the job, as it stands."""
        body: dict[str, Any] = {"name": name}
        if deletion_protection is not None:
            body["deletion_protection"] = deletion_protection
        if tags is not None:
            body["tags"] = dict(tags)
        started = self._post(f"/backups/{segment(backup_id)}/create-index", body)
        return self.describe_restore_job(started["restore_job_id"])

    def describe_restore_job(self, job_id: str) -> RestoreJobDescription:
        return RestoreJobDescription.from_json(self._request("GET", f"/restore-jobs/{segment(job_id)}"))

    def list_restore_jobs(self) -> list[RestoreJobDescription]:
        return [RestoreJobDescription.from_json(item) for item in self._every_page("/restore-jobs")]

    def wait_for_restore(
        self,
        job_id: str,
        *,
        timeout: float = 3600.0,
        poll: float = 0.5,
        on_progress: Callable[[RestoreJobDescription], None] | None = None,
    ) -> RestoreJobDescription:
        """Poll a restore job until it ends (or ``timeout`` runs out: TimeoutError), reporting each poll."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.describe_restore_job(job_id)
            if on_progress is not None:
                on_progress(job)
            if job.status in RESTORE_ENDED:
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"restore job {job_id} is still {job.status} after {timeout:.0f}s")
            time.sleep(poll)

    def _every_page(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            reply = self._request("GET", path, params=params)
            items.extend(reply.get("data") or [])
            following = (reply.get("pagination") or {}).get("next")
            if not following:
                return items
            params = {"paginationToken": following}
