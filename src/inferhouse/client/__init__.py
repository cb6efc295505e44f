"""A small Python SDK over httpx; it needs none of the server's heavy dependencies."""

from inferhouse.client._client import (
    Client,
    IndexDescription,
    IndexStats,
    InferhouseAPIError,
    Match,
    Vector,
)
from inferhouse.client._endpoints import EndpointDescription, EndpointNotReady
from inferhouse.client._records import RecordHit

__all__ = [
    "Client",
    "EndpointDescription",
    "EndpointNotReady",
    "IndexDescription",
    "IndexStats",
    "InferhouseAPIError",
    "Match",
    "RecordHit",
    "Vector",
]
