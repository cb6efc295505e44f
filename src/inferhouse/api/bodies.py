"""Bodies parsed with orjson where pydantic per-element validation would cost too much (vector payloads)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from inferhouse.errors import BadRequest, InvalidJson


async def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip() and optional:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidJson(f"The body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object")
    return body


def flag(body: dict[str, Any], *names: str, default: bool = False) -> bool:
    """The first present of ``names`` (camelCase and snake_case spellings), which must be a boolean."""
    for name in names:
        if name in body and body[name] is not None:
            value = body[name]
            if not isinstance(value, bool):
                raise BadRequest(f"{name} must be true or false")
            return value
    return default


def field(body: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in body:
            return body[name]
    return None
