"""Request headers the Hugging Face APIs use to steer a call."""

from __future__ import annotations

from fastapi import Request

from inferhouse.api.schemas import RequestOptions


def header_flag(request: Request, name: str) -> bool | None:
    value = request.headers.get(name)
    return None if value is None else value.strip().lower() in {"1", "true", "yes"}


def use_cache(request: Request, options: RequestOptions | None = None) -> bool:
    """``x-use-cache`` wins over the body's ``options.use_cache``; both default to using the cache."""
    header = header_flag(request, "x-use-cache")
    if header is not None:
        return header
    return options.use_cache if options else True


def wait_for_model(request: Request, options: RequestOptions | None = None) -> bool:
    header = header_flag(request, "x-wait-for-model")
    if header is not None:
        return header
    return options.wait_for_model if options else False
