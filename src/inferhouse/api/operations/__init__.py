"""Operations: health and metrics, endpoint and token management, index statistics, server details, and
the offline ``/docs`` and ``/redoc`` pages."""

from inferhouse.api.operations import docs_ui
from inferhouse.api.operations.endpoints_admin import router as endpoints_admin_router
from inferhouse.api.operations.health import public as health_public_router
from inferhouse.api.operations.health import router as health_router
from inferhouse.api.operations.index_export import router as index_export_router
from inferhouse.api.operations.index_stats import router as index_stats_router
from inferhouse.api.operations.server_info import router as server_info_router
from inferhouse.api.operations.tokens_admin import router as tokens_admin_router

__all__ = [
    "docs_ui",
    "endpoints_admin_router",
    "health_public_router",
    "health_router",
    "index_export_router",
    "index_stats_router",
    "server_info_router",
    "tokens_admin_router",
]
