"""The SDK's client, composed of one part per API family over a shared transport."""

from __future__ import annotations

from inferhouse.client._backups import BackupsAPI
from inferhouse.client._endpoints import EndpointsAPI
from inferhouse.client._imports import ImportsAPI
from inferhouse.client._indexes import IndexesAPI
from inferhouse.client._inference import InferenceAPI
from inferhouse.client._records import RecordsAPI
from inferhouse.client._vectors import VectorsAPI


class Client(InferenceAPI, IndexesAPI, ImportsAPI, RecordsAPI, VectorsAPI, EndpointsAPI, BackupsAPI):
    """Talks to one inferhouse server. Pass ``http_client`` to control transport, timeouts or pooling."""
