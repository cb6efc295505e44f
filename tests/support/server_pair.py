"""Two ``inferhouse serve`` processes on one PostgreSQL database, for the tests of what servers share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import RunningServer, start_server


@contextmanager
def two_servers(
    first_dir: Path, second_dir: Path, env: Mapping[str, str], token: str | None = "test-admin-token"
) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Start both (the second only once the first runs, so the first applies the migrations alone),
    and stop both on the way out, also when the second fails to start."""
    first = start_server(first_dir, token=token, env=dict(env))
    try:
        second = start_server(second_dir, token=token, env=dict(env))
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    """Whether ``check`` holds within ``seconds`` (another server follows a change through the
    database's notifications, a few milliseconds later)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()
