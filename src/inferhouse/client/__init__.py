"""A small Python SDK over httpx; it needs none of the server's heavy dependencies."""

from inferhouse.client._backups import BackupDescription, RestoreJobDescription
from inferhouse.client._client import Client
from inferhouse.client._endpoints import EndpointDescription, EndpointNotReady
from inferhouse.client._imports import ImportStatus
from inferhouse.client._indexes import IndexDescription
from inferhouse.client._records import RecordHit
from inferhouse.client._transport import InferhouseAPIError
from inferhouse.client._vectors import IndexStats, Match, Vector

__all__ = [
    "BackupDescription",
    "Client",
    "EndpointDescription",
    "EndpointNotReady",
    "ImportStatus",
    "IndexDescription",
    "IndexStats",
    "InferhouseAPIError",
    "Match",
    "RecordHit",
    "RestoreJobDescription",
    "Vector",
]
