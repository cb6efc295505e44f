"""The token management API (``/api/tokens``): list, create and revoke tokens, for admin tokens only.

A token is shown once, in the reply that creates it; the list names each token by a short id (the
first characters of its hash), never by the token itself, and says when it was last used.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from inferhouse.api.core.bodies import json_object
from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.openapi import json_body
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.core.validation import parse_as
from inferhouse.auth import ANONYMOUS, StoredToken, token_hash
from inferhouse.errors import Forbidden, NotFound
from inferhouse.settings import ENDPOINT_NAME_PATTERN

router = APIRouter(route_class=dialect_route(render_hf, policy="general"), tags=["Token management"])

# 16 hex digits of the SHA-256 hash: unique among any number of tokens a server keeps, and useless for
# guessing the token itself.
TOKEN_ID_LENGTH = 16
_TOKEN_ID = re.compile(rf"[0-9a-f]{{{TOKEN_ID_LENGTH}}}")


EndpointName = Annotated[str, Field(pattern=ENDPOINT_NAME_PATTERN)]


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("user", min_length=1, max_length=100, description="A label to remember the token by")
    role: Literal["user", "admin"] = "user"
    endpoints: list[EndpointName] = Field(
        default_factory=list, description="Scope the token to calling these endpoints only"
    )
    manages: list[EndpointName] = Field(
        default_factory=list, description="Scope the token to calling and managing these endpoints"
    )


def token_json(stored: StoredToken) -> dict[str, Any]:
    return {
        "id": stored.token_hash[:TOKEN_ID_LENGTH],
        "name": stored.name,
        "role": stored.role,
        "createdAt": stored.created_at,
        "endpoints": sorted(stored.endpoints),
        "manages": sorted(stored.manages),
        # Seconds since the epoch, to the minute (uses are recorded at most once a minute); null: never
        # used since the server began recording.
        "lastUsed": stored.last_used,
    }


def _require_admin(request: Request) -> None:
    principal = principal_of(request) or ANONYMOUS
    if not principal.is_admin:
        raise Forbidden("Only an admin token may list, create or revoke tokens")


@router.get("/api/tokens", summary="List tokens (never the tokens themselves)")
async def list_tokens(request: Request) -> Response:
    _require_admin(request)
    stored = services(request).tokens.list()
    return json_response({"items": [token_json(token) for token in stored]})


@router.post(
    "/api/tokens",
    summary="Create a token; the reply is the only time it is shown",
    status_code=201,
    openapi_extra=json_body(TokenBody),
)
async def create_token(request: Request) -> Response:
    _require_admin(request)
    body = parse_as(TokenBody, await json_object(request))
    tokens = services(request).tokens
    token = tokens.create(body.name, role=body.role, endpoints=body.endpoints, manages=body.manages)
    stored = StoredToken(
        token_hash(token),
        body.name,
        body.role,
        time.time(),
        frozenset(body.endpoints),
        frozenset(body.manages),
    )
    return json_response(token_json(stored) | {"token": token}, status_code=201)


@router.delete("/api/tokens/{token_id}", summary="Revoke a token by its id")
async def revoke_token(token_id: str, request: Request) -> Response:
    _require_admin(request)
    tokens = services(request).tokens
    if _TOKEN_ID.fullmatch(token_id):
        for stored in tokens.list():
            if stored.token_hash.startswith(token_id) and tokens.revoke(stored.token_hash):
                return json_response({})
    raise NotFound(f"Token {token_id} not found")
