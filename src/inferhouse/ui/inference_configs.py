"""Inference configurations (Elasticsearch's ``_inference`` registry): list, create, delete, and a preview
of the chunks a pasted text gets under the chosen chunking settings.

The secret (``api_key``) goes to the API once, in the create call; the API never returns it, and no page
puts it back in a form: a refused create shows the form again with the secret field empty.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from inferhouse.chunking import chunk_text, parse_chunking_settings
from inferhouse.errors import SettingsInvalid
from inferhouse.ui.api_calls import Refused
from inferhouse.ui.pages import PREFIX, DashboardRoute, api, checked_form, redirect, render, session_of
from inferhouse.ui.sessions import Session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

TASK_TYPES = ("text_embedding", "rerank", "completion", "chat_completion")
SERVICES = ("hugging_face", "inferhouse")
STRATEGIES = ("sentence", "word", "recursive", "none")
PREVIEW_CHUNKS = 50
# Every field the form sends back to itself; the secret is not one of them.
FORM_DEFAULTS = {
    "inference_id": "",
    "task_type": "text_embedding",
    "service": "hugging_face",
    "url": "",
    "endpoint": "",
    "requests_per_minute": "",
    "strategy": "sentence",
    "max_chunk_size": "250",
    "overlap": "",
    "sentence_overlap": "1",
    "preview_text": "",
}


def _whole(value: str, what: str) -> int:
    if not value.strip().isdigit():
        raise Refused(422, f"{what} must be a whole number, got {value!r}")
    return int(value)


def chunking_of(fields: dict[str, str]) -> dict[str, Any]:
    """The form's chunking settings in the API's shape (checked by the API, or the preview)."""
    strategy = fields.get("strategy", "sentence")
    settings: dict[str, Any] = {"strategy": strategy}
    if strategy == "none":
        return settings
    settings["max_chunk_size"] = _whole(fields.get("max_chunk_size", ""), "Max chunk size")
    if strategy == "word" and fields.get("overlap", "").strip():
        settings["overlap"] = _whole(fields["overlap"], "Overlap")
    if strategy == "sentence" and fields.get("sentence_overlap", "").strip():
        settings["sentence_overlap"] = _whole(fields["sentence_overlap"], "Sentence overlap")
    return settings


def create_body(fields: dict[str, str]) -> dict[str, Any]:
    service = fields.get("service", "hugging_face")
    settings: dict[str, Any]
    if service == "inferhouse":
        settings = {"endpoint": fields.get("endpoint", "").strip()}
    else:
        settings = {"url": fields.get("url", "").strip(), "api_key": fields.get("api_key", "")}
        if fields.get("requests_per_minute", "").strip():
            per_minute = _whole(fields["requests_per_minute"], "Requests per minute")
            settings["rate_limit"] = {"requests_per_minute": per_minute}
    body: dict[str, Any] = {"service": service, "service_settings": settings}
    if fields.get("task_type") == "text_embedding":
        body["chunking_settings"] = chunking_of(fields)
    return body


def preview(fields: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    """The chunks of the pasted text (the first :data:`PREVIEW_CHUNKS`), or what is wrong."""
    try:
        settings = parse_chunking_settings(chunking_of(fields))
    except Refused as error:
        return [], error.message
    except SettingsInvalid as error:
        return [], "; ".join(error.problems)
    chunks = chunk_text(fields.get("preview_text", ""), settings)
    return [
        {"number": number, "start": piece.start_offset, "end": piece.end_offset, "text": piece.text}
        for number, piece in enumerate(chunks[:PREVIEW_CHUNKS])
    ], None


async def _page(request: Request, session: Session, status: int = 200, **context: Any) -> Response:
    configs: list[dict[str, Any]] = []
    refused = None
    async with api(request, session) as calls:
        try:
            configs = (await calls.get("/_inference"))["endpoints"]
        except Refused as error:
            if error.status != 403:
                raise
            refused = error.message
    values = FORM_DEFAULTS | {
        key: value for key, value in context.pop("values", {}).items() if key in FORM_DEFAULTS
    }
    context.setdefault("error", None)
    context.setdefault("chunks", None)
    context.setdefault("chunk_error", None)
    return render(
        request,
        "inference.html",
        session,
        status=status,
        configs=sorted(configs, key=lambda config: config["inference_id"]),
        refused=refused,
        values=values,
        task_types=TASK_TYPES,
        services=SERVICES,
        strategies=STRATEGIES,
        **context,
    )


@router.get(f"{PREFIX}/inference")
async def config_list(request: Request) -> Response:
    return await _page(request, session_of(request))


@router.post(f"{PREFIX}/inference")
async def create_config(request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    if "preview" in fields:  # the preview button: nothing is created
        chunks, problem = preview(fields)
        return await _page(request, session, values=fields, chunks=chunks, chunk_error=problem)
    inference_id = fields.get("inference_id", "").strip()
    task_type = fields.get("task_type", "text_embedding")
    try:
        body = create_body(fields)
        async with api(request, session) as calls:
            await calls.put(f"/_inference/{quote(task_type, safe='')}/{quote(inference_id, safe='')}", body)
    except Refused as error:
        if error.status == 401:
            raise
        return await _page(request, session, status=error.status, error=error.message, values=fields)
    return redirect(f"{PREFIX}/inference")


@router.post(f"{PREFIX}/inference/chunks")
async def chunk_preview(request: Request) -> Response:
    """The preview alone, for htmx to swap in without sending the rest of the form."""
    session = session_of(request)
    fields = await checked_form(request, session)
    chunks, problem = preview(fields)
    return render(request, "inference_chunks.html", session, chunks=chunks, chunk_error=problem)


@router.get(f"{PREFIX}/inference/{{inference_id}}/delete")
async def confirm_delete(inference_id: str, request: Request) -> Response:
    session = session_of(request)
    return render(
        request,
        "confirm.html",
        session,
        question=f"Delete inference configuration {inference_id}? Indexes that embed with it must go first.",
        action=f"{PREFIX}/inference/{quote(inference_id, safe='')}/delete",
        button="Delete configuration",
        back=f"{PREFIX}/inference",
    )


@router.post(f"{PREFIX}/inference/{{inference_id}}/delete")
async def delete_config(inference_id: str, request: Request) -> Response:
    session = session_of(request)
    await checked_form(request, session)
    try:
        async with api(request, session) as calls:
            await calls.delete(f"/_inference/{quote(inference_id, safe='')}")
    except Refused as error:
        if error.status == 401:
            raise
        return await _page(request, session, status=error.status, error=error.message)
    return redirect(f"{PREFIX}/inference")
