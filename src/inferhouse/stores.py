"""Which database keeps the server's state: ``open_stores(settings)`` builds the four stores on SQLite
(``<data dir>/inferhouse.db``) or, when ``INFERHOUSE_DATABASE_URL`` is set, on PostgreSQL, which several
API processes can share. The app and the CLI ask here; nothing else picks a backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from inferhouse.auth import SqliteTokenTable, TokenTable
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.endpoints.store import EndpointStore
from inferhouse.inference.sqlite_store import SqliteInferenceStore
from inferhouse.inference.store import InferenceStore
from inferhouse.settings import Settings
from inferhouse.storage import Database
from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.backend import EmbeddedStorage, IndexStorage
from inferhouse.vectors.backup_catalog import BackupCatalog
from inferhouse.vectors.backup_storage import BackupStorage, EmbeddedBackups
from inferhouse.vectors.catalog import IndexCatalog
from inferhouse.vectors.import_jobs import ImportJobStore
from inferhouse.vectors.sql_import_jobs import postgres_import_jobs, sqlite_import_jobs
from inferhouse.vectors.sqlite_backup_catalog import SqliteBackupCatalog
from inferhouse.vectors.sqlite_catalog import SqliteIndexCatalog

if TYPE_CHECKING:
    from inferhouse.storage.postgres import PostgresDatabase

Backend = Literal["sqlite", "postgresql"]
INDEXES_DIR = "indexes"  # under the data directory: the embedded indexes' files
BACKUPS_DIR = "backups"  # under the data directory: the embedded indexes' backups


@dataclass(frozen=True)
class Stores:
    endpoints: EndpointStore
    inference: InferenceStore
    indexes: IndexCatalog
    tokens: TokenTable
    backend: Backend
    import_jobs: ImportJobStore  # bulk imports of vectors (vectors/importer.py)
    # watch(table, on_change): call back when another process changes a table; SQLite has one process.
    watch: Callable[[str, Callable[[], None]], None]
    close: Callable[[], None]
    postgres: PostgresDatabase | None = None  # the database itself, when it is PostgreSQL
    sqlite: Database | None = None  # the database itself, when it is SQLite


def _one_process(table: str, on_change: Callable[[], None]) -> None:
    """SQLite's watch: the data directory has one server, which sees its own changes."""


def open_stores(settings: Settings) -> Stores:
    """The four stores on the configured database, their tables created or migrated; the caller closes."""
    if settings.database_url:
        return _open_postgres(settings.database_url)
    db = Database.in_data_dir(settings.data_dir)
    return Stores(
        endpoints=SqliteEndpointStore(db),
        inference=SqliteInferenceStore(db),
        indexes=SqliteIndexCatalog(db),
        tokens=SqliteTokenTable(db),
        backend="sqlite",
        import_jobs=sqlite_import_jobs(db),
        watch=_one_process,
        close=db.close,
        sqlite=db,
    )


def _open_postgres(url: str) -> Stores:
    # Imported here: the driver is the optional `postgres` extra, and the database names it when missing.
    from inferhouse.storage.postgres import PostgresDatabase

    db = PostgresDatabase(url)
    try:
        from inferhouse.auth.postgres_table import PostgresTokenTable
        from inferhouse.endpoints.postgres_store import PostgresEndpointStore
        from inferhouse.inference.postgres_store import PostgresInferenceStore
        from inferhouse.vectors.postgres_catalog import PostgresIndexCatalog

        return Stores(
            endpoints=PostgresEndpointStore(db),
            inference=PostgresInferenceStore(db),
            indexes=PostgresIndexCatalog(db),
            tokens=PostgresTokenTable(db),
            backend="postgresql",
            import_jobs=postgres_import_jobs(db),
            watch=db.watch,
            close=db.close,
            postgres=db,
        )
    except BaseException:
        db.close()
        raise


def index_storage(settings: Settings, stores: Stores, ann: AnnSettings) -> IndexStorage:
    """Where indexes keep their vectors: files in the data directory, or pgvector tables in the state's
    PostgreSQL database (``INFERHOUSE_VECTOR_STORE=pgvector``, which needs ``INFERHOUSE_DATABASE_URL``)."""
    if settings.vector_store == "embedded":
        return EmbeddedStorage(settings.data_dir / INDEXES_DIR, ann)
    assert stores.postgres is not None, "Settings refuse pgvector without INFERHOUSE_DATABASE_URL"
    from inferhouse.vectors.pgvector_index import PgVectorStorage

    return PgVectorStorage(stores.postgres, ann)


def backup_storage(settings: Settings, stores: Stores) -> tuple[BackupCatalog, BackupStorage]:
    """Where backups are listed (beside the index catalog) and where their rows go (beside the indexes':
    files in the data directory, or tables in the pgvector database)."""
    if stores.postgres is not None:
        from inferhouse.vectors.postgres_backup_catalog import PostgresBackupCatalog

        catalog: BackupCatalog = PostgresBackupCatalog(stores.postgres)
    else:
        assert stores.sqlite is not None, "a SQLite backend keeps its database"
        catalog = SqliteBackupCatalog(stores.sqlite)
    if settings.vector_store == "embedded":
        directory = settings.data_dir
        return catalog, EmbeddedBackups(
            directory / BACKUPS_DIR, directory / INDEXES_DIR, catalog, stores.indexes
        )
    assert stores.postgres is not None, "Settings refuse pgvector without INFERHOUSE_DATABASE_URL"
    from inferhouse.vectors.pgvector_backups import PgVectorBackups

    return catalog, PgVectorBackups(stores.postgres, catalog)
