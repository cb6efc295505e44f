"""Bulk imports as records: what one import is, its states, and where the records are kept.

Records are durable (``vectors/sqlite_import_jobs.py`` in the main SQLite database,
``vectors/postgres_import_jobs.py`` in PostgreSQL), so listing and describing imports survive a restart.
A running import writes its progress after every batch it stores, with a heartbeat; an import whose
server died mid-way is found by that heartbeat and reported ``Failed`` with how far it got. Cancelling
is a change of the record, which the runner sees at its next batch, whichever server runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class ImportStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"

    @property
    def running(self) -> bool:
        return self in (ImportStatus.PENDING, ImportStatus.IN_PROGRESS)


class ErrorMode(StrEnum):
    CONTINUE = "continue"  # skip a bad record, import the rest
    ABORT = "abort"  # stop at the first bad record (Pinecone's default)


@dataclass
class ImportJob:
    id: str
    index: str
    uri: str
    error_mode: ErrorMode
    status: ImportStatus
    created_at: float
    total_records: int = 0  # rows in the files, known when the import starts
    records_read: int = 0  # rows read so far, good and bad
    records_imported: int = 0
    records_skipped: int = 0
    finished_at: float | None = None
    error: str | None = None
    heartbeat: float = 0.0  # when the runner last reported; a stale one means its server is gone

    @property
    def percent_complete(self) -> float:
        if self.status == ImportStatus.COMPLETED:
            return 100.0
        if not self.total_records:
            return 0.0
        return round(100.0 * self.records_read / self.total_records, 2)


# The columns every backend keeps after the import's number (its id), in this order.
COLUMNS = (
    "index_name",
    "uri",
    "error_mode",
    "status",
    "created_at",
    "total_records",
    "records_read",
    "records_imported",
    "records_skipped",
    "finished_at",
    "error",
    "heartbeat",
)


def to_row(job: ImportJob) -> tuple[object, ...]:
    """The values of :data:`COLUMNS`."""
    return (
        job.index,
        job.uri,
        job.error_mode.value,
        job.status.value,
        job.created_at,
        job.total_records,
        job.records_read,
        job.records_imported,
        job.records_skipped,
        job.finished_at,
        job.error,
        job.heartbeat,
    )


def from_row(row: tuple[Any, ...]) -> ImportJob:
    """An import from its number followed by the values of :data:`COLUMNS`."""
    (number, index, uri, mode, status, created, total, read, imported, skipped, finished, error, beat) = row
    return ImportJob(
        id=str(number),
        index=index,
        uri=uri,
        error_mode=ErrorMode(mode),
        status=ImportStatus(status),
        created_at=float(created),
        total_records=int(total),
        records_read=int(read),
        records_imported=int(imported),
        records_skipped=int(skipped),
        finished_at=None if finished is None else float(finished),
        error=error,
        heartbeat=float(beat),
    )


class ImportJobStore(Protocol):
    def insert(self, job: ImportJob) -> ImportJob:
        """Store a new import under the next free number, which becomes its id."""
        ...

    def get(self, job_id: str) -> ImportJob | None: ...

    def list(self, index: str, after: int, limit: int) -> list[ImportJob]:
        """An index's imports in number order, those numbered above ``after``."""
        ...

    def progress(self, job: ImportJob) -> bool:
        """Store a running import's counters, status and heartbeat; False (and nothing stored) once the
        import is no longer running: it was cancelled, or declared interrupted."""
        ...

    def finish(self, job: ImportJob) -> bool:
        """Store a running import's final state; False when it had already stopped (cancelled)."""
        ...

    def cancel(self, job_id: str, now: float) -> bool:
        """Mark a running import Cancelled; False when it had already stopped."""
        ...

    def fail_stale(self, before: float, now: float, reason: str) -> int:
        """Mark Failed every running import whose heartbeat is older than ``before``; how many."""
        ...
