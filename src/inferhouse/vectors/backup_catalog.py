"""What is known about index backups and restore jobs, and where it is kept.

A :class:`Backup` is a finished snapshot of one index: its catalog row is written only once its data is
complete and on disk, so whatever the catalog lists can be restored. A :class:`RestoreJob` is one restore
of a backup into a new index, stored from the moment it is accepted so that a restart can tell what a
crash interrupted. :class:`BackupCatalog` is the contract; :mod:`~inferhouse.vectors.sqlite_backup_catalog`
keeps it in the main SQLite database, :mod:`~inferhouse.vectors.postgres_backup_catalog` in PostgreSQL.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from inferhouse.vectors.catalog import from_document, to_document
from inferhouse.vectors.index import IndexConfig

# Backup states, Pinecone's words: a backup being taken, one that is complete, one that failed.
INITIALIZING, READY, INITIALIZATION_FAILED = "Initializing", "Ready", "InitializationFailed"
# Restore job states: accepted, copying, done, given up.
PENDING, IN_PROGRESS, COMPLETED, FAILED = "Pending", "InProgress", "Completed", "Failed"
UNFINISHED = frozenset({PENDING, IN_PROGRESS})


def index_id(config: IndexConfig) -> str:
    """A stable id for one index: its name and creation time, so a later index of the same name differs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"inferhouse:index:{config.name}:{config.created_at!r}"))


@dataclass
class Backup:
    backup_id: str
    source: IndexConfig  # the source index's configuration when the backup was taken
    created_at: float
    name: str | None = None
    description: str | None = None
    status: str = INITIALIZING
    record_count: int | None = None
    namespace_count: int | None = None
    size_bytes: int | None = None

    @property
    def source_index_name(self) -> str:
        return self.source.name

    def to_document(self) -> dict[str, Any]:
        return {**asdict(self), "source": to_document(self.source)}

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> Backup:
        return cls(**{**data, "source": from_document(data["source"])})


@dataclass
class RestoreJob:
    restore_job_id: str
    backup_id: str
    target: IndexConfig  # the configuration the new index is published with
    created_at: float
    status: str = PENDING
    percent_complete: float = 0.0
    completed_at: float | None = None
    error: str | None = None  # why it failed, for the server log and the CLI; never internals

    @property
    def target_index_name(self) -> str:
        return self.target.name

    def to_document(self) -> dict[str, Any]:
        return {**asdict(self), "target": to_document(self.target)}

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> RestoreJob:
        return cls(**{**data, "target": from_document(data["target"])})


class BackupCatalog(Protocol):
    def load_backups(self) -> list[Backup]:
        """Every published backup, oldest first."""
        ...

    def find_backup(self, backup_id: str) -> Backup | None: ...

    def insert_backup(self, backup: Backup) -> None:
        """Publish a backup whose data is complete."""
        ...

    def delete_backup(self, backup_id: str) -> None:
        """Forget a backup; nothing happens when none has that id."""
        ...

    def save_job(self, job: RestoreJob) -> None:
        """Store a restore job, new or changed."""
        ...

    def load_jobs(self) -> list[RestoreJob]:
        """Every restore job, oldest first."""
        ...

    def find_job(self, job_id: str) -> RestoreJob | None: ...
