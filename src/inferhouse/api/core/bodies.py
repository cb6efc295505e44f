"""Request bodies: the one strict JSON parser every route's body goes through, and field helpers.

Every POST, PUT and PATCH route takes a JSON body unless it says otherwise with :func:`takes`. The
dialect route (``api/core/dialect.py``) parses that body with :func:`parse_json` before the route runs,
whatever the ``Content-Type`` says, so every route refuses the same bodies with the same
``invalid_json`` error: bytes that are not UTF-8, text that is not JSON (``NaN``, ``Infinity``, numbers
too large for a double), an empty body where one is needed, and nesting deeper than
:data:`MAX_JSON_DEPTH`. Routes then read the parsed value with :func:`json_object`; FastAPI-typed
routes get it through Starlette's JSON cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import orjson
from fastapi import Request

from inferhouse.errors import BadRequest, InvalidJson

# No request of any API nests this deep (a 16-level filter is about 36); every value that reaches a
# recursive walk (filters, merges, a custom handler, orjson.dumps at 255 levels) stays far below
# Python's recursion limit.
MAX_JSON_DEPTH = 64

BodyKind = Literal["json", "optional_json", "ndjson", "none"]
_BODY_KIND = "__inferhouse_body__"
_UNPARSED = object()
_CONTAINERS = (dict, list)
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def takes(kind: BodyKind) -> Callable[[Endpoint], Endpoint]:
    """Mark a route that does not take a required JSON body (put it under the ``@router`` line)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _BODY_KIND, kind)
        return endpoint

    return mark


def body_kind(endpoint: Callable[..., Any], methods: set[str]) -> BodyKind:
    if not methods & {"POST", "PUT", "PATCH"}:
        return "none"
    kind: BodyKind = getattr(endpoint, _BODY_KIND, "json")
    return kind


def parse_json(raw: bytes, what: str = "The body") -> Any:
    """``raw`` decoded as strict JSON (RFC 8259) no deeper than :data:`MAX_JSON_DEPTH`."""
    if not raw.strip():
        raise InvalidJson(f"{what} is empty: send a JSON object")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidJson(f"{what} is not valid JSON: {error}") from None
    if _deeper_than(value, MAX_JSON_DEPTH, raw):
        raise InvalidJson(f"{what} nests arrays and objects more than {MAX_JSON_DEPTH} levels deep")
    return value


def _deeper_than(value: Any, limit: int, raw: bytes) -> bool:
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the common case (one query, a few texts): no walk
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if type(item) is dict else item if type(item) is list else ()
        # Types gathered in C: a long list of numbers (a vector) costs one pass, not a loop in Python.
        kinds = set(map(type, children))
        if dict in kinds or list in kinds:
            if depth + 1 > limit:
                return True
            stack.extend((child, depth + 1) for child in children if type(child) in _CONTAINERS)
    return False


def remember(request: Request, value: Any) -> None:
    """Keep the parsed body where Starlette's ``request.json()`` (and so FastAPI) reads it."""
    request._json = value


async def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; with ``optional``, no body at all is ``{}``."""
    body = getattr(request, "_json", _UNPARSED)
    if body is _UNPARSED:  # no body was sent, or a route called outside the dialect route
        raw = await request.body()
        if optional and not raw.strip():
            return {}
        body = parse_json(raw)
    # A body that was sent must be an object, even where none is needed: JSON null is not "no body".
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object")
    return body


def flag(body: dict[str, Any], *names: str, default: bool = False, nullable: bool = True) -> bool:
    """The first present of ``names`` (camelCase and snake_case spellings), which must be a boolean;
    a null one counts as absent only where ``nullable`` (the document says which)."""
    for name in names:
        if name in body and (body[name] is not None or not nullable):
            value = body[name]
            if not isinstance(value, bool):
                raise BadRequest(f"{name} must be true or false, got {value!r}")
            return value
    return default


def field(body: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in body:
            return body[name]
    return None
