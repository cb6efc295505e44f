"""What backup and restore-job requests must be: names, descriptions, page sizes and page tokens."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TypeVar

from inferhouse.errors import BadRequest

MAX_BACKUP_NAME = 100
MAX_DESCRIPTION = 1000
DEFAULT_PAGE, MAX_PAGE = 10, 100
_TOKEN_MARKER = b"offset:"

Item = TypeVar("Item")


def check_text(value: object, what: str, longest: int) -> str | None:
    """``value`` when it is absent or a string of 1 to ``longest`` characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise BadRequest(f"{what} must be a string of 1 to {longest} characters, got {value!r:.80}")
    return value


def check_limit(value: object) -> int:
    if value is None:
        return DEFAULT_PAGE
    try:
        limit = int(str(value))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE}, got {value!r:.40}")
    return limit


def page(items: Sequence[Item], limit: int, token: str | None) -> tuple[list[Item], str | None]:
    """One page of ``items`` from the offset ``token`` names, and the token of the next page if any."""
    start = _offset(token)
    end = start + limit
    return list(items[start:end]), _token(end) if end < len(items) else None


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(_TOKEN_MARKER + str(offset).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        offset = int(raw.removeprefix(_TOKEN_MARKER)) if raw.startswith(_TOKEN_MARKER) else -1
    except (ValueError, UnicodeError):
        offset = -1
    if offset < 0 or _token(offset) != token:
        raise BadRequest(f"Invalid pagination token {token!r:.80}: pass the pagination.next of a listing")
    return offset
