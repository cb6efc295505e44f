"""One route class per wire dialect: auth, the body limit and error rendering happen here, once.

Routes raise :class:`~inferhouse.errors.InferhouseError`; the dialect's renderer turns it into the error
shape that dialect's clients parse. Order matters and is the same everywhere: the token is checked
before the body is read, and the body size before it is parsed.

The embedding fast lane (``api/huggingface/fast_lane.py``) answers below FastAPI with the same three
steps (:func:`authorize_headers`, :func:`read_limited`, :func:`render_failure`); when it passes a request
on, it leaves an :class:`Admission` in the ASGI scope so the route neither checks the token nor reads
and decodes the body a second time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope

from inferhouse.api.core.bodies import body_kind, parse_json, remember
from inferhouse.api.core.services import Services, services
from inferhouse.auth import OPERATOR, Principal
from inferhouse.errors import (
    BadRequest,
    InferhouseError,
    InvalidJson,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)

log = logging.getLogger(__name__)

ErrorRenderer = Callable[[InferhouseError], Response]
# Who may call a router's routes:
#   public:   anyone, no token read
#   general:  any token that is not scoped to endpoints
#   endpoint: decided by the endpoint named in the path (its access type and the token's grants)
#   token:    any valid token; the route itself checks what the token may reach
AuthPolicy = Literal["public", "general", "endpoint", "token"]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_MAX_REPORTED_PROBLEMS = 3
# Pydantic names union branches in error locations ("list[str]", "str", "SimilarityInputs").
_UNION_TAG = re.compile(r"^(str|int|float|bool)$|[\[\]]|^[A-Z]")


def dialect_route(render: ErrorRenderer, *, policy: AuthPolicy = "general") -> type[APIRoute]:
    """Build the ``route_class`` for a router whose errors ``render`` shapes and ``policy`` guards."""

    class DialectRoute(APIRoute):
        # Read by the OpenAPI document (inferhouse.api.core.openapi): each route's error shape and security.
        renderer: ClassVar[ErrorRenderer] = staticmethod(render)
        auth_policy: ClassVar[AuthPolicy] = policy

        def get_route_handler(self) -> Handler:
            inner = super().get_route_handler()
            kind = body_kind(self.endpoint, self.methods or set())
            typed = self.body_field
            if kind == "json" and typed is not None and not typed.field_info.is_required():
                kind = "optional_json"

            async def handler(request: Request) -> Response:
                try:
                    found = services(request)
                    admitted = admission(request, policy)
                    if admitted is not None:
                        request.state.principal = admitted.principal
                        raw = request._body = admitted.body
                    else:
                        request.state.principal = authorize(found, request, policy)
                        raw = await read_limited_body(request, found.settings.max_body_bytes)
                    if kind == "json" or (kind == "optional_json" and raw.strip()):
                        decoded = admitted.decoded if admitted is not None else NOT_DECODED
                        body = parse_json(raw) if decoded is NOT_DECODED else decoded
                        request = json_request(request, body, typed=typed is not None)
                    return await inner(request)
                except Exception as error:
                    return render_failure(render, error, request.method, request.url.path)

            return handler

    return DialectRoute


def authorize(found: Services, request: Request, policy: AuthPolicy) -> Principal | None:
    """The caller, once it is allowed on this route; with authentication off, the loopback operator."""
    name = request.path_params["name"] if policy == "endpoint" else None
    return authorize_headers(found, request.headers, policy, name)


def authorize_headers(
    found: Services, headers: Mapping[str, str], policy: AuthPolicy, endpoint: str | None = None
) -> Principal | None:
    """:func:`authorize` from a request's headers; the ``endpoint`` policy needs the endpoint's name.

    ``headers`` is looked up by lower-case name (Starlette's ``Headers`` is, whatever the client sent).
    """
    if not found.settings.auth:
        return OPERATOR
    if policy == "public":
        return None
    if policy == "endpoint":
        if endpoint is None:
            raise TypeError("the endpoint policy needs the endpoint's name")
        principal = found.tokens.identify(headers.get("authorization"), headers.get("api-key"))
        found.serving.authorize(endpoint, principal)
        return principal
    principal = found.tokens.check_request(headers.get("authorization"), headers.get("api-key"))
    if policy == "general":
        principal.require_general()
    return principal


def principal_of(request: Request) -> Principal | None:
    found: Principal | None = getattr(request.state, "principal", None)
    return found


async def read_limited_body(request: Request, limit: int) -> bytes:
    """Read the body once, refusing it as soon as it passes ``limit``; FastAPI reuses what we read."""
    body = await read_limited(request.stream(), request.headers.get("content-length"), limit)
    request._body = body  # Starlette's own cache: its body() returns this instead of re-reading
    return body


async def read_limited(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The body from ``chunks``, refused as soon as it passes ``limit``, or at once when the
    ``Content-Length`` it ``declared`` says it will."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body of {declared} bytes is over the limit of {limit} bytes")
    read: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes")
        read.append(chunk)
    return b"".join(read)


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """A raw ASGI request's body, chunk by chunk, for :func:`read_limited`; stops at a disconnect."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


def render_failure(render: ErrorRenderer, error: Exception, method: str, path: str) -> Response:
    """Any failure of a request in the dialect's shape; a 5xx says nothing of what went wrong inside."""
    if isinstance(error, InferhouseError):
        return render(error)
    if isinstance(error, RequestValidationError):
        return render(from_validation_error(error))
    if isinstance(error, HTTPException):
        return render(from_http_exception(error))
    log.error("unhandled error on %s %s", method, path, exc_info=error)
    return render(InferhouseError("Internal server error"))


# Marks an admission whose body was not JSON: the route decodes it again and reports why.
NOT_DECODED: Any = object()
_ADMISSION = "inferhouse.admission"


@dataclass(frozen=True, slots=True)
class Admission:
    """What a layer below FastAPI learnt of a request it passes on: the endpoint it authorized the
    caller for, the caller, the body it read within the limit and that body decoded (or NOT_DECODED)."""

    endpoint: str
    principal: Principal | None
    body: bytes
    decoded: Any = NOT_DECODED


def admit(scope: Scope, admitted: Admission) -> None:
    scope[_ADMISSION] = admitted


def admission(request: Request, policy: AuthPolicy) -> Admission | None:
    """The request's admission, if it was admitted for this route: an endpoint route of the same name.

    The scope is the server's, not the client's, so nothing a caller sends can forge one.
    """
    admitted: Admission | None = request.scope.pop(_ADMISSION, None)
    if admitted is None or policy != "endpoint":
        return None
    return admitted if request.path_params.get("name") == admitted.endpoint else None


_JSON_TYPE = re.compile(r"application/(.+\+)?json", re.IGNORECASE)


def json_request(request: Request, body: Any, *, typed: bool) -> Request:
    """``request`` with its parsed body cached, as JSON to FastAPI whatever its Content-Type said.

    FastAPI decodes a typed body only under a JSON Content-Type and hands anything else to the model
    as bytes; the body is parsed already, so a typed route sees it as JSON like every other route.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if typed and not _JSON_TYPE.fullmatch(content_type):
        headers = [(key, value) for key, value in request.scope["headers"] if key != b"content-type"]
        scope = {**request.scope, "headers": [*headers, (b"content-type", b"application/json")]}
        relabelled = Request(scope, request.receive)
        relabelled._body = request._body
        request = relabelled
    remember(request, body)
    return request


def from_validation_error(error: RequestValidationError) -> InferhouseError:
    problems = list(error.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        detail = next(p.get("ctx", {}).get("error", "") for p in problems if p.get("type") == "json_invalid")
        return InvalidJson(f"The body is not valid JSON: {detail}".rstrip(": "))
    # A union field fails once per branch; the branch that got deepest says the most useful thing.
    deepest: dict[str, tuple[int, str]] = {}
    for problem in problems:
        path = [part for part in problem.get("loc", ()) if part != "body"]
        field = str(path[0]) if path else "body"
        plain = [str(part) for part in path if isinstance(part, int) or not _UNION_TAG.search(str(part))]
        message = f"{'.'.join(plain) or 'body'}: {problem.get('msg', 'invalid')}"
        if field not in deepest or len(path) > deepest[field][0]:
            deepest[field] = (len(path), message)
    parts = [message for _, message in deepest.values()][:_MAX_REPORTED_PROBLEMS]
    return ValidationFailed("Invalid request: " + "; ".join(parts))


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> str:
    """The ``Allow`` header of a 405: the methods of every route of the path's most specific template.

    ``/indexes/create-for-model`` also matches ``/indexes/{name}``; the fixed path is the resource meant,
    so only its templates' methods (those with the fewest parameters) are listed.
    """
    by_template: dict[int, set[str]] = {}
    for route in iter_route_contexts(routes):
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and pattern.match(path):
            parameters = str(getattr(route, "path_format", "")).count("{")
            by_template.setdefault(parameters, set()).update(route.methods or set())
    return ", ".join(sorted(by_template[min(by_template)])) if by_template else ""


def from_http_exception(error: HTTPException) -> InferhouseError:
    if error.status_code == 413:
        return PayloadTooLarge(str(error.detail))
    if error.status_code == 404:
        return NotFound("No such route: see /docs for the API")
    if error.status_code == 405:
        return MethodNotAllowed("Method not allowed on this route: see /docs for the API")
    return BadRequest(str(error.detail))
