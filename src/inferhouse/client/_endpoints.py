"""The Inference Endpoints management API: the description the server returns, the bodies the client sends
and the client's calls (``/v2/endpoint/{namespace}``, as ``huggingface_hub`` calls it)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from inferhouse.client._transport import InferhouseAPIError, Transport, segment

# States an endpoint does not leave by itself: waiting on them for "running" would only time out.
FAILED_STATES = frozenset({"failed", "updateFailed"})
STOPPED_STATES = frozenset({"paused"})
# What the autoscaler can compare with a threshold: requests queued or running per replica, or the server's
# CPU use in percent (the Inference Endpoints names); the first is the default.
SCALING_METRICS = ("pendingRequests", "hardwareUsage")


def scaling_measure(metric: str | None, threshold: float | str | None) -> dict[str, float | None] | None:
    """The wire ``measure`` (``{metric: threshold}``) for a scaling metric and threshold, checked: the
    metric is one of :data:`SCALING_METRICS` (any case), the threshold a number above 0 (a percentage, at
    most 100, for hardwareUsage). A threshold alone is pendingRequests'; neither gives None. Raises
    ValueError saying what to change."""
    if metric is None and threshold is None:
        return None
    name = SCALING_METRICS[0] if metric is None else _metric_name(metric)
    if threshold is None:
        return {name: None}  # the server's default threshold for the metric
    try:
        value = float(threshold)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise ValueError(f"the scaling threshold must be a number above 0, got {threshold!r}")
    if name == "hardwareUsage" and value > 100:
        raise ValueError(
            f"the scaling threshold of hardwareUsage is a CPU percentage, at most 100, got {value:g}"
        )
    return {name: value}


def _metric_name(metric: str) -> str:
    for name in SCALING_METRICS:
        if metric.strip().lower() == name.lower():
            return name
    raise ValueError(f"the scaling metric must be pendingRequests or hardwareUsage, got {metric!r}")


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
    scaling_metric: str | None = None  # None: none was set (the server scales on pendingRequests)
    scaling_threshold: float | None = None  # None: the metric's default
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
        measure = scaling.get("measure") or {}
        metric, threshold = next(iter(measure.items()), (None, None))
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
            scaling_metric=metric,
            scaling_threshold=None if threshold is None else float(threshold),
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
    measure: Mapping[str, float | None] | None = None,
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
        "measure": None if measure is None else dict(measure),
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


class EndpointsAPI(Transport):
    """Inference Endpoints management (the ``/v2/endpoint`` API huggingface_hub speaks)."""

    _namespace: str | None = None

    def namespace(self) -> str:
        """The namespace endpoints live in: the server's whoami name, asked once."""
        if self._namespace is None:
            self._namespace = str(self._request("GET", "/api/whoami-v2")["name"])
        return self._namespace

    def create_endpoint(
        self,
        name: str,
        repository: str,
        *,
        task: str | None = None,
        revision: str | None = None,
        framework: str = "pytorch",
        accelerator: str = "cpu",
        instance_type: str = "intel-icl",
        instance_size: str = "x1",
        min_replica: int = 1,
        max_replica: int = 1,
        scale_to_zero_timeout: int | None = None,
        scaling_metric: str | None = None,
        scaling_threshold: float | None = None,
        type: str = "protected",
        env: Mapping[str, str] | None = None,
        vendor: str = "local",
        region: str = "local",
    ) -> EndpointDescription:
        """Create an endpoint serving ``repository``. The reply comes before the model is loaded: see
        :meth:`wait_endpoint`. ``scale_to_zero_timeout`` is in idle minutes. The autoscaler adds a
        replica when ``scaling_metric`` (``pendingRequests``, the default, or ``hardwareUsage``) stays
        above ``scaling_threshold`` (requests per replica, or CPU percent); a bad pair raises ValueError
        before anything is sent."""
        body = endpoint_body(
            name=name,
            type=type,
            repository=repository,
            revision=revision,
            task=task,
            framework=framework,
            env=env,
            accelerator=accelerator,
            instance_type=instance_type,
            instance_size=instance_size,
            min_replica=min_replica,
            max_replica=max_replica,
            scale_to_zero_timeout=scale_to_zero_timeout,
            measure=scaling_measure(scaling_metric, scaling_threshold),
            vendor=vendor,
            region=region,
        )
        body["model"]["image"] = {"huggingface": {}}  # the only image this server runs
        return self._endpoint("POST", None, json=body)

    def list_endpoints(self) -> list[EndpointDescription]:
        reply = self._request("GET", self._endpoint_path(None))
        return [EndpointDescription.from_json(item) for item in reply.get("items", [])]

    def describe_endpoint(self, name: str) -> EndpointDescription:
        return self._endpoint("GET", name)

    def update_endpoint(
        self,
        name: str,
        *,
        repository: str | None = None,
        revision: str | None = None,
        task: str | None = None,
        framework: str | None = None,
        accelerator: str | None = None,
        instance_type: str | None = None,
        instance_size: str | None = None,
        min_replica: int | None = None,
        max_replica: int | None = None,
        scale_to_zero_timeout: int | None = None,
        scaling_metric: str | None = None,
        scaling_threshold: float | None = None,
        type: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> EndpointDescription:
        """Change only the fields given; ``None`` leaves a field as it is. A ``scaling_threshold``
        without ``scaling_metric`` keeps the endpoint's metric; a metric without a threshold takes the
        metric's default threshold."""
        if scaling_metric is None and scaling_threshold is not None:
            scaling_metric = self.describe_endpoint(name).scaling_metric
        body = endpoint_body(
            type=type,
            repository=repository,
            revision=revision,
            task=task,
            framework=framework,
            env=env,
            accelerator=accelerator,
            instance_type=instance_type,
            instance_size=instance_size,
            min_replica=min_replica,
            max_replica=max_replica,
            scale_to_zero_timeout=scale_to_zero_timeout,
            measure=scaling_measure(scaling_metric, scaling_threshold),
        )
        return self._endpoint("PUT", name, json=body)

    def pause_endpoint(self, name: str) -> EndpointDescription:
        """Stop serving and release the model until :meth:`resume_endpoint`."""
        return self._endpoint("POST", name, "pause")

    def resume_endpoint(self, name: str, *, running_ok: bool = True) -> EndpointDescription:
        """Start a paused (or scaled-to-zero) endpoint; one already running is fine unless not
        ``running_ok``."""
        try:
            return self._endpoint("POST", name, "resume")
        except InferhouseAPIError as error:
            # The server refuses to resume a running endpoint; huggingface_hub treats that as done too.
            if running_ok and error.status_code == 400 and "already running" in error.message:
                return self.describe_endpoint(name)
            raise

    def scale_endpoint_to_zero(self, name: str) -> EndpointDescription:
        """Drop every replica now; the endpoint stays and starts again on the next request."""
        return self._endpoint("POST", name, "scale-to-zero")

    def delete_endpoint(self, name: str) -> None:
        self._request("DELETE", self._endpoint_path(name))

    def endpoint_logs(self, name: str, tail: int = 100) -> list[str]:
        """The endpoint's last ``tail`` log lines, oldest first."""
        response = self._send("GET", f"{self._endpoint_path(name)}/logs", params={"tail": tail})
        return response.text.splitlines()

    def wait_endpoint(self, name: str, timeout: float = 300, poll: float = 0.5) -> EndpointDescription:
        """Poll until the endpoint is running and its health route answers 200, as
        ``InferenceEndpoint.wait`` does; raise :class:`EndpointNotReady` if it fails, is paused, or is
        not ready within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            endpoint = self.describe_endpoint(name)
            if endpoint.state in FAILED_STATES:
                raise EndpointNotReady(name, endpoint.state, endpoint.message, "failed")
            if endpoint.state in STOPPED_STATES:
                raise EndpointNotReady(name, endpoint.state, endpoint.message, "will not start by itself")
            if endpoint.state == "running" and self._healthy(endpoint):
                return endpoint
            if time.monotonic() >= deadline:
                raise EndpointNotReady(
                    name, endpoint.state, endpoint.message, f"not ready after {timeout:g} s"
                )
            time.sleep(poll)

    def _healthy(self, endpoint: EndpointDescription) -> bool:
        if not endpoint.url:
            return False
        try:
            response = self._http.get(endpoint.url.rstrip("/") + endpoint.health_route)
        except httpx.TransportError:
            return False  # not listening yet: keep polling until the deadline
        return response.status_code == 200

    def _endpoint(
        self, method: str, name: str | None, action: str | None = None, **kwargs: Any
    ) -> EndpointDescription:
        path = self._endpoint_path(name) + (f"/{action}" if action else "")
        return EndpointDescription.from_json(self._request(method, path, **kwargs))

    def _endpoint_path(self, name: str | None) -> str:
        path = f"/v2/endpoint/{segment(self.namespace())}"
        return path if name is None else f"{path}/{segment(name)}"
