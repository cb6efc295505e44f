"""How a caller steers a call: Hugging Face's headers, and the body's ``options`` object they stand for.

Every Hugging Face-family dialect (serverless, endpoints, TEI, TGI, OpenAI at the root) honours them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from fastapi import Request
from pydantic import BaseModel

from inferhouse.api.core.json_types import Flag
from inferhouse.errors import ValidationFailed


class RequestOptions(BaseModel):
    """The serverless API's ``options`` object; headers ``x-use-cache``/``x-wait-for-model`` do the same."""

    use_cache: Flag = True
    wait_for_model: Flag = False


def header_flag(request: Request, name: str) -> bool | None:
    value = request.headers.get(name)
    return None if value is None else value.strip().lower() in {"1", "true", "yes"}


def use_cache(request: Request, options: RequestOptions | None = None) -> bool:
    """``x-use-cache`` wins over the body's ``options.use_cache``; both default to using the cache."""
    header = header_flag(request, "x-use-cache")
    if header is not None:
        return header
    return options.use_cache if options else True


def scale_up_timeout(headers: Mapping[str, str]) -> float:
    """``X-Scale-Up-Timeout``: how many seconds a call to an endpoint scaled to zero waits for it to come
    up before the usual 503 with ``estimated_time`` (0, the default: it answers at once)."""
    raw = headers.get("x-scale-up-timeout")
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise ValidationFailed(f"X-Scale-Up-Timeout must be a number of seconds, at least 0, got {raw!r}")
    return value


def wait_for_model(request: Request, options: RequestOptions | None = None) -> bool:
    header = header_flag(request, "x-wait-for-model")
    if header is not None:
        return header
    return options.wait_for_model if options else False
