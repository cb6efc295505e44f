"""Signing in and out: a token typed once becomes a server-side session behind an http-only cookie."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request, Response

from inferhouse.ui.api_calls import Api, Refused
from inferhouse.ui.pages import (
    PREFIX,
    DashboardRoute,
    checked_form,
    dashboard,
    form_of,
    redirect,
    render,
    session_of,
)
from inferhouse.ui.sessions import COOKIE, IDLE_SECONDS, SIGNIN_COOKIE

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _signin_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    nonce = secrets.token_urlsafe(32)
    response = render(
        request,
        "signin.html",
        None,
        status=status,
        error=error,
        signin_csrf=nonce,
        auth=dashboard(request).auth,
    )
    _cookie(response, request, SIGNIN_COOKIE, nonce, 3600)
    return response


@router.get(PREFIX)
async def home(request: Request) -> Response:
    session_of(request)
    return redirect(f"{PREFIX}/endpoints")


@router.get(f"{PREFIX}/signin")
async def signin_form(request: Request) -> Response:
    return _signin_page(request)


@router.post(f"{PREFIX}/signin")
async def signin(request: Request) -> Response:
    fields = await form_of(request)
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    sent = fields.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _signin_page(request, 403, "The sign-in form expired: try again.")
    token = fields.get("token", "").strip()
    try:
        async with Api(request, token or None) as calls:
            whoami = await calls.get("/api/whoami-v2")
    except Refused as refused:
        if refused.status not in (401, 403):
            raise
        return _signin_page(request, 401, "That token is not valid on this server.")
    access = whoami["auth"]["accessToken"]
    session = dashboard(request).sessions.start(token, str(access["displayName"]), str(access["role"]))
    response = redirect(f"{PREFIX}/endpoints")
    _cookie(response, request, COOKIE, session.id, IDLE_SECONDS)
    response.delete_cookie(SIGNIN_COOKIE, path=PREFIX)
    return response


@router.post(f"{PREFIX}/signout")
async def signout(request: Request) -> Response:
    session = session_of(request)
    await checked_form(request, session)
    dashboard(request).sessions.end(session.id)
    response = redirect(f"{PREFIX}/signin")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response
