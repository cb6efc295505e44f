"""Dashboard sessions: a random id in an http-only cookie, the token it stands for kept in memory only.

The token never travels back to the browser; the cookie holds an id that means nothing once the
server restarts or the person signs out. Each session has its own CSRF token, which every form that
changes something must send back.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

COOKIE = "inferhouse_session"
# A sign-in form's CSRF value travels in this cookie and in the form: a page of another site can set
# neither (the cookie is same-site strict and the value is random).
SIGNIN_COOKIE = "inferhouse_signin"
IDLE_SECONDS = 8 * 3600
MAX_SESSIONS = 10_000


@dataclass
class Session:
    id: str
    token: str
    name: str  # the token's label, shown in the header
    role: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    last_seen: float = field(default_factory=time.monotonic)
    # A token just created, kept for the one page after the redirect that shows it, then forgotten.
    created_token: dict[str, Any] | None = None

    def csrf_matches(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


class SessionStore:
    """Live sessions of this server process, the least recently used dropped first when full."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS, limit: int = MAX_SESSIONS) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._idle_seconds = idle_seconds
        self._limit = limit

    def start(self, token: str, name: str, role: str) -> Session:
        session = Session(secrets.token_urlsafe(32), token, name, role)
        self._sessions[session.id] = session
        while len(self._sessions) > self._limit:
            self._sessions.popitem(last=False)
        return session

    def find(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.last_seen > self._idle_seconds:
            del self._sessions[session_id]
            return None
        session.last_seen = now
        self._sessions.move_to_end(session_id)
        return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)
