"""The indexes list, the create form (dense, or integrated with an embedding model) and delete.

The list is one call to ``/api/indexes`` (records per namespace and size on disk); create and delete
go through the Pinecone control plane. A token that may not use indexes gets the API's refusal.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from inferhouse.ui.api_calls import Api, Refused
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

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

METRICS = ("cosine", "dotproduct", "euclidean")
EMBEDDING_TASKS = {"sentence-embeddings", "feature-extraction"}


def quoted(name: str) -> str:
    return quote(name, safe="")


def size_text(size: int) -> str:
    """Bytes for a person: 1.5 MB, 820 KB."""
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{size} B"


@router.get(f"{PREFIX}/indexes")
async def index_list(request: Request) -> Response:
    session = session_of(request)
    indexes: list[dict[str, Any]] = []
    refused = None
    async with api(request, session) as calls:
        try:
            indexes = (await calls.get("/api/indexes"))["items"]
        except Refused as error:
            if error.status != 403:
                raise
            refused = error.message
    for index in indexes:
        index["size"] = size_text(index["diskBytes"])
    return render(request, "indexes.html", session, indexes=indexes, refused=refused)


async def embedding_models(request: Request, calls: Api) -> list[str]:
    """What an integrated index or a text query can embed with: embedding endpoints this token may use
    and text_embedding inference ids (whatever the token may not list is left out)."""
    models: list[str] = []
    try:
        for item in (await calls.get(f"/v2/endpoint/{quoted(dashboard(request).namespace)}"))["items"]:
            if (item.get("model", {}).get("task") or "") in EMBEDDING_TASKS:
                models.append(item["name"])
    except Refused:
        pass
    try:
        for config in (await calls.get("/_inference"))["endpoints"]:
            if config.get("task_type") == "text_embedding":
                models.append(config["inference_id"])
    except Refused:
        pass
    return sorted(set(models))


async def _create_form(request: Request, session: Session, status: int = 200, **context: Any) -> Response:
    values = {"name": "", "kind": "dense", "dimension": "", "metric": "cosine", "model": "", "field": "text"}
    values.update(context.pop("values", {}))
    async with api(request, session) as calls:
        models = await embedding_models(request, calls)
    return render(
        request,
        "index_new.html",
        session,
        status=status,
        values=values,
        metrics=METRICS,
        models=models,
        **context,
    )


@router.get(f"{PREFIX}/indexes/new")
async def new_index(request: Request) -> Response:
    return await _create_form(request, session_of(request))


def _create_body(fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The API path and body the form asks for."""
    name = fields.get("name", "").strip()
    metric = fields.get("metric", "cosine")
    if fields.get("kind") == "integrated":
        embed = {
            "model": fields.get("model", "").strip(),
            "field_map": {"text": fields.get("field") or "text"},
        }
        return "/indexes/create-for-model", {"name": name, "embed": embed | {"metric": metric}}
    raw = fields.get("dimension", "").strip()
    if not raw.isdigit():
        raise Refused(422, f"The dimension must be a whole number, got {raw!r}")
    body = {"name": name, "dimension": int(raw), "metric": metric}
    return "/indexes", body | {"spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}}


@router.post(f"{PREFIX}/indexes")
async def create_index(request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    try:
        path, body = _create_body(fields)
        async with api(request, session) as calls:
            created = await calls.post(path, body)
    except Refused as error:
        if error.status == 401:
            raise
        return await _create_form(request, session, status=error.status, error=error.message, values=fields)
    return redirect(f"{PREFIX}/indexes/{quoted(created['name'])}")


@router.get(f"{PREFIX}/indexes/{{name}}/delete")
async def confirm_delete(name: str, request: Request) -> Response:
    session = session_of(request)
    return render(
        request,
        "confirm.html",
        session,
        question=f"Delete index {name} and every record in it? This cannot be undone.",
        action=f"{PREFIX}/indexes/{quoted(name)}/delete",
        button="Delete index",
        back=f"{PREFIX}/indexes/{quoted(name)}",
    )


@router.post(f"{PREFIX}/indexes/{{name}}/delete")
async def delete_index(name: str, request: Request) -> Response:
    session = session_of(request)
    await checked_form(request, session)
    async with api(request, session) as calls:
        await calls.delete(f"/indexes/{quoted(name)}")
    return redirect(f"{PREFIX}/indexes")
