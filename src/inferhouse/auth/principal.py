"""Who a request is: the principal behind its token, and the fixed principals of the server itself."""

from __future__ import annotations

from dataclasses import dataclass

from inferhouse.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    """Who a request's token belongs to and what it was granted."""

    name: str
    role: str
    endpoints: frozenset[str] = frozenset()  # granted calling
    manages: frozenset[str] = frozenset()  # granted managing (and so calling)
    # What an endpoint records as its creator: the token's hash, or a fixed name for the env admin token
    # and the operator; never shown to callers.
    id: str = ""

    @property
    def scoped(self) -> bool:
        return bool(self.endpoints or self.manages)

    def granted(self, endpoint: str) -> bool:
        """Whether a grant of this token names ``endpoint`` (managing an endpoint includes calling it)."""
        return endpoint in self.endpoints or endpoint in self.manages

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_general(self) -> None:
        """Refuse a token scoped to endpoints on every route that is not one of those endpoints."""
        if self.scoped:
            names = ", ".join(sorted(self.endpoints | self.manages))
            raise Forbidden(f"This token is scoped to the endpoint(s) {names} and may only call those")


ANONYMOUS = Principal("anonymous", "none", id="anonymous")
# Who every request is when authentication is off: the loopback operator.
OPERATOR = Principal("operator", "admin", id="operator")
ENV_ADMIN = Principal("admin", "admin", id="env-admin")
