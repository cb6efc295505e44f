"""The Pinecone dialect: control plane (indexes), data plane (vectors) and integrated-embedding records."""

from inferhouse.api.pinecone.backups import router as backups_router
from inferhouse.api.pinecone.control import router as control_router
from inferhouse.api.pinecone.data import router as data_router
from inferhouse.api.pinecone.imports import router as imports_router
from inferhouse.api.pinecone.namespaces import router as namespaces_router
from inferhouse.api.pinecone.query_lane import QueryFastLane
from inferhouse.api.pinecone.records import control as records_control_router
from inferhouse.api.pinecone.records import default_namespace as records_default_namespace_router
from inferhouse.api.pinecone.records import router as records_router

__all__ = [
    "QueryFastLane",
    "backups_router",
    "control_router",
    "data_router",
    "imports_router",
    "namespaces_router",
    "records_control_router",
    "records_default_namespace_router",
    "records_router",
]
