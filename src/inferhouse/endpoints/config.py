"""What an endpoint is: its configuration, its lifecycle state, and their JSON form (the management API's)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "pending"
    INITIALIZING = "initializing"
    UPDATING = "updating"
    UPDATE_FAILED = "updateFailed"
    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    SCALED_TO_ZERO = "scaledToZero"


# States in which a loaded model answers requests (an update that failed leaves the old one serving).
SERVING_STATES = frozenset({State.RUNNING, State.UPDATING, State.UPDATE_FAILED})
# States a restart brings back up by loading the model again.
RESTARTED_STATES = frozenset(
    {State.PENDING, State.INITIALIZING, State.RUNNING, State.UPDATING, State.UPDATE_FAILED}
)


class Access(StrEnum):
    PUBLIC = "public"  # no token
    PROTECTED = "protected"  # any valid token
    PRIVATE = "private"  # only tokens granted this endpoint


# Recent huggingface_hub clients call "protected" by its new name.
ACCESS_NAMES = {
    "public": Access.PUBLIC,
    "protected": Access.PROTECTED,
    "authenticated": Access.PROTECTED,
    "private": Access.PRIVATE,
}


@dataclass(frozen=True)
class ModelConfig:
    repository: str
    revision: str | None = None
    task: str | None = None
    framework: str = "pytorch"
    env: dict[str, str] = field(default_factory=dict)
    image: dict[str, Any] = field(default_factory=lambda: {"huggingface": {}})

    @property
    def backend(self) -> str | None:
        """``torch``, ``onnx`` or ``onnx-int8`` when the endpoint asks for one (``INFERHOUSE_BACKEND`` in its
        env, or framework ``onnx``); None leaves the choice to the server's setting."""
        asked = self.env.get("INFERHOUSE_BACKEND", "").strip().lower()
        if asked:
            return asked
        return "onnx" if self.framework.lower() == "onnx" else None

    @property
    def precision(self) -> str | None:
        """``auto``, ``float32``, ``float16`` or ``bfloat16`` when the endpoint asks for one
        (``INFERHOUSE_PRECISION`` in its env); None leaves the choice to the server's setting."""
        return self.env.get("INFERHOUSE_PRECISION", "").strip().lower() or None

    @property
    def trust_remote_code(self) -> bool:
        """Remote code runs only when the endpoint asks, as the toolkit's ``HF_TRUST_REMOTE_CODE``."""
        return self.env.get("HF_TRUST_REMOTE_CODE", "").strip().lower() in {"1", "true", "yes"}


class ScalingMetric(StrEnum):
    """What the autoscaler compares with the threshold (huggingface_hub's ``scaling_metric``)."""

    PENDING_REQUESTS = "pendingRequests"  # requests queued or running per replica
    HARDWARE_USAGE = "hardwareUsage"  # the server process's CPU utilisation, in percent


# The threshold an endpoint gets when it names a metric without one (or none at all).
DEFAULT_THRESHOLDS = {ScalingMetric.PENDING_REQUESTS: 1.5, ScalingMetric.HARDWARE_USAGE: 80.0}


@dataclass(frozen=True)
class ComputeConfig:
    accelerator: str = "cpu"
    instance_type: str = "intel-icl"
    instance_size: str = "x1"
    min_replica: int = 1
    max_replica: int = 1
    scale_to_zero_timeout: int | None = None  # minutes idle before unloading; needs min_replica 0
    # Sent as ``"measure": {metric: threshold}``; None: none was sent, pendingRequests at its default.
    scaling_metric: ScalingMetric | None = None
    scaling_threshold: float | None = None

    @property
    def replicas(self) -> int:
        """Copies loaded when the endpoint starts: its floor, max(1, minReplica); the autoscaler moves
        them between that floor and ``max_replica`` (minReplica 0 is what allows scaling to zero)."""
        return max(1, self.min_replica)

    @property
    def ceiling(self) -> int:
        """The most copies the autoscaler runs."""
        return max(self.replicas, self.max_replica)

    @property
    def metric(self) -> ScalingMetric:
        return self.scaling_metric or ScalingMetric.PENDING_REQUESTS

    @property
    def threshold(self) -> float:
        return self.scaling_threshold or DEFAULT_THRESHOLDS[self.metric]

    def measure_json(self) -> dict[str, float | None] | None:
        """The wire form of the metric and threshold, or None when none was set."""
        if self.scaling_metric is None:
            return None
        return {self.scaling_metric.value: self.scaling_threshold}


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    model: ModelConfig
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    type: str = "protected"
    provider: dict[str, str] = field(default_factory=lambda: {"vendor": "local", "region": "local"})

    @property
    def access(self) -> Access:
        return ACCESS_NAMES[self.type]

    def needs_reload(self, other: EndpointConfig) -> bool:
        """Whether moving from ``other`` to this configuration needs the model loaded again."""
        return (
            self.model != other.model
            or self.compute.accelerator != other.compute.accelerator
            or self.compute.min_replica != other.compute.min_replica
            or self.compute.max_replica != other.compute.max_replica
        )

    def with_task(self, task: str) -> EndpointConfig:
        return replace(self, model=replace(self.model, task=task))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class EndpointStatus:
    state: State = State.PENDING
    message: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    ready_replicas: int = 0


