"""The web dashboard at ``/ui``: server-rendered pages over the public HTTP API.

``install(app, settings)`` mounts it. Each page calls the API in-process as the signed-in token
(:mod:`inferhouse.ui.api_calls`), so the dashboard can see and do no more than that token. Its scripts
and styles are served from ``static/`` inside the package: no network, no build step.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from inferhouse.settings import Settings
from inferhouse.ui import (
    catalog,
    endpoint_forms,
    endpoints,
    index_page,
    indexes,
    inference_configs,
    playground,
    server,
    signin,
)
from inferhouse.ui.pages import PREFIX, Dashboard
from inferhouse.ui.sessions import SessionStore

STATIC_DIR = Path(__file__).parent / "static"

__all__ = ["PREFIX", "install"]


def install(app: FastAPI, settings: Settings) -> None:
    app.state.dashboard = Dashboard(SessionStore(), settings.namespace, settings.auth)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    for router in (
        signin.router,
        endpoint_forms.router,
        endpoints.router,
        playground.router,
        catalog.router,
        indexes.router,
        index_page.router,
        inference_configs.router,
        server.router,
    ):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(PREFIX, status_code=307)
