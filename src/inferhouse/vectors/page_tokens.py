"""Pagination tokens for id listings: a token names the last id of the page it ends."""

from __future__ import annotations

import base64

from inferhouse.errors import BadRequest

# The marker tells a token we issued from any other base64.
_TOKEN_MARKER = b"after:"


def encode_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(_TOKEN_MARKER + last_id.encode()).decode()


def decode_token(token: str | None) -> str | None:
    """The id a token continues after; anything but a token this server issued is a 400, never page one."""
    if not token:
        return None
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        last_id = raw.removeprefix(_TOKEN_MARKER).decode() if raw.startswith(_TOKEN_MARKER) else ""
    except (ValueError, UnicodeError):
        last_id = ""
    if not last_id or encode_token(last_id) != token:
        raise BadRequest(f"Invalid pagination token {token!r:.80}: pass the pagination.next of a listing")
    return last_id
