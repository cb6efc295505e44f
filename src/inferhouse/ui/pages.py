"""What every dashboard page shares: templates, security headers, the session, forms and CSRF.

Pages are rendered on the server by Jinja2 with autoescaping on, so every name, message and value a
user or the API supplies reaches the browser as text, never as markup. Scripts come only from
``/ui/static`` (the Content-Security-Policy allows nothing else, and no inline script or style).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jinja2
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from inferhouse._version import __version__
from inferhouse.ui.api_calls import Api, Refused
from inferhouse.ui.sessions import COOKIE, Session, SessionStore

PREFIX = "/ui"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 256 * 1024

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def _milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


templates.filters["timestamp"] = _timestamp
templates.filters["ms"] = _milliseconds

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass
class Dashboard:
    """The dashboard's state on ``app.state.dashboard``."""

    sessions: SessionStore
    namespace: str  # the management API's namespace (the server's)
    auth: bool  # False: the server checks no tokens, and signing in needs none


class SignedOut(Exception):
    """The request has no live session: sign in first."""


class CsrfRefused(Exception):
    """A form that changes something came without its session's CSRF token."""


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


def session_of(request: Request) -> Session:
    session = dashboard(request).sessions.find(request.cookies.get(COOKIE))
    if session is None:
        raise SignedOut
    return session


def api(request: Request, session: Session) -> Api:
    return Api(request, session.token or None)


async def form_of(request: Request) -> dict[str, str]:
    """A url-encoded form body (the only kind the dashboard's forms send), within a size limit."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Refused(413, f"The form is over {MAX_FORM_BYTES} bytes")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


async def checked_form(request: Request, session: Session) -> dict[str, str]:
    """The form, once its CSRF token is the session's."""
    fields = await form_of(request)
    if not session.csrf_matches(fields.get("csrf")):
        raise CsrfRefused
    return fields


def render(
    request: Request, template: str, session: Session | None, status: int = 200, **context: Any
) -> HTMLResponse:
    html = templates.get_template(template).render(
        prefix=PREFIX,
        session=session,
        csrf=session.csrf if session else "",
        version=__version__,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


def _to_signin(request: Request) -> Response:
    if request.headers.get("hx-request"):  # an htmx fragment: send the whole page to the sign-in form
        return Response(status_code=204, headers={"HX-Redirect": f"{PREFIX}/signin"})
    return redirect(f"{PREFIX}/signin")


class DashboardRoute(APIRoute):
    """Adds the security headers to every page, and turns a missing session, a revoked token, a missing
    CSRF token or anything else the API refused into the page that says so."""

    def get_route_handler(self) -> Handler:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await inner(request)
            except SignedOut:
                response = _to_signin(request)
            except CsrfRefused:
                response = render(
                    request,
                    "error.html",
                    None,
                    status=403,
                    message="This form has expired or did not come from this dashboard: reload the page "
                    "and try again.",
                )
            except Refused as refused:
                if refused.status == 401:  # the token was revoked: the session goes with it
                    dashboard(request).sessions.end(request.cookies.get(COOKIE))
                    response = _to_signin(request)
                else:  # what the API refused, with its status and message
                    session = dashboard(request).sessions.find(request.cookies.get(COOKIE))
                    response = render(
                        request, "error.html", session, status=refused.status, message=refused.message
                    )
            response.headers.update(SECURITY_HEADERS)
            return response

        return handler
