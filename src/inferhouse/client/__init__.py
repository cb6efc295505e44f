"""A small Python SDK over httpx; it needs none of the server's heavy dependencies."""

from inferhouse.client._client import Client, InferhouseAPIError

__all__ = ["Client", "InferhouseAPIError"]
