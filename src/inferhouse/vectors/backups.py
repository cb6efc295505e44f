"""Backups of indexes and restores of them into new indexes, as Pinecone offers them.

A backup is taken on a worker thread while the index keeps taking writes; until its data is complete and
published it exists only in this server's memory (``Initializing``), so a crash forgets it. A restore is a
job, stored from the moment it is accepted: its target name is held in the registry, the backup's rows
are written under a hidden name and published last (:mod:`~inferhouse.vectors.backup_storage`), and a
restart marks a job a crash interrupted as completed (its index made it into the catalog) or failed
(what it left is removed).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for

from inferhouse.errors import (
    BackupNotFound,
    BadRequest,
    FailedPrecondition,
    InferhouseError,
    RestoreJobNotFound,
)
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.backup_catalog import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    INITIALIZATION_FAILED,
    INITIALIZING,
    READY,
    UNFINISHED,
    Backup,
    BackupCatalog,
    RestoreJob,
    index_id,
)
from inferhouse.vectors.backup_pages import MAX_BACKUP_NAME, MAX_DESCRIPTION, check_limit, check_text, page
from inferhouse.vectors.backup_storage import BackupStorage
from inferhouse.vectors.catalog import from_document, to_document
from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.quantization import QUANTIZATION_TAG
from inferhouse.vectors.registry import PROTECTION_STATES, IndexRegistry

log = logging.getLogger(__name__)

_SAVE_EVERY_PERCENT = 10.0  # how often a running restore's progress is written to the catalog


def _copy(config: IndexConfig) -> IndexConfig:
    return from_document(to_document(config))


class BackupService:
    def __init__(self, registry: IndexRegistry, catalog: BackupCatalog, storage: BackupStorage) -> None:
        self._registry = registry
        self._catalog = catalog
        self._storage = storage
        self._lock = threading.Lock()
        self._taking: dict[str, Backup] = {}  # this server's backups being taken, or failed
        self._jobs: dict[str, RestoreJob] = {}  # this server's running restores
        self._work: dict[str, Future[None]] = {}
        self._workers = ThreadPoolExecutor(2, thread_name_prefix="backups")

    # -- start-up --------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Settle what a crash interrupted: unfinished restore jobs, partial and orphaned backup data."""
        for job in self._catalog.load_jobs():
            if job.status not in UNFINISHED or self._storage.running_elsewhere(job):
                continue
            # The job's server may have finished it since the jobs were read (a shared database): read
            # the catalog and the job again, so a restore that ended well is never marked failed.
            self._registry.reload()
            current = self._catalog.find_job(job.restore_job_id)
            if current is None or current.status not in UNFINISHED:
                continue
            job = current
            published = self._published(job)
            present = any(index.config.name == job.target.name for index in self._registry.list())
            self._storage.abandon(job, keep_target=present)  # an index of that name is never touched
            job.status = COMPLETED if published else FAILED
            job.percent_complete = 100.0 if published else job.percent_complete
            job.completed_at = time.time()
            job.error = None if published else "The server stopped during the restore; start it again"
            self._catalog.save_job(job)
            log.info("restore job %s, interrupted by a stop: %s", job.restore_job_id, job.status)
        self._storage.clean()

    def _published(self, job: RestoreJob) -> bool:
        try:
            found = self._registry.get(job.target.name)
        except InferhouseError:
            return False
        return index_id(found.config) == index_id(job.target)

    # -- backups ---------------------------------------------------------------------------------------

    def create(
        self, index_name: str, name: object = None, description: object = None, wait: float = 0.0
    ) -> Backup:
        """Start a backup of ``index_name``; wait up to ``wait`` seconds for it to be ready."""
        checked_name = check_text(name, "Backup name", MAX_BACKUP_NAME)
        checked_description = check_text(description, "Description", MAX_DESCRIPTION)
        index = self._registry.get(index_name)
        backup = Backup(
            backup_id=str(uuid.uuid4()),
            source=_copy(index.config),
            created_at=time.time(),
            name=checked_name,
            description=checked_description,
        )
        with self._lock:
            self._taking[backup.backup_id] = backup
            work = self._work[backup.backup_id] = self._workers.submit(self._take, index, backup)
        wait_for([work], timeout=wait)
        return self.describe(backup.backup_id)

    def _take(self, index: SearchIndex, backup: Backup) -> None:
        try:
            self._storage.snapshot(index, backup)
        except Exception:
            log.exception("backup %s of index %s failed", backup.backup_id, backup.source_index_name)
            with self._lock:
                backup.status = INITIALIZATION_FAILED
        else:
            with self._lock:
                self._taking.pop(backup.backup_id, None)
        finally:
            with self._lock:
                self._work.pop(backup.backup_id, None)

    def describe(self, backup_id: str) -> Backup:
        with self._lock:
            found = self._taking.get(backup_id)
        found = found or self._catalog.find_backup(backup_id)
        if found is None:
            raise BackupNotFound(f"Backup {backup_id} not found")
        return found

    def list_backups(
        self,
        index_name: str | None = None,
        limit: object = None,
        token: str | None = None,
        include_deleted: bool = False,
    ) -> tuple[list[Backup], str | None]:
        """Backups oldest first (of one index, when named), one page of them."""
        size = check_limit(limit)
        if index_name is not None and not include_deleted:
            self._registry.get(index_name)  # 404 for an unknown index, as Pinecone
        published = self._catalog.load_backups()
        with self._lock:
            taking = list(self._taking.values())
        seen = {backup.backup_id for backup in published}
        every = published + [backup for backup in taking if backup.backup_id not in seen]
        every.sort(key=lambda backup: (backup.created_at, backup.backup_id))
        if index_name is not None:
            every = [backup for backup in every if backup.source_index_name == index_name]
        return page(every, size, token)

    def delete(self, backup_id: str) -> None:
        with self._lock:
            taking = self._taking.get(backup_id)
            if taking is not None and taking.status == INITIALIZING:
                raise FailedPrecondition(f"Backup {backup_id} is still being taken; delete it once ready")
            if taking is not None:  # failed: never published
                del self._taking[backup_id]
                return
            if any(job.backup_id == backup_id for job in self._jobs.values()):
                raise FailedPrecondition(f"A restore from backup {backup_id} is running; wait for it to end")
            if self._catalog.find_backup(backup_id) is None:
                raise BackupNotFound(f"Backup {backup_id} not found")
            self._storage.remove(backup_id)  # under the lock: no restore of it starts meanwhile

    # -- restores --------------------------------------------------------------------------------------

    def restore(
        self,
        backup_id: str,
        name: object,
        deletion_protection: object = None,
        tags: object = None,
        wait: float = 0.0,
    ) -> RestoreJob:
        """Start restoring a backup into a new index ``name``; wait up to ``wait`` seconds for it."""
        if not isinstance(name, str):
            raise BadRequest("name must be the new index's name, a string")
        if deletion_protection is not None and deletion_protection not in PROTECTION_STATES:
            raise BadRequest("deletion_protection must be enabled or disabled")
        if tags is not None and (
            not isinstance(tags, dict) or not all(isinstance(value, str) for value in tags.values())
        ):
            raise BadRequest("tags must be an object of strings")
        backup = self.describe(backup_id)
        if backup.status != READY:
            raise FailedPrecondition(f"Backup {backup_id} is {backup.status}, not Ready")
        target = _copy(backup.source)
        target.name = name
        target.deletion_protection = str(deletion_protection or "disabled")
        if tags is not None:  # new tags replace the backup's, but its quantization stays unless named
            kept = {k: v for k, v in target.tags.items() if k == QUANTIZATION_TAG}
            target.tags = {**kept, **tags}
        self._registry.check_quantization(target)
        target.created_at = time.time()
        job = RestoreJob(str(uuid.uuid4()), backup_id, target, created_at=target.created_at)
        with self._lock:  # a delete of the backup waits for the job to be known
            if self._catalog.find_backup(backup_id) is None:
                raise BackupNotFound(f"Backup {backup_id} not found")
            self._registry.reserve(name)  # 400 for a bad name, 409 for a taken one
            try:
                self._catalog.save_job(job)
            except BaseException:
                self._registry.release(name)
                raise
            self._jobs[job.restore_job_id] = job
            work = self._work[job.restore_job_id] = self._workers.submit(self._run, backup, job)
        wait_for([work], timeout=wait)
        return self.describe_job(job.restore_job_id)

    def _run(self, backup: Backup, job: RestoreJob) -> None:
        saved = [0.0]

        def progress(percent: float) -> None:
            job.percent_complete = round(percent, 1)
            if percent - saved[0] >= _SAVE_EVERY_PERCENT:
                saved[0] = percent
                self._catalog.save_job(job)

        try:
            job.status = IN_PROGRESS
            self._catalog.save_job(job)
            try:
                self._storage.restore(backup, job, progress)
            except BaseException:
                self._storage.abandon(job, keep_target=False)
                raise
            self._registry.adopt(job.target)
            job.status, job.percent_complete, job.completed_at = COMPLETED, 100.0, time.time()
        except Exception as error:
            log.exception("restore job %s of backup %s failed", job.restore_job_id, backup.backup_id)
            job.status, job.completed_at = FAILED, time.time()
            job.error = error.message if isinstance(error, InferhouseError) else "See the server log"
        finally:
            try:
                self._catalog.save_job(job)
            finally:
                self._registry.release(job.target.name)
                with self._lock:
                    self._jobs.pop(job.restore_job_id, None)
                    self._work.pop(job.restore_job_id, None)

    def describe_job(self, job_id: str) -> RestoreJob:
        with self._lock:
            found = self._jobs.get(job_id)
        found = found or self._catalog.find_job(job_id)
        if found is None:
            raise RestoreJobNotFound(f"Restore job {job_id} not found")
        return found

    def list_jobs(
        self, limit: object = None, token: str | None = None
    ) -> tuple[list[RestoreJob], str | None]:
        size = check_limit(limit)
        with self._lock:
            running = dict(self._jobs)
        jobs = [running.get(job.restore_job_id, job) for job in self._catalog.load_jobs()]
        return page(jobs, size, token)

    def restoring(self, name: str) -> IndexConfig | None:
        """The configuration of the index a running restore on this server will publish as ``name``."""
        with self._lock:
            return next((job.target for job in self._jobs.values() if job.target.name == name), None)

    def close(self) -> None:
        """Let running backups and restores finish (their data is published whole or not at all)."""
        self._workers.shutdown(wait=True)
