"""Where backups keep their rows, and how a backup becomes an index again.

Both backends follow one rule: data first, catalog row last. A backup's rows are written under a name no
listing reads, made durable, and only then published (a rename and a catalog row, or one transaction), so
a crash at any moment leaves either a complete backup or none; the same holds for the index a restore
creates. :class:`EmbeddedBackups` keeps each backup as a SQLite file under ``<data dir>/backups``;
:class:`~inferhouse.vectors.pgvector_backups.PgVectorBackups` as a table beside the indexes' own.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from inferhouse.storage.durable_files import fsync_path
from inferhouse.storage.private import create_owner_only
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.backup_catalog import READY, Backup, BackupCatalog, RestoreJob
from inferhouse.vectors.catalog import IndexCatalog
from inferhouse.vectors.index import VectorIndex
from inferhouse.vectors.store import remove_files

log = logging.getLogger(__name__)

# Called with the share of a restore done so far, 0 to 100.
Progress = Callable[[float], None]

_SUFFIX = ".sqlite3"
_PARTIAL = ".partial"
_COPY_CHUNK = 8 << 20


class BackupStorage(Protocol):
    def snapshot(self, index: SearchIndex, backup: Backup) -> Backup:
        """Copy ``index``'s rows as they stood at one moment (writes go on meanwhile), then publish
        ``backup`` with its counts in the catalog, last. Returns the published backup."""
        ...

    def remove(self, backup_id: str) -> None:
        """Forget a backup: its catalog row, then its data."""
        ...

    def restore(self, backup: Backup, job: RestoreJob, progress: Progress) -> None:
        """Write the backup's rows as index ``job.target`` under a hidden name, then publish the index
        (its data under its own name and its catalog row), last."""
        ...

    def running_elsewhere(self, job: RestoreJob) -> bool:
        """Whether another live server is still running ``job`` (only a shared database has others)."""
        ...

    def abandon(self, job: RestoreJob, keep_target: bool) -> None:
        """Remove what an interrupted or failed ``job`` left; the data under the target index's own name
        too unless ``keep_target`` (its index is in the catalog, this job's or another)."""
        ...

    def clean(self) -> None:
        """Remove partial backups, and backup data that no catalog row names (a crash mid-delete)."""
        ...


class EmbeddedBackups:
    """Backups of embedded indexes: each one SQLite file, ``<backups>/<backup_id>.sqlite3``."""

    def __init__(
        self, directory: Path, indexes: Path, backups: BackupCatalog, index_catalog: IndexCatalog
    ) -> None:
        self._directory = directory
        self._indexes = indexes  # where the embedded indexes keep their files (EmbeddedStorage's)
        self._backups = backups
        self._index_catalog = index_catalog
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def snapshot(self, index: SearchIndex, backup: Backup) -> Backup:
        if not isinstance(index, VectorIndex):
            raise TypeError("embedded backups copy embedded indexes (VectorIndex)")
        index.store.settle()  # SQLite holds every write acknowledged before the backup began
        partial = self._directory / f".{backup.backup_id}{_PARTIAL}"
        create_owner_only(partial)
        # A connection of our own: reading in WAL mode holds no lock a writer waits for.
        source = sqlite3.connect(index.store.path)
        target = sqlite3.connect(partial, isolation_level=None)
        try:
            # One step: every page is copied inside one read transaction, so the copy is one moment's.
            source.backup(target, pages=-1)
            target.execute("DELETE FROM journal_applied")  # a restored index starts a journal of its own
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            counted = target.execute("SELECT count(*), count(DISTINCT namespace) FROM vectors").fetchone()
        finally:
            source.close()
            target.close()
        fsync_path(partial)
        final = self._file(backup.backup_id)
        os.replace(partial, final)
        fsync_path(self._directory)
        backup.record_count, backup.namespace_count = int(counted[0]), int(counted[1])
        backup.size_bytes = final.stat().st_size
        backup.status = READY
        try:
            self._backups.insert_backup(backup)
        except BaseException:
            final.unlink(missing_ok=True)
            raise
        return backup

    def remove(self, backup_id: str) -> None:
        self._backups.delete_backup(backup_id)
        self._file(backup_id).unlink(missing_ok=True)

    def restore(self, backup: Backup, job: RestoreJob, progress: Progress) -> None:
        source = self._file(backup.backup_id)
        partial = self._restoring(job)
        total = max(source.stat().st_size, 1)
        create_owner_only(partial)
        with source.open("rb") as reader, partial.open("wb") as writer:
            copied = 0
            while chunk := reader.read(_COPY_CHUNK):
                writer.write(chunk)
                copied += len(chunk)
                progress(90.0 * copied / total)
            writer.flush()
            os.fsync(writer.fileno())
        target = self._indexes / f"{job.target.name}{_SUFFIX}"
        remove_files(target)  # a journal left by a deleted index of this name must not replay into it
        os.replace(partial, target)
        fsync_path(self._indexes)
        try:
            self._index_catalog.insert(job.target)
        except BaseException:
            remove_files(target)
            raise
        progress(95.0)

    def running_elsewhere(self, job: RestoreJob) -> bool:
        return False  # one server per data directory

    def abandon(self, job: RestoreJob, keep_target: bool) -> None:
        self._restoring(job).unlink(missing_ok=True)
        if not keep_target:  # renamed into place, perhaps, but never in the catalog
            remove_files(self._indexes / f"{job.target.name}{_SUFFIX}")

    def clean(self) -> None:
        kept = {backup.backup_id for backup in self._backups.load_backups()}
        for path in self._directory.iterdir():
            if path.name.startswith(".") and _PARTIAL in path.name:
                path.unlink(missing_ok=True)
            elif path.suffix == _SUFFIX and path.stem not in kept:
                log.info("removing backup data no catalog row names: %s", path.name)
                path.unlink(missing_ok=True)
        if self._indexes.is_dir():
            for path in self._indexes.glob(f".restore-*{_PARTIAL}*"):
                path.unlink(missing_ok=True)

    def _file(self, backup_id: str) -> Path:
        return self._directory / f"{backup_id}{_SUFFIX}"

    def _restoring(self, job: RestoreJob) -> Path:
        return self._indexes / f".restore-{job.restore_job_id}{_PARTIAL}"
