"""Who may call an endpoint and who may manage it: every route asks here, nowhere else.

Calling (an endpoint's inference routes, and the routes that reach it by name):
    public      anyone, without a token
    protected   any valid token that is not scoped to other endpoints
    private     an admin token, or a token granted the endpoint
A request without a token learns nothing about names it may not use: an unknown name and a name that
needs a token both answer the same 401.

Managing (the ``/v2/endpoint`` API: list, create, describe, update, delete, pause, resume,
scale-to-zero, logs):
    admin               every endpoint
    general token       the endpoints it created (an endpoint records its creator's token id)
    scoped token        only the endpoints granted with ``inferhouse token create --manage NAME``;
                        a grant to call (``--endpoint NAME``) does not grant managing
Endpoints declared in the settings or stored before creators were recorded have no creator: only an
admin manages them. Only admin and general tokens create endpoints; the list shows what the token may
manage. A non-admin token names local model directories only under ``INFERHOUSE_MODEL_ROOTS``, and
cannot turn on ``HF_TRUST_REMOTE_CODE``: that would run a model directory's Python inside the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inferhouse.auth import Principal
from inferhouse.endpoints.config import Access, ModelConfig, StoredEndpoint
from inferhouse.engine.sources import is_local_path
from inferhouse.errors import EndpointNotFound, Forbidden, Unauthorized


def check_call(name: str, record: StoredEndpoint | None, principal: Principal | None) -> None:
    """Raise unless ``principal`` (None: no token sent) may call endpoint ``name`` (None: unknown)."""
    if record is not None and record.config.access is Access.PUBLIC:
        return
    if principal is None:  # the same reply for a name that exists and one that does not
        raise Unauthorized(f"Missing token: endpoint {name} needs one; send 'Authorization: Bearer <token>'")
    if record is None:
        raise EndpointNotFound(f"Endpoint {name} not found")
    access = record.config.access
    if not principal.scoped and access is not Access.PRIVATE:
        return
    if principal.is_admin or principal.granted(name):
        return
    hint = (
        f": it is private; create a token for it with `inferhouse token create --endpoint {name}`"
        if access is Access.PRIVATE
        else ""
    )
    raise Forbidden(f"This token may not call endpoint {name}{hint}")


def may_manage(principal: Principal, record: StoredEndpoint) -> bool:
    if principal.is_admin:
        return True
    if principal.scoped:
        return record.config.name in principal.manages
    return record.creator is not None and record.creator == principal.id


def check_manage(principal: Principal, record: StoredEndpoint) -> None:
    name = record.config.name
    if not may_manage(principal, record):
        raise Forbidden(
            f"This token may not manage endpoint {name}: only an admin token, the token that created it, "
            f"or a token made with `inferhouse token create --manage {name}` may"
        )


def check_management_api(principal: Principal) -> None:
    """A scoped token without a grant to manage reaches no part of the management API."""
    if principal.scoped and not principal.manages and not principal.is_admin:
        principal.require_general()


def check_create(principal: Principal) -> None:
    """Creating needs an admin or a general token: a scoped one stays within its endpoints."""
    if not principal.is_admin:
        principal.require_general()


def check_repository(principal: Principal, repository: str, roots: Sequence[Path]) -> None:
    """A non-admin token may name a local directory only under a model root; the refusal says the same
    whether the directory exists or not, so it cannot be used to probe the server's filesystem."""
    if principal.is_admin or not is_local_path(repository):
        return
    path = Path(repository).expanduser().resolve()
    if any(path.is_relative_to(root.expanduser().resolve()) for root in roots):
        return
    where = ", ".join(str(root) for root in roots) or "none are configured"
    raise Forbidden(
        f"Model directory {repository} is not under a model root of this server "
        f"(INFERHOUSE_MODEL_ROOTS: {where}); name a model id, or ask an admin"
    )


def check_model(
    principal: Principal, model: ModelConfig, roots: Sequence[Path], *, before: ModelConfig | None = None
) -> None:
    """What a non-admin token may ask of an endpoint's model, on create (``before`` None) or update:
    a directory under a model root, and no remote code unless an admin already allowed it for this model."""
    if principal.is_admin:
        return
    moved = before is None or model.repository != before.repository
    if moved:
        check_repository(principal, model.repository, roots)
    if model.trust_remote_code and (moved or not before or not before.trust_remote_code):
        raise Forbidden(
            "Only an admin token may set HF_TRUST_REMOTE_CODE: it runs the model directory's own Python "
            "code inside the server"
        )


def listed_in_health(principal: Principal | None, record: StoredEndpoint) -> bool:
    """``GET /health`` names public endpoints to everyone and every endpoint to an admin."""
    return record.config.access is Access.PUBLIC or (principal is not None and principal.is_admin)
