"""Store backends the contract tests run against: add one entry to ``STORE_BACKENDS`` and every case
in test_stores.py runs on it too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.contract.store_backends import StoreOpener, Stores, open_sqlite

STORE_BACKENDS: dict[str, StoreOpener] = {
    "sqlite": open_sqlite,
}


@pytest.fixture(params=sorted(STORE_BACKENDS))
def open_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Stores]]:
    """Opens the backend's stores on this test's database: call it again to reopen the same data."""
    opener = STORE_BACKENDS[request.param]
    opened: list[Stores] = []

    def open_again() -> Stores:
        opened.append(opener(tmp_path / "state"))
        return opened[-1]

    yield open_again
    for stores in opened:
        stores.close()


@pytest.fixture
def stores(open_stores: Callable[[], Stores]) -> Stores:
    return open_stores()
