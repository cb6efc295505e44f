"""Bulk imports run: each in a background thread that reads its Parquet files in large Arrow batches and
upserts each batch into the index in one call, recording progress after every batch.

A batch the index acknowledged is durable, and upserts are idempotent, so an import that stops part-way
(cancelled, or its server killed) leaves whole batches behind and starting it again finishes the job.
An interrupted import is not resumed: after a restart it reads ``Failed``, with ``records_imported``
saying how far it got. On SQLite (one server) every import still marked running at start-up was
interrupted; on PostgreSQL, shared by several servers, an import is interrupted once its heartbeat is
older than :data:`STALE_AFTER_S`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from inferhouse.errors import BadRequest, InferhouseError, NotFound
from inferhouse.vectors.import_jobs import ErrorMode, ImportJob, ImportJobStore, ImportStatus
from inferhouse.vectors.import_layout import SourceFile, discover, local_directory
from inferhouse.vectors.import_rows import convert
from inferhouse.vectors.page_tokens import decode_token, encode_token
from inferhouse.vectors.registry import IndexRegistry

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000  # rows per Arrow batch, and so per upsert
HEARTBEAT_S = 2.0
STALE_AFTER_S = 15.0
REPORTED_REASONS = 5  # bad records named in an import's error; the rest are counted
_COLUMNS = ("id", "values", "sparse_values", "metadata")
INTERRUPTED = (
    "Interrupted: the server stopped before the import finished. records_imported counts the records "
    "stored; start the import again to finish it (records already stored are rewritten unchanged)."
)


class ImportNotFound(NotFound):
    """No import of that id on that index."""


@dataclass
class _Running:
    job: ImportJob
    lock: threading.Lock
    thread: threading.Thread


class Importer:
    """Starts, reports and cancels imports; owns the threads that run this server's imports."""

    def __init__(
        self,
        jobs: ImportJobStore,
        indexes: IndexRegistry,
        *,
        shared: bool,
        batch_rows: int = BATCH_ROWS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jobs = jobs
        self._indexes = indexes
        self._shared = shared
        self._batch_rows = batch_rows
        self._clock = clock
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # One server on SQLite: whatever is marked running was this data directory's, before a restart.
        cutoff = self._clock() - STALE_AFTER_S if shared else float("inf")
        interrupted = jobs.fail_stale(cutoff, self._clock(), INTERRUPTED)
        if interrupted:
            log.warning("%d bulk import(s) were interrupted by a restart and are marked Failed", interrupted)
        self._beater = threading.Thread(target=self._beat, name="import-heartbeat", daemon=True)
        self._beater.start()

    # -- what the routes call ----------------------------------------------------------------------

    def start(self, index_name: str, uri: str, error_mode: ErrorMode) -> ImportJob:
        index = self._indexes.get(index_name)
        if index.config.embed is not None:
            raise BadRequest("An index with integrated embedding takes no bulk import: upsert text instead")
        files = discover(local_directory(uri))
        now = self._clock()
        job = self._jobs.insert(
            ImportJob(
                id="",
                index=index_name,
                uri=uri,
                error_mode=error_mode,
                status=ImportStatus.PENDING,
                created_at=now,
                total_records=sum(file.rows for file in files),
                heartbeat=now,
            )
        )
        running = _Running(job, threading.Lock(), threading.Thread())
        running.thread = threading.Thread(
            target=self._run, args=(running, files), name=f"import-{job.id}", daemon=True
        )
        with self._lock:
            self._running[job.id] = running
        running.thread.start()
        log.info("import %s into %s from %s: %d records", job.id, index_name, uri, job.total_records)
        return job

    def describe(self, index_name: str, job_id: str) -> ImportJob:
        self._reap()
        job = self._jobs.get(job_id)
        if job is None or job.index != index_name:
            raise ImportNotFound(f"Import {job_id} not found on index {index_name}")
        return job

    def page(self, index_name: str, limit: int, token: str | None) -> tuple[list[ImportJob], str | None]:
        self._reap()
        after = decode_token(token)
        if after is not None and not after.isdecimal():
            raise BadRequest("Invalid pagination token: pass the pagination.next of a listing")
        found = self._jobs.list(index_name, int(after or 0), limit + 1)
        page = found[:limit]
        return page, encode_token(page[-1].id) if len(found) > limit else None

    def cancel(self, index_name: str, job_id: str) -> None:
        self.describe(index_name, job_id)
        self._jobs.cancel(job_id, self._clock())  # the runner stops at its next batch

    def close(self) -> None:
        """Stop this server's imports between batches; each is marked Failed as interrupted."""
        self._stopping.set()
        with self._lock:
            running = list(self._running.values())
        for item in running:
            item.thread.join(timeout=30)
        self._beater.join(timeout=5)

    # -- running one import ------------------------------------------------------------------------

    def _run(self, running: _Running, files: list[SourceFile]) -> None:
        job = running.job
        reasons: list[str] = []
        try:
            job.status = ImportStatus.IN_PROGRESS
            if self._report(running):
                self._import_files(running, files, reasons)
        except InferhouseError as error:  # the index was deleted, a batch it refused, ...
            self._end(running, ImportStatus.FAILED, error.message)
        except (OSError, pa.ArrowException) as error:
            self._end(running, ImportStatus.FAILED, f"Reading the Parquet files failed: {error}")
        except Exception:
            log.exception("import %s failed", job.id)
            self._end(running, ImportStatus.FAILED, "The import failed on an internal error; see the log")
        finally:
            with self._lock:
                self._running.pop(job.id, None)

    def _import_files(self, running: _Running, files: list[SourceFile], reasons: list[str]) -> None:
        job = running.job
        index = self._indexes.get(job.index)
        for file in files:
            parquet = pq.ParquetFile(file.path)
            present = [name for name in _COLUMNS if parquet.schema_arrow.get_field_index(name) >= 0]
            start = 0
            for batch in parquet.iter_batches(batch_size=self._batch_rows, columns=present):
                if self._stopping.is_set():
                    self._end(running, ImportStatus.FAILED, INTERRUPTED)
                    return
                converted = convert(batch, index.config.dimension, index.config.metric)
                where = f"{file.path.parent.name}/{file.path.name}"
                if converted.bad and job.error_mode == ErrorMode.ABORT:
                    position, reason = converted.bad[0]
                    written = converted.before(position)
                    index.upsert(file.namespace, written)
                    with running.lock:
                        job.records_imported += len(written)
                        job.records_read += position + 1
                    self._end(running, ImportStatus.FAILED, f"Record {start + position} of {where}: {reason}")
                    return
                if len(converted.rows):
                    index.upsert(file.namespace, converted.rows)
                for position, reason in converted.bad[: max(0, REPORTED_REASONS - len(reasons))]:
                    reasons.append(f"record {start + position} of {where}: {reason}")
                with running.lock:
                    job.records_imported += len(converted.rows)
                    job.records_skipped += len(converted.bad)
                    job.records_read += batch.num_rows
                start += batch.num_rows
                if not self._report(running):
                    return  # cancelled
        self._end(running, ImportStatus.COMPLETED, _skipped(job, reasons))

    def _report(self, running: _Running) -> bool:
        with running.lock:
            running.job.heartbeat = self._clock()
            return self._jobs.progress(running.job)

    def _end(self, running: _Running, status: ImportStatus, error: str | None) -> None:
        with running.lock:
            job = running.job
            job.status, job.error = status, error
            job.finished_at = job.heartbeat = self._clock()
            if not self._jobs.finish(job):
                return  # cancelled meanwhile: the record says so already
        log.info("import %s %s: %d records imported", job.id, status.value, job.records_imported)

    def _beat(self) -> None:
        """Keep the heartbeat of this server's imports fresh while a long batch runs."""
        while not self._stopping.wait(HEARTBEAT_S):
            with self._lock:
                running = list(self._running.values())
            for item in running:
                if item.job.status == ImportStatus.IN_PROGRESS:
                    try:
                        self._report(item)
                    except Exception:  # the database is away for a moment; the next beat tries again
                        log.warning("recording the heartbeat of import %s failed", item.job.id)

    def _reap(self) -> None:
        if self._shared:  # another server's import whose heartbeat stopped: that server is gone
            self._jobs.fail_stale(self._clock() - STALE_AFTER_S, self._clock(), INTERRUPTED)


def _skipped(job: ImportJob, reasons: list[str]) -> str | None:
    if not job.records_skipped:
        return None
    more = job.records_skipped - len(reasons)
    tail = f"; and {more} more" if more > 0 else ""
    return f"Skipped {job.records_skipped} of {job.records_read} records: " + "; ".join(reasons) + tail
