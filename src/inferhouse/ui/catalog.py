"""The tokens page (admin tokens: list, create shown once, revoke), through ``/api/tokens`` as the
signed-in token: a token that may not manage tokens gets the API's refusal on the page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from inferhouse.ui.api_calls import Refused
from inferhouse.ui.pages import PREFIX, DashboardRoute, api, checked_form, redirect, render, session_of
from inferhouse.ui.sessions import Session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def _names(raw: str) -> list[str]:
    """Endpoint names typed into one field, separated by commas or spaces."""
    return [name for name in raw.replace(",", " ").split() if name]


async def _tokens_page(request: Request, session: Session, status: int = 200, **context: Any) -> Response:
    tokens: list[dict[str, Any]] = []
    refused = None
    async with api(request, session) as calls:
        try:
            tokens = (await calls.get("/api/tokens"))["items"]
        except Refused as error:
            if error.status != 403:
                raise
            refused = error.message
    context.setdefault("created", None)
    context.setdefault("error", None)
    return render(request, "tokens.html", session, status=status, tokens=tokens, refused=refused, **context)


@router.get(f"{PREFIX}/tokens")
async def token_list(request: Request) -> Response:
    session = session_of(request)
    created, session.created_token = session.created_token, None
    return await _tokens_page(request, session, created=created)


@router.post(f"{PREFIX}/tokens")
async def create_token(request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    body = {
        "name": fields.get("name", "").strip(),
        "role": fields.get("role", "user"),
        "endpoints": _names(fields.get("endpoints", "")),
        "manages": _names(fields.get("manages", "")),
    }
    try:
        async with api(request, session) as calls:
            created = await calls.post("/api/tokens", body)
    except Refused as error:
        if error.status == 401:
            raise
        return await _tokens_page(request, session, status=error.status, error=error.message)
    # Shown once, on the page this redirects to (not cached: Cache-Control no-store); a reload shows the
    # list without it, and does not post the form again.
    session.created_token = created
    return redirect(f"{PREFIX}/tokens")


@router.get(f"{PREFIX}/tokens/{{token_id}}/revoke")
async def confirm_revoke(token_id: str, request: Request) -> Response:
    session = session_of(request)
    return render(
        request,
        "confirm.html",
        session,
        question=f"Revoke token {token_id}? Anything that uses it is refused from now on.",
        action=f"{PREFIX}/tokens/{quote(token_id, safe='')}/revoke",
        button="Revoke token",
        back=f"{PREFIX}/tokens",
    )


@router.post(f"{PREFIX}/tokens/{{token_id}}/revoke")
async def revoke_token(token_id: str, request: Request) -> Response:
    session = session_of(request)
    await checked_form(request, session)
    try:
        async with api(request, session) as calls:
            await calls.delete(f"/api/tokens/{quote(token_id, safe='')}")
    except Refused as error:
        if error.status == 401:
            raise
        return await _tokens_page(request, session, status=error.status, error=error.message)
    return redirect(f"{PREFIX}/tokens")
