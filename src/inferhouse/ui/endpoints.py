"""Endpoint pages: the list, one endpoint's live state and logs, its actions, and the create form.

Everything goes through the management API (``/v2/endpoint/{namespace}``) as the signed-in token; what it
refuses is shown on the error page by the route class (:class:`~inferhouse.ui.pages.DashboardRoute`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from inferhouse.ui.api_calls import Api, Refused
from inferhouse.ui.charts import latency_chart, request_chart
from inferhouse.ui.pages import (
    PREFIX,
    DashboardRoute,
    api,
    checked_form,
    dashboard,
    redirect,
    render,
    session_of,
)
from inferhouse.ui.sessions import Session
from inferhouse.ui.tryouts import tryouts_for

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

ACTIONS = {"pause": "Pause", "resume": "Resume", "scale-to-zero": "Scale to zero"}
ACCESS_TYPES = ("protected", "public", "private")
LOG_LINES = 100
# States in which an endpoint is still moving: its page keeps polling until it settles.
SETTLING = {"pending", "initializing", "updating"}


def management_path(request: Request, name: str | None = None) -> str:
    """The management API's path, of one endpoint when ``name`` is given (quoted: it came in a URL)."""
    base = f"/v2/endpoint/{quote(dashboard(request).namespace, safe='')}"
    return base if name is None else f"{base}/{quote(name, safe='')}"


def row(item: dict[str, Any]) -> dict[str, Any]:
    """What the pages show of an endpoint, from its management API description."""
    status = item.get("status") or {}
    scaling = item.get("compute", {}).get("scaling", {})
    return {
        "name": item["name"],
        "state": status.get("state", "unknown"),
        "task": item.get("model", {}).get("task") or "",
        "model": item.get("model", {}).get("repository", ""),
        "ready": status.get("readyReplica", 0),
        "target": status.get("targetReplica", 0),
        "min": scaling.get("minReplica", 0),
        "max": scaling.get("maxReplica", 0),
        "type": item.get("type", ""),
        "url": status.get("url", ""),
        "message": status.get("errorMessage") or "",
        "embeds": (item.get("model", {}).get("task") or "")
        in {"sentence-embeddings", "feature-extraction", "sentence-similarity"},
    }


async def _history(request: Request, calls: Api, name: str, window: int) -> dict[str, Any]:
    """The endpoint's request history from the management API (access-checked there)."""
    history: dict[str, Any] = await calls.get(f"{management_path(request, name)}/metrics", window=window)
    return history


@router.get(f"{PREFIX}/endpoints")
async def endpoint_list(request: Request) -> Response:
    session = session_of(request)
    refused = None
    items: list[dict[str, Any]] = []
    async with api(request, session) as calls:
        try:
            items = [row(item) for item in (await calls.get(management_path(request)))["items"]]
            for item in items:  # requests/s and latency of the last minute
                item["traffic"] = (await _history(request, calls, item["name"], 60))["lastMinute"]
        except Refused as error:
            if error.status != 403:
                raise
            refused = error.message
    return render(request, "endpoints.html", session, endpoints=items, refused=refused)


def whole_number(value: str, label: str) -> int:
    """A form's whole-number field, or the 422 the form comes back with."""
    try:
        return int(value)
    except ValueError:
        raise Refused(422, f"{label} must be a whole number, got {value!r}") from None


async def describe(request: Request, session: Session, name: str) -> dict[str, Any]:
    async with api(request, session) as calls:
        return row(await calls.get(management_path(request, name)))


async def page_context(request: Request, session: Session, name: str) -> dict[str, Any]:
    """What endpoint.html needs beyond a playground's result."""
    endpoint = await describe(request, session, name)
    return {
        "endpoint": endpoint,
        "tryouts": tryouts_for(endpoint["task"]),
        "actions": ACTIONS,
        "name": name,
        **await charts_context(request, session, name),
    }


@router.get(f"{PREFIX}/endpoints/{{name}}")
async def endpoint_page(name: str, request: Request) -> Response:
    session = session_of(request)
    context = await page_context(request, session, name)
    return render(request, "endpoint.html", session, result=None, error=None, texts="", **context)


@router.get(f"{PREFIX}/endpoints/{{name}}/live")
async def endpoint_live(name: str, request: Request) -> Response:
    """The live part of an endpoint's page (state, replicas, failure), which the page polls."""
    session = session_of(request)
    endpoint = await describe(request, session, name)
    return render(request, "endpoint_live.html", session, endpoint=endpoint)


async def charts_context(request: Request, session: Session, name: str) -> dict[str, Any]:
    async with api(request, session) as calls:
        history = await _history(request, calls, name, 3600)
    return {"charts": [request_chart(history), latency_chart(history)], "summary": history["lastMinute"]}


@router.get(f"{PREFIX}/endpoints/{{name}}/charts")
async def endpoint_charts(name: str, request: Request) -> Response:
    """The request-rate and latency charts of the last hour, which the page polls."""
    session = session_of(request)
    context = await charts_context(request, session, name)
    return render(request, "endpoint_charts.html", session, name=name, **context)


@router.get(f"{PREFIX}/endpoints/{{name}}/logs")
async def endpoint_logs(name: str, request: Request) -> Response:
    session = session_of(request)
    async with api(request, session) as calls:
        text = await calls.get(f"{management_path(request, name)}/logs", tail=LOG_LINES)
    return render(request, "endpoint_logs.html", session, logs=text or "", name=name)


@router.post(f"{PREFIX}/endpoints/{{name}}/action/{{action}}")
async def endpoint_action(name: str, action: str, request: Request) -> Response:
    session = session_of(request)
    await checked_form(request, session)
    if action not in ACTIONS:
        return render(request, "error.html", session, status=404, message=f"No action {action}")
    async with api(request, session) as calls:
        await calls.post(f"{management_path(request, name)}/{action}")
    return redirect(f"{PREFIX}/endpoints/{name}")


@router.post(f"{PREFIX}/endpoints/{{name}}/scaling")
async def update_scaling(name: str, request: Request) -> Response:
    """Change the replica range; the rest of the endpoint's configuration stays as it is."""
    session = session_of(request)
    fields = await checked_form(request, session)
    scaling = {
        "minReplica": whole_number(fields.get("min", ""), "Min replicas"),
        "maxReplica": whole_number(fields.get("max", ""), "Max replicas"),
    }
    async with api(request, session) as calls:
        await calls.put(management_path(request, name), {"compute": {"scaling": scaling}})
    return redirect(f"{PREFIX}/endpoints/{name}")


@router.get(f"{PREFIX}/endpoints/{{name}}/delete")
async def confirm_delete(name: str, request: Request) -> Response:
    session = session_of(request)
    return render(
        request,
        "confirm.html",
        session,
        question=f"Delete endpoint {name}? Its replicas stop and its configuration is gone.",
        action=f"{PREFIX}/endpoints/{name}/delete",
        button="Delete endpoint",
        back=f"{PREFIX}/endpoints/{name}",
    )


@router.post(f"{PREFIX}/endpoints/{{name}}/delete")
async def delete_endpoint(name: str, request: Request) -> Response:
    session = session_of(request)
    await checked_form(request, session)
    async with api(request, session) as calls:
        await calls.delete(management_path(request, name))
    return redirect(f"{PREFIX}/endpoints")
