"""A small Python SDK over httpx; it needs none of the server's heavy dependencies."""

from inferhouse.client._client import (
    Client,
    IndexDescription,
    IndexStats,
    InferhouseAPIError,
    Match,
    Vector,
)

__all__ = ["Client", "IndexDescription", "IndexStats", "InferhouseAPIError", "Match", "Vector"]