@dataclass
class StoredEndpoint:
    """One endpoint as stored: what was asked for, what last served successfully, and where it stands."""

    config: EndpointConfig
    status: EndpointStatus
    serving: EndpointConfig | None = None
    # The id of the token that created it (see Principal.id); None for endpoints declared in the settings
    # or stored before creators were recorded: only an admin manages those.
    creator: str | None = None
    # Which stored version this is, set by the store at each edit (``EndpointStore.edit``); "" for one
    # stored before revisions were kept.
    revision: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "creator": self.creator,
            "config": config_to_json(self.config),
            "serving": config_to_json(self.serving) if self.serving else None,
            "status": {
                "state": self.status.state.value,
                "message": self.status.message,
                "createdAt": self.status.created_at,
                "updatedAt": self.status.updated_at,
            },
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StoredEndpoint:
        status = raw["status"]
        return cls(
            config=config_from_json(raw["config"]),
            serving=config_from_json(raw["serving"]) if raw.get("serving") else None,
            creator=raw.get("creator"),
            revision=raw.get("revision") or "",
            status=EndpointStatus(
                state=State(status["state"]),
                message=status.get("message"),
                created_at=status["createdAt"],
                updated_at=status["updatedAt"],
            ),
        )

    def copy(self) -> StoredEndpoint:
        """A copy whose status can change without changing this one's."""
        return replace(self, status=replace(self.status))


def config_to_json(config: EndpointConfig) -> dict[str, Any]:
    """The configuration in the management API's camelCase shape (also how it is stored)."""
    model, compute = config.model, config.compute
    return {
        "name": config.name,
        "type": config.type,
        "model": {
            "repository": model.repository,
            "revision": model.revision,
            "task": model.task,
            "framework": model.framework,
            "image": model.image,
            "env": dict(model.env),
        },
        "compute": {
            "accelerator": compute.accelerator,
            "instanceType": compute.instance_type,
            "instanceSize": compute.instance_size,
            "scaling": {
                "minReplica": compute.min_replica,
                "maxReplica": compute.max_replica,
                "scaleToZeroTimeout": compute.scale_to_zero_timeout,
                "measure": compute.measure_json(),
            },
        },
        "provider": dict(config.provider),
    }


def config_from_json(raw: dict[str, Any]) -> EndpointConfig:
    model, compute = raw["model"], raw["compute"]
    scaling = compute.get("scaling") or {}
    return EndpointConfig(
        name=raw["name"],
        type=raw.get("type", "protected"),
        model=ModelConfig(
            repository=model["repository"],
            revision=model.get("revision"),
            task=model.get("task"),
            framework=model.get("framework") or "pytorch",
            env=dict(model.get("env") or {}),
            image=dict(model.get("image") or {"huggingface": {}}),
        ),
        compute=ComputeConfig(
            accelerator=compute.get("accelerator", "cpu"),
            instance_type=compute.get("instanceType", "intel-icl"),
            instance_size=compute.get("instanceSize", "x1"),
            min_replica=int(scaling.get("minReplica", 1)),
            max_replica=int(scaling.get("maxReplica", 1)),
            scale_to_zero_timeout=scaling.get("scaleToZeroTimeout"),
            **measure_from_json(scaling.get("measure")),
        ),
        provider=dict(raw.get("provider") or {"vendor": "local", "region": "local"}),
    )


def measure_from_json(measure: Any) -> dict[str, Any]:
    """``scaling_metric`` and ``scaling_threshold`` from a stored ``measure`` (checked when it was set)."""
    if not isinstance(measure, dict) or not measure:
        return {}
    metric, threshold = next(iter(measure.items()))
    return {
        "scaling_metric": ScalingMetric(metric),
        "scaling_threshold": None if threshold is None else float(threshold),
    }
