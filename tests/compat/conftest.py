"""Fixtures the compatibility tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pinecone import Pinecone

from tests.support.server import RunningServer


@pytest.fixture
def pc(server: RunningServer) -> Iterator[Pinecone]:
    """The 10.x pinecone client, pointed at the session server."""
    with Pinecone(api_key=server.token, host=server.url) as client:
        yield client
