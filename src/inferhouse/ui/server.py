"""The server page: version, uptime, data directory, memory and each endpoint's encoder backend, from
``/api/server`` (admin tokens only, as that route is), with links to ``/metrics`` and the API docs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from inferhouse.ui.api_calls import Refused
from inferhouse.ui.indexes import size_text
from inferhouse.ui.pages import PREFIX, DashboardRoute, api, render, session_of

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

# What each backend choice means, as the loader applies it (engine.backends.choose).
BACKEND_NOTES = {
    "auto": "ONNX Runtime on the CPU where it measured faster and gave the same vectors, else torch",
    "torch": "torch always",
    "onnx": "ONNX Runtime on the CPU (torch on a GPU, or for a precision other than float32)",
    "onnx-int8": "ONNX Runtime with int8 weights on the CPU (torch on a GPU)",
}


def duration_text(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h {minutes} min"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {int(seconds) % 60} s"


@router.get(f"{PREFIX}/server")
async def server_page(request: Request) -> Response:
    session = session_of(request)
    details: dict[str, Any] | None = None
    refused = None
    async with api(request, session) as calls:
        try:
            details = await calls.get("/api/server")
        except Refused as error:
            if error.status != 403:
                raise
            refused = error.message
    if details is not None:
        details["uptime"] = duration_text(details["uptimeSeconds"])
        details["memory"] = size_text(details["residentBytes"])
        for endpoint in details["endpoints"]:
            endpoint["note"] = BACKEND_NOTES.get(endpoint["backend"], "")
    return render(request, "server.html", session, details=details, refused=refused)
