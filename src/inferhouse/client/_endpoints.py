"""The Inference Endpoints management API's shapes: the description the server returns and the bodies the
client sends (``/v2/endpoint/{namespace}``, as ``huggingface_hub`` calls it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# States an endpoint does not leave by itself: waiting on them for "running" would only time out.
FAILED_STATES = frozenset({"failed", "updateFailed"})
STOPPED_STATES = frozenset({"paused"})


class EndpointNotReady(Exception):
    """An endpoint waited on failed, was paused, or was not running in time; ``state`` is its last state
    and ``message`` the server's status message, if any."""

    def __init__(self, name: str, state: str, message: str | None, reason: str) -> None:
        detail = f": {message}" if message else ""
        super().__init__(f"endpoint {name} {reason} (state {state}){detail}")
        self.name = name
        self.state = state
        self.message = message


@dataclass(frozen=True)
class EndpointDescription:
    """What the management API says about one endpoint; ``url`` is where it serves once running."""

    name: str
    state: str
    type: str = "protected"
    repository: str = ""
    revision: str | None = None
    task: str | None = None
    framework: str | None = None
    message: str | None = None
    url: str | None = None
    accelerator: str | None = None
    instance_type: str | None = None
    instance_size: str | None = None
    min_replica: int = 0
    max_replica: int = 0
    scale_to_zero_timeout: int | None = None
    ready_replicas: int = 0
    target_replicas: int = 0
    created_at: str | None = None
    updated_at: str | None = None
    health_route: str = "/health"

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> EndpointDescription:
        model = body.get("model") or {}
        compute = body.get("compute") or {}
        scaling = compute.get("scaling") or {}
        status = body.get("status") or {}
        return cls(
            name=body["name"],
            state=status.get("state", "pending"),
            type=body.get("type", "protected"),
            repository=model.get("repository", ""),
            revision=model.get("revision"),
            task=model.get("task"),
            framework=model.get("framework"),
            message=status.get("message"),
            url=status.get("url"),
            accelerator=compute.get("accelerator"),
            instance_type=compute.get("instanceType"),
            instance_size=compute.get("instanceSize"),
            min_replica=int(scaling.get("minReplica") or 0),
            max_replica=int(scaling.get("maxReplica") or 0),
            scale_to_zero_timeout=scaling.get("scaleToZeroTimeout"),
            ready_replicas=int(status.get("readyReplica") or 0),
            target_replicas=int(status.get("targetReplica") or 0),
            created_at=status.get("createdAt"),
            updated_at=status.get("updatedAt"),
            health_route=body.get("healthRoute") or "/health",
        )


def endpoint_body(
    *,
    name: str | None = None,
    type: str | None = None,
    repository: str | None = None,
    revision: str | None = None,
    task: str | None = None,
    framework: str | None = None,
    env: Mapping[str, str] | None = None,
    accelerator: str | None = None,
    instance_type: str | None = None,
    instance_size: str | None = None,
    min_replica: int | None = None,
    max_replica: int | None = None,
    scale_to_zero_timeout: int | None = None,
    vendor: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """The wire body for a create (every field) or an update (only the fields to change): ``None`` fields
    and sections with nothing in them are not sent, so an update never resets what it does not name."""
    model: dict[str, Any] = {"repository": repository, "revision": revision, "task": task}
    model |= {"framework": framework, "env": None if env is None else dict(env)}
    scaling = {
        "minReplica": min_replica,
        "maxReplica": max_replica,
        "scaleToZeroTimeout": scale_to_zero_timeout,
    }
    compute: dict[str, Any] = {"accelerator": accelerator, "instanceType": instance_type}
    compute |= {"instanceSize": instance_size, "scaling": _section(scaling)}
    body = {
        "name": name,
        "type": type,
        "model": _section(model),
        "compute": _section(compute),
        "provider": _section({"vendor": vendor, "region": region}),
    }
    return _section(body) or {}


def _section(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """``fields`` without its ``None`` values; ``None`` when nothing is left (an empty ``env`` is kept:
    it clears the variables)."""
    given = {key: value for key, value in fields.items() if value is not None}
    return given or None
