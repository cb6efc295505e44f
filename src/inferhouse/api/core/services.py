"""What the route modules reach through ``request.app.state``: built once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from inferhouse.auth import TokenStore
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.serverless import ServerlessModels
from inferhouse.endpoints.serving import Resolver
from inferhouse.inference.registry import InferenceRegistry
from inferhouse.integrated.binding import Models
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings
from inferhouse.vectors.backups import BackupService
from inferhouse.vectors.importer import Importer
from inferhouse.vectors.registry import IndexRegistry
from inferhouse.vectors.snapshots import IndexSnapshots


@dataclass
class Services:
    settings: Settings
    tokens: TokenStore
    metrics: Metrics
    serving: Resolver  # who serves a name, for every dialect
    endpoints: EndpointManager
    indexes: IndexRegistry
    inference: InferenceRegistry
    models: Models
    serverless: ServerlessModels  # models loaded by id, of every task
    backups: BackupService  # index backups and restore jobs
    # Bulk import and export of indexes.
    imports: Importer
    snapshots: IndexSnapshots


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
