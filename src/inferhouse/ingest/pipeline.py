"""The ingest loop: read a batch, embed its texts, upsert the vectors, then advance the checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from inferhouse.client import InferhouseAPIError
from inferhouse.ingest.checkpoint import Checkpoint, CheckpointError, load_checkpoint, resume, save_checkpoint
from inferhouse.ingest.reader import Row, read_rows
from inferhouse.ingest.records import BadRow, Fields, Record, batched, split_batch


class IngestClient(Protocol):
    """What the loop needs of :class:`inferhouse.Client`; tests pass a fake."""

    def embed(self, texts: list[str], *, endpoint: str) -> list[list[float]]: ...

    def describe_index(self, name: str) -> object: ...

    def create_index(self, name: str, dimension: int) -> object: ...

    def upsert(self, index: str, vectors: Iterable[Mapping[str, Any]], namespace: str = "") -> int: ...


class IngestError(Exception):
    """The ingest cannot go on; the checkpoint keeps what was done."""


@dataclass(frozen=True)
class IngestPlan:
    index: str
    endpoint: str
    namespace: str = ""
    text_field: str = "text"
    id_field: str = "id"
    batch_size: int = 64
    create: bool = True
    limit: int | None = None  # rows to do in this run; a later run resumes


@dataclass
class IngestReport:
    resumed_at: int = 0  # rows a checkpoint let this run skip
    rows_done: int = 0  # rows done by every run so far, bad ones included
    upserted: int = 0  # vectors this run upserted
    bad_rows: int = 0  # bad rows this run met
    created_index: bool = False


def _ignore(_: Any) -> None:
    return None


class Ingestion:
    """One ingest of ``source`` into an index; built before it runs so that callers can see where it
    resumes (``resumed_at``) and why a checkpoint was not used (``restart_reason``)."""

    def __init__(self, source: Path, plan: IngestPlan, checkpoint_file: Path) -> None:
        if plan.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        self.source, self.plan, self.checkpoint_file = source, plan, checkpoint_file
        self.fields = Fields(plan.text_field, plan.id_field, id_prefix=source.stem)
        wanted = Checkpoint(plan.index, plan.namespace, plan.endpoint, plan.text_field, plan.id_field)
        self.checkpoint, self.restart_reason = _starting_point(source, wanted, checkpoint_file)
        self.resumed_at = self.checkpoint.rows_done
        self._index_ready = False

    def run(
        self,
        client: IngestClient,
        *,
        on_batch: Callable[[int], None] = _ignore,
        on_bad_row: Callable[[BadRow], None] = _ignore,
    ) -> IngestReport:
        """Ingest the rows not done yet; ``on_batch`` hears how many rows each finished batch held."""
        report = IngestReport(resumed_at=self.resumed_at, rows_done=self.checkpoint.rows_done)
        self._index_ready = _index_exists(client, self.plan.index)
        if not self._index_ready and not self.plan.create:
            raise IngestError(f"index {self.plan.index!r} does not exist (and --no-create was given)")
        for batch in batched(self._pending_rows(), self.plan.batch_size):
            records, bad = split_batch(batch, self.fields)
            for row in bad:
                on_bad_row(row)
            if records:
                report.upserted += self._write(client, records, report)
            # Only now, with the server's acknowledgement, is the batch done.
            self.checkpoint = self.checkpoint.advance(batch, len(bad))
            save_checkpoint(self.checkpoint_file, self.checkpoint)
            report.rows_done, report.bad_rows = self.checkpoint.rows_done, report.bad_rows + len(bad)
            on_batch(len(batch))
        return report

    def _write(self, client: IngestClient, records: list[Record], report: IngestReport) -> int:
        """Embed and upsert ``records``; the first vectors tell a missing index its dimension."""
        vectors = client.embed([record.text for record in records], endpoint=self.plan.endpoint)
        if not self._index_ready:
            report.created_index = _create_index(client, self.plan.index, len(vectors[0]))
            self._index_ready = True
        pairs = zip(records, vectors, strict=True)
        return client.upsert(self.plan.index, [record.vector(v) for record, v in pairs], self.plan.namespace)

    def _pending_rows(self) -> Iterable[Row]:
        rows = islice(read_rows(self.source), self.checkpoint.rows_done, None)
        return rows if self.plan.limit is None else islice(rows, self.plan.limit)


def _starting_point(source: Path, wanted: Checkpoint, checkpoint_file: Path) -> tuple[Checkpoint, str | None]:
    try:
        saved = load_checkpoint(checkpoint_file)
    except CheckpointError as error:
        return wanted, str(error)
    return resume(saved, wanted, read_rows(source))


def _index_exists(client: IngestClient, name: str) -> bool:
    try:
        client.describe_index(name)
    except InferhouseAPIError as error:
        if error.status_code == 404:
            return False
        raise
    return True


def _create_index(client: IngestClient, name: str, dimension: int) -> bool:
    """Create the index with the endpoint's dimension; False if another writer made it meanwhile."""
    try:
        client.create_index(name, dimension)
    except InferhouseAPIError as error:
        if error.status_code != 409:
            raise
        return False
    return True
