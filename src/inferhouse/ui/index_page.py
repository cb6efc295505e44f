"""One index's page: its namespaces and counts, a record browser (ids a page at a time through
Pinecone's list route, one record fetched with its metadata and first values, delete after
confirming) and a query box (:mod:`inferhouse.ui.index_query`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from inferhouse.ui.api_calls import Api, Refused
from inferhouse.ui.index_query import QUERY_DEFAULTS, QueryForm, run_query
from inferhouse.ui.indexes import embedding_models, quoted, size_text
from inferhouse.ui.pages import PREFIX, DashboardRoute, api, checked_form, redirect, render, session_of
from inferhouse.ui.sessions import Session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 20
FIRST_VALUES = 8


async def _index_page(
    request: Request, session: Session, name: str, namespace: str, status: int = 200, **context: Any
) -> Response:
    page_token = request.query_params.get("page") or None
    prefix = request.query_params.get("prefix", "")
    async with api(request, session) as calls:
        stats = await calls.get(f"/api/indexes/{quoted(name)}")
        params: dict[str, Any] = {"namespace": namespace, "limit": PAGE_SIZE, "prefix": prefix}
        if page_token:
            params["paginationToken"] = page_token
        listed = await calls.get(f"/indexes/{quoted(name)}/vectors/list", **params)
        models = [] if stats["model"] else await embedding_models(request, calls)
    stats["size"] = size_text(stats["diskBytes"])
    context.setdefault("query", QueryForm.from_fields(dict(QUERY_DEFAULTS), stats["model"] is not None))
    context.setdefault("results", None)
    context.setdefault("error", None)
    return render(
        request,
        "index.html",
        session,
        status=status,
        index=stats,
        namespace=namespace,
        prefix_filter=prefix,
        ids=[item["id"] for item in listed.get("vectors", [])],
        next_page=(listed.get("pagination") or {}).get("next"),
        models=models,
        **context,
    )


@router.get(f"{PREFIX}/indexes/{{name}}")
async def index_page(name: str, request: Request) -> Response:
    session = session_of(request)
    return await _index_page(request, session, name, request.query_params.get("namespace", ""))


@router.post(f"{PREFIX}/indexes/{{name}}/query")
async def query_index(name: str, request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    namespace = fields.get("namespace", "")
    async with api(request, session) as calls:
        stats = await calls.get(f"/api/indexes/{quoted(name)}")
        form = QueryForm.from_fields(fields, stats["model"] is not None)
        try:
            results = await run_query(calls, name, namespace, form)
        except Refused as error:
            if error.status == 401:
                raise
            return await _index_page(
                request, session, name, namespace, status=error.status, query=form, error=error.message
            )
    return await _index_page(request, session, name, namespace, query=form, results=results)


async def _record(calls: Api, name: str, namespace: str, record_id: str) -> dict[str, Any]:
    fetched = await calls.get(f"/indexes/{quoted(name)}/vectors/fetch", ids=record_id, namespace=namespace)
    record: dict[str, Any] | None = fetched["vectors"].get(record_id)
    if record is None:
        raise Refused(404, f"Record {record_id} is not in namespace {namespace or '(default)'} of {name}")
    return record


@router.get(f"{PREFIX}/indexes/{{name}}/record")
async def record_page(name: str, request: Request) -> Response:
    session = session_of(request)
    record_id = request.query_params.get("id", "")
    namespace = request.query_params.get("namespace", "")
    async with api(request, session) as calls:
        record = await _record(calls, name, namespace, record_id)
    values = record.get("values") or []
    return render(
        request,
        "index_record.html",
        session,
        index=name,
        namespace=namespace,
        record=record,
        dimension=len(values),
        first_values=[f"{value:.4f}" for value in values[:FIRST_VALUES]],
        metadata=sorted((record.get("metadata") or {}).items()),
    )


@router.get(f"{PREFIX}/indexes/{{name}}/record/delete")
async def confirm_delete_record(name: str, request: Request) -> Response:
    session = session_of(request)
    record_id = request.query_params.get("id", "")
    namespace = request.query_params.get("namespace", "")
    return render(
        request,
        "confirm.html",
        session,
        question=f"Delete record {record_id} from namespace {namespace or '(default)'} of index {name}?",
        action=f"{PREFIX}/indexes/{quoted(name)}/record/delete",
        hidden={"id": record_id, "namespace": namespace},
        button="Delete record",
        back=f"{PREFIX}/indexes/{quoted(name)}?namespace={quoted(namespace)}",
    )


@router.post(f"{PREFIX}/indexes/{{name}}/record/delete")
async def delete_record(name: str, request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    namespace = fields.get("namespace", "")
    async with api(request, session) as calls:
        body = {"ids": [fields.get("id", "")], "namespace": namespace}
        await calls.post(f"/indexes/{quoted(name)}/vectors/delete", body)
    return redirect(f"{PREFIX}/indexes/{quoted(name)}?namespace={quoted(namespace)}")


@router.get(f"{PREFIX}/indexes/{{name}}/namespace/delete")
async def confirm_delete_namespace(name: str, request: Request) -> Response:
    session = session_of(request)
    namespace = request.query_params.get("namespace", "")
    return render(
        request,
        "confirm.html",
        session,
        question=f"Delete every record of namespace {namespace or '(default)'} of index {name}?",
        action=f"{PREFIX}/indexes/{quoted(name)}/namespace/delete",
        hidden={"namespace": namespace},
        button="Delete namespace",
        back=f"{PREFIX}/indexes/{quoted(name)}?namespace={quoted(namespace)}",
    )


@router.post(f"{PREFIX}/indexes/{{name}}/namespace/delete")
async def delete_namespace(name: str, request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    async with api(request, session) as calls:
        body = {"deleteAll": True, "namespace": fields.get("namespace", "")}
        await calls.post(f"/indexes/{quoted(name)}/vectors/delete", body)
    return redirect(f"{PREFIX}/indexes/{quoted(name)}")
