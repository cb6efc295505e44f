"""The create and update forms of an endpoint, with the management API's fields: model repository,
task, env, access, replicas, the scaling metric and threshold, and the scale-to-zero timeout.

The create form is one ``POST`` of them with the name; the update form is filled from the management
API's description and sent back as one ``PUT`` (``model.env`` whole, as the API replaces it). What the API
refuses comes back on the form with the values the user typed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from inferhouse.endpoints.config import ScalingMetric
from inferhouse.endpoints.families import SUPPORTED_TASKS
from inferhouse.ui.api_calls import Refused
from inferhouse.ui.endpoints import ACCESS_TYPES, management_path, whole_number
from inferhouse.ui.pages import PREFIX, DashboardRoute, api, checked_form, redirect, render, session_of
from inferhouse.ui.sessions import Session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

METRICS = {"": "None (keep the replicas as set)", **{metric.value: metric.value for metric in ScalingMetric}}


def form_values(described: dict[str, Any]) -> dict[str, str]:
    """The form's fields from the management API's description of the endpoint."""
    model = described.get("model", {})
    scaling = described.get("compute", {}).get("scaling", {})
    measure = scaling.get("measure") or {}
    metric, threshold = next(iter(measure.items()), ("", None))
    timeout = scaling.get("scaleToZeroTimeout")
    return {
        "repository": model.get("repository", ""),
        "task": model.get("task") or "",
        "type": described.get("type", "protected"),
        "env": "\n".join(f"{key}={value}" for key, value in sorted((model.get("env") or {}).items())),
        "min": str(scaling.get("minReplica", 1)),
        "max": str(scaling.get("maxReplica", 1)),
        "metric": metric,
        "threshold": "" if threshold is None else f"{threshold:g}",
        "timeout": "" if timeout is None else str(timeout),
    }


def _env(text: str) -> dict[str, str]:
    env = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise Refused(422, f"Environment line {number} is not KEY=VALUE: {line!r}")
        env[key.strip()] = value
    return env


def changes(fields: dict[str, str]) -> dict[str, Any]:
    """The management API's update body for the submitted form."""
    threshold_text = fields.get("threshold", "").strip()
    try:
        threshold = float(threshold_text) if threshold_text else None
    except ValueError:
        raise Refused(422, f"The threshold must be a number, got {threshold_text!r}") from None
    metric = fields.get("metric", "")
    timeout = fields.get("timeout", "").strip()
    return {
        "type": fields.get("type", "protected"),
        "model": {
            "repository": fields.get("repository", "").strip(),
            "task": fields.get("task") or None,
            "env": _env(fields.get("env", "")),
        },
        "compute": {
            "scaling": {
                "minReplica": whole_number(fields.get("min", ""), "Min replicas"),
                "maxReplica": whole_number(fields.get("max", ""), "Max replicas"),
                "scaleToZeroTimeout": whole_number(timeout, "The scale-to-zero timeout") if timeout else None,
                "measure": {metric: threshold} if metric else None,
            }
        },
    }


def _form(request: Request, session: Session, name: str, values: dict[str, str], **context: Any) -> Response:
    return render(
        request,
        "endpoint_edit.html",
        session,
        name=name,
        values=values,
        tasks=sorted(SUPPORTED_TASKS),
        access_types=ACCESS_TYPES if values.get("type") in ACCESS_TYPES else (*ACCESS_TYPES, values["type"]),
        metrics=METRICS,
        **context,
    )


@router.get(f"{PREFIX}/endpoints/{{name}}/edit")
async def edit_endpoint(name: str, request: Request) -> Response:
    session = session_of(request)
    async with api(request, session) as calls:
        described = await calls.get(management_path(request, name))
    return _form(request, session, name, form_values(described))


@router.post(f"{PREFIX}/endpoints/{{name}}/edit")
async def update_endpoint(name: str, request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    try:
        body = changes(fields)
        async with api(request, session) as calls:
            await calls.put(management_path(request, name), body)
    except Refused as error:
        if error.status in (401, 403, 404):
            raise
        return _form(request, session, name, fields, status=error.status, error=error.message)
    return redirect(f"{PREFIX}/endpoints/{name}")


NEW_VALUES = {
    "name": "", "repository": "", "task": "", "env": "", "type": "protected", "min": "1", "max": "1",
    "metric": "", "threshold": "", "timeout": "",
}  # fmt: skip


def _create_form(request: Request, session: Session, status: int = 200, **context: Any) -> Response:
    values = NEW_VALUES | context.pop("values", {})
    return render(
        request,
        "endpoint_new.html",
        session,
        status=status,
        tasks=sorted(SUPPORTED_TASKS),
        access_types=ACCESS_TYPES,
        metrics=METRICS,
        values=values,
        **context,
    )


@router.get(f"{PREFIX}/endpoints/new")
async def new_endpoint(request: Request) -> Response:
    return _create_form(request, session_of(request))


@router.post(f"{PREFIX}/endpoints")
async def create_endpoint(request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    name = fields.get("name", "").strip()
    try:
        body = {"name": name, **changes(fields)}
        async with api(request, session) as calls:
            await calls.post(management_path(request), body)
    except Refused as error:
        if error.status == 401:
            raise
        return _create_form(request, session, status=error.status, error=error.message, values=fields)
    return redirect(f"{PREFIX}/endpoints/{name}")
