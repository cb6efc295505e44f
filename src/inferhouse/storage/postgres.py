"""PostgreSQL, for state that several API processes share (``INFERHOUSE_DATABASE_URL``).

Like :mod:`inferhouse.storage.sqlite`, this module knows no tables: each package keeps its own schema as
numbered SQL files in its ``migrations/`` folder (``endpoints/migrations/``, ``inference/migrations/``,
``vectors/migrations/``, ``auth/migrations/``) and its PostgreSQL implementation applies them when it is
built (``PostgresDatabase.migrate``).

Migrations run with yoyo-migrations rather than Alembic: our schema is four small packages of raw SQL,
and yoyo applies plain ``.sql`` files, records what it applied (``_yoyo_migration``), takes a lock so two
processes starting together do not race, and runs on psycopg 3, with three small dependencies. Alembic
would bring SQLAlchemy, whose engine and ORM we would use for nothing but ``op.execute``.

Connections come from a psycopg 3 pool (``psycopg_pool``), in autocommit mode: a lone ``query`` is its
own transaction, and ``transaction()`` wraps several statements in BEGIN ... COMMIT. Each connection is
checked before use, so a restarted database costs no failed request. A database that cannot be reached
raises :class:`~inferhouse.errors.Unavailable` (503) naming the server, never its password.
``watch(table, on_change)`` calls back when any process commits a change to a table
(:mod:`inferhouse.storage.postgres_changes`), so several servers' caches follow one database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from inferhouse.errors import Unavailable
from inferhouse.storage.postgres_changes import ChangeListener

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

log = logging.getLogger("inferhouse.storage")

_SCHEMES = ("postgresql", "postgres")


def _require_driver() -> None:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
        import yoyo  # noqa: F401
    except ImportError as missing:
        raise RuntimeError(
            f"INFERHOUSE_DATABASE_URL needs the PostgreSQL driver ({missing.name} is not installed): "
            "pip install 'inferhouse[postgres]'"
        ) from None


def redacted(url: str) -> str:
    """The URL without its password, for logs, errors and /health."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_url(url: str) -> str:
    """``url`` when it names a PostgreSQL database (``postgresql://user:pass@host:port/db``); else a
    ValueError that says what is expected."""
    if urlsplit(url).scheme not in _SCHEMES:
        raise ValueError(f"database URL must start with postgresql:// (got {redacted(url)!r})")
    return url


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database; thread-safe."""

    def __init__(self, url: str, *, max_connections: int = 10, connect_timeout: float = 10.0) -> None:
        _require_driver()
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = check_url(url)
        self.where = redacted(url)
        # One plain connection first: it fails at once with the server's reason (refused, bad password),
        # where the pool would retry in the background and time out saying only that it did.
        try:
            psycopg.connect(url, connect_timeout=max(2, round(connect_timeout))).close()
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
            raise Unavailable(f"Cannot connect to PostgreSQL at {self.where}: {reason}") from None
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            timeout=connect_timeout,
            name="inferhouse",
            open=False,
        )
        self._listeners: list[ChangeListener] = []
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except Exception as error:
            self._pool.close()
            raise Unavailable(f"Cannot connect to PostgreSQL at {self.where}: {error}") from None

    def migrate(self, source: Path, lock_timeout: float = 60.0) -> None:
        """Apply the SQL migrations in ``source`` not yet applied, under yoyo's lock: idempotent, so
        every store runs its package's migrations when it is built."""
        from yoyo import get_backend, read_migrations

        backend = get_backend("postgresql+psycopg://" + self.url.split("://", 1)[1])
        try:
            with backend.lock(timeout=lock_timeout):
                pending = backend.to_apply(read_migrations(str(source)))
                for migration in pending:
                    log.info("applying migration %s to %s", migration.id, self.where)
                backend.apply_migrations(pending)
        finally:
            backend.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A connection inside BEGIN ... COMMIT; rolled back when the block raises."""
        with self._connection() as conn, conn.transaction():
            yield conn

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as error:
            log.warning("PostgreSQL at %s: %s", self.where, error)
            raise Unavailable("The database is unreachable") from None

    def watch(self, table: str, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` (from a thread of its own) after any process commits a change to ``table``,
        this one included; the table's migrations must have added the ``inferhouse_notify()`` trigger."""
        listener = ChangeListener(self.url, self.where, table, on_change)
        listener.start()
        self._listeners.append(listener)

    def close(self) -> None:
        for listener in self._listeners:
            listener.stop()
        self._pool.close()
