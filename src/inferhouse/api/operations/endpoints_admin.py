"""The Inference Endpoints management API (``/v2/endpoint/...``), in the shape huggingface_hub drives."""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from inferhouse.api.core.bodies import json_object, takes
from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.json_types import Integer
from inferhouse.api.core.openapi import SCHEMA_REF, json_body
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import Services, services
from inferhouse.api.core.validation import parse_as
from inferhouse.auth import ANONYMOUS, Principal
from inferhouse.endpoints.access import (
    check_create,
    check_manage,
    check_management_api,
    check_model,
    may_manage,
)
from inferhouse.endpoints.config import (
    ComputeConfig,
    EndpointConfig,
    ModelConfig,
    ScalingMetric,
    StoredEndpoint,
    config_to_json,
)
from inferhouse.errors import NotFound, ValidationFailed
from inferhouse.settings import ENDPOINT_NAME_PATTERN

# Any valid token passes the route class; what it may manage is decided per endpoint by `_managed`.
router = APIRouter(route_class=dialect_route(render_hf, policy="token"), tags=["Endpoint management"])

HEALTH_ROUTE = "/health"


class _Body(BaseModel):
    # Fields this server has no use for (privateService, route, tags, ...) are accepted and ignored.
    model_config = ConfigDict(extra="ignore")


class ScalingBody(_Body):
    minReplica: Integer = Field(1, ge=0)
    maxReplica: Integer = Field(1, ge=1)
    scaleToZeroTimeout: Integer | None = Field(None, ge=1, description="Minutes idle before unloading")
    measure: dict[str, float | None] | None = Field(
        None,
        description='The autoscaling metric and its threshold: {"pendingRequests": requests per replica} '
        'or {"hardwareUsage": CPU percent}; a null threshold takes the metric\'s default',
        json_schema_extra={
            "maxProperties": 1,
            "propertyNames": {"enum": [metric.value for metric in ScalingMetric]},
            "additionalProperties": {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]},
        },
    )

    def scaling_metric(self) -> tuple[ScalingMetric | None, float | None]:
        """The metric and threshold ``measure`` names, checked."""
        if not self.measure:
            return None, None
        if len(self.measure) > 1:
            raise ValidationFailed("scaling.measure names one metric: pendingRequests or hardwareUsage")
        name, threshold = next(iter(self.measure.items()))
        names = ", ".join(metric.value for metric in ScalingMetric)
        if name not in {metric.value for metric in ScalingMetric}:
            raise ValidationFailed(f"scaling metric must be one of {names}, got {name!r}")
        metric = ScalingMetric(name)
        if threshold is not None and not 0 < threshold < math.inf:
            raise ValidationFailed(f"scaling threshold of {name} must be a number above 0, got {threshold}")
        if metric is ScalingMetric.HARDWARE_USAGE and threshold is not None and threshold > 100:
            raise ValidationFailed(
                f"scaling threshold of hardwareUsage is a percentage, at most 100, got {threshold}"
            )
        return metric, threshold


class ComputeBody(_Body):
    accelerator: str = "cpu"
    instanceType: str = "intel-icl"
    instanceSize: str = "x1"
    scaling: ScalingBody = Field(default_factory=lambda: ScalingBody.model_validate({}))


class ModelBody(_Body):
    repository: str = Field(min_length=1, description="Hub id, local directory or the bundled model")
    revision: str | None = None
    task: str | None = None
    framework: str = "pytorch"
    image: dict[str, Any] | None = None
    env: dict[str, str] | None = None
    secrets: dict[str, str] | None = Field(
        None, description="Not supported: pass values in env", json_schema_extra={"maxProperties": 0}
    )

    @model_validator(mode="after")
    def _no_secrets(self) -> ModelBody:
        if self.secrets:
            raise ValueError("secrets are not supported by this server; pass values in model.env")
        return self


class EndpointBody(_Body):
    # The pattern is checked by the validator below, whose message says what a name may hold.
    name: str = Field(
        description="1-32 lowercase letters, digits and hyphens; no hyphen at either end",
        json_schema_extra={"pattern": ENDPOINT_NAME_PATTERN},
    )
    type: Literal["public", "protected", "authenticated", "private"] = "protected"
    model: ModelBody
    compute: ComputeBody = Field(default_factory=ComputeBody)
    provider: dict[str, str] | None = None

    @field_validator("name")
    @classmethod
    def _name_is_a_dns_label(cls, name: str) -> str:
        if not re.fullmatch(ENDPOINT_NAME_PATTERN, name):
            raise ValueError(
                f"{name!r} is not a valid endpoint name: use 1-32 lowercase letters, digits and hyphens, "
                "starting and ending with a letter or digit"
            )
        return name

    def to_config(self, max_replicas: int) -> EndpointConfig:
        scaling = self.compute.scaling
        if scaling.minReplica > scaling.maxReplica:
            raise ValidationFailed(
                f"minReplica ({scaling.minReplica}) cannot be above maxReplica ({scaling.maxReplica})"
            )
        if scaling.maxReplica > max_replicas:
            raise ValidationFailed(
                f"maxReplica {scaling.maxReplica} is above this server's limit of {max_replicas} "
                "(INFERHOUSE_MAX_REPLICAS)"
            )
        metric, threshold = scaling.scaling_metric()
        model = self.model
        return EndpointConfig(
            name=self.name,
            type=self.type,
            model=ModelConfig(
                repository=model.repository,
                revision=model.revision,
                task=model.task,
                framework=model.framework,
                env=dict(model.env or {}),
                image=dict(model.image or {"huggingface": {}}),
            ),
            compute=ComputeConfig(
                accelerator=self.compute.accelerator,
                instance_type=self.compute.instanceType,
                instance_size=self.compute.instanceSize,
                min_replica=scaling.minReplica,
                max_replica=scaling.maxReplica,
                scale_to_zero_timeout=scaling.scaleToZeroTimeout,
                scaling_metric=metric,
                scaling_threshold=threshold,
            ),
            provider=dict(self.provider or {"vendor": "local", "region": "local"}),
        )


def _changes_body() -> dict[str, Any]:
    """An update's body: any of the create body's fields but ``name`` (and of ``model``, any field), each
    with its create-time form, merged into the endpoint's configuration (``model.env`` whole)."""
    created = EndpointBody.model_json_schema(ref_template=SCHEMA_REF)
    definitions = created.pop("$defs")
    definitions["ModelChanges"] = {
        key: value for key, value in definitions["ModelBody"].items() if key != "required"
    }
    definitions["ModelChanges"]["title"] = "ModelChanges"
    properties = {key: value for key, value in created["properties"].items() if key != "name"}
    properties["model"] = {"$ref": SCHEMA_REF.format(model="ModelChanges")}
    definitions["EndpointChanges"] = {
        "type": "object",
        "title": "EndpointChanges",
        "description": "The fields to change; the rest keep their values",
        "properties": properties,
    }
    schema = {"$ref": SCHEMA_REF.format(model="EndpointChanges"), "$defs": definitions}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def endpoint_json(found: Services, record: StoredEndpoint, request: Request) -> dict[str, Any]:
    name = record.config.name
    status = record.status
    base = str(request.base_url).rstrip("/")
    reply = config_to_json(record.config)
    reply["status"] = {
        "state": status.state.value,
        "message": status.message,
        "errorMessage": status.message if status.state.value in ("failed", "updateFailed") else None,
        "url": f"{base}/endpoints/{name}",
        "private": None,
        "createdAt": status.created_at,
        "updatedAt": status.updated_at,
        "createdBy": {"id": "local", "name": found.settings.namespace},
        "updatedBy": {"id": "local", "name": found.settings.namespace},
        "readyReplica": found.endpoints.ready_replicas(name),
        "targetReplica": found.endpoints.target_replicas(name),
    }
    reply["healthRoute"] = HEALTH_ROUTE
    return reply


def _check_namespace(found: Services, namespace: str) -> None:
    if namespace != found.settings.namespace:
        raise NotFound(
            f"Namespace {namespace} not found: this server's namespace is {found.settings.namespace}"
        )


def _caller(found: Services, request: Request, namespace: str) -> Principal:
    """The token behind a management request (policy "token" guarantees one), in this namespace."""
    _check_namespace(found, namespace)
    return principal_of(request) or ANONYMOUS


def _managed(found: Services, request: Request, namespace: str, name: str) -> StoredEndpoint:
    """The endpoint a management route acts on, once the caller may manage it: every per-endpoint
    management route goes through here (the rules are in inferhouse.endpoints.access)."""
    principal = _caller(found, request, namespace)
    check_management_api(principal)
    record = found.endpoints.get(name)
    check_manage(principal, record)
    return record


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@router.get("/api/whoami-v2", summary="Who the token belongs to; its name is the endpoints' namespace")
async def whoami(request: Request) -> Response:
    found = services(request)
    principal = principal_of(request)
    return json_response(
        {
            "type": "user",
            "id": found.settings.namespace,
            "name": found.settings.namespace,
            "fullname": found.settings.namespace,
            "orgs": [],
            "auth": {
                "type": "access_token",
                "accessToken": {
                    "displayName": principal.name if principal else "anonymous",
                    "role": principal.role if principal else "none",
                },
            },
        }
    )


@router.get("/v2/endpoint/{namespace}", summary="List endpoints")
async def list_endpoints(namespace: str, request: Request) -> Response:
    found = services(request)
    principal = _caller(found, request, namespace)
    check_management_api(principal)
    mine = [record for record in found.endpoints if may_manage(principal, record)]
    return json_response({"items": [endpoint_json(found, record, request) for record in mine]})


@router.post(
    "/v2/endpoint/{namespace}",
    summary="Create an endpoint; its model loads in the background",
    openapi_extra=json_body(EndpointBody),
)
async def create_endpoint(namespace: str, request: Request) -> Response:
    found = services(request)
    principal = _caller(found, request, namespace)
    check_create(principal)
    body = parse_as(EndpointBody, await json_object(request))
    config = body.to_config(found.settings.max_replicas)
    check_model(principal, config.model, found.settings.model_roots)
    record = await found.endpoints.create(config, creator=principal.id)
    return json_response(endpoint_json(found, record, request))


@router.get("/v2/endpoint/{namespace}/{name}", summary="Describe an endpoint")
async def get_endpoint(namespace: str, name: str, request: Request) -> Response:
    found = services(request)
    return json_response(endpoint_json(found, _managed(found, request, namespace, name), request))


@router.put(
    "/v2/endpoint/{namespace}/{name}",
    summary="Update an endpoint; in-flight requests finish first",
    openapi_extra=_changes_body(),
)
async def update_endpoint(namespace: str, name: str, request: Request) -> Response:
    found = services(request)
    record = _managed(found, request, namespace, name)
    changes = await json_object(request)
    merged = _deep_merge(config_to_json(record.config), changes) | {"name": name}
    model = changes.get("model")
    if isinstance(model, dict):  # anything else is refused below, as the merged body's model
        if "env" in model:
            merged["model"]["env"] = model["env"]  # env is replaced as a whole, so keys can go
        if "repository" in model and "task" not in model:
            merged["model"]["task"] = None  # a new model brings its own task unless one is named
    scaling = changes.get("compute", {}).get("scaling") if isinstance(changes.get("compute"), dict) else None
    if isinstance(scaling, dict) and "measure" in scaling:
        merged["compute"]["scaling"]["measure"] = scaling["measure"]  # a new metric replaces the old
    config = parse_as(EndpointBody, merged).to_config(found.settings.max_replicas)
    principal = principal_of(request) or ANONYMOUS
    check_model(principal, config.model, found.settings.model_roots, before=record.config.model)
    record = await found.endpoints.update(name, config)
    return json_response(endpoint_json(found, record, request))


@router.delete("/v2/endpoint/{namespace}/{name}", summary="Delete an endpoint")
async def delete_endpoint(namespace: str, name: str, request: Request) -> Response:
    found = services(request)
    _managed(found, request, namespace, name)
    await found.endpoints.delete(name)
    return json_response({})


@router.post("/v2/endpoint/{namespace}/{name}/pause", summary="Pause: unload and refuse requests")
@takes("none")
async def pause_endpoint(namespace: str, name: str, request: Request) -> Response:
    found = services(request)
    _managed(found, request, namespace, name)
    return json_response(endpoint_json(found, await found.endpoints.pause(name), request))


@router.post(
    "/v2/endpoint/{namespace}/{name}/resume", summary="Resume a paused, scaled-to-zero or failed one"
)
@takes("none")
async def resume_endpoint(namespace: str, name: str, request: Request) -> Response:
    found = services(request)
    _managed(found, request, namespace, name)
    return json_response(endpoint_json(found, await found.endpoints.resume(name), request))


@router.post("/v2/endpoint/{namespace}/{name}/scale-to-zero", summary="Unload until the next request")
@takes("none")
async def scale_to_zero(namespace: str, name: str, request: Request) -> Response:
    found = services(request)
    _managed(found, request, namespace, name)
    return json_response(endpoint_json(found, await found.endpoints.scale_to_zero(name), request))


@router.get(
    "/v2/endpoint/{namespace}/{name}/logs",
    summary="Recent log lines of an endpoint, as text",
    response_class=PlainTextResponse,
)
async def endpoint_logs(
    namespace: str,
    name: str,
    request: Request,
    tail: int = Query(200, ge=1, le=1000, description="How many of the latest lines"),
) -> Response:
    found = services(request)
    _managed(found, request, namespace, name)
    lines = found.endpoints.logs.tail(name, tail)
    return PlainTextResponse("\n".join(lines) + ("\n" if lines else ""))


@router.get(
    "/v2/endpoint/{namespace}/{name}/metrics",
    summary="The endpoint's requests, errors and p50/p99 latency over the last hour, in 10-second buckets",
)
async def endpoint_metrics(
    namespace: str,
    name: str,
    request: Request,
    window: int = Query(3600, ge=10, le=3600, description="Seconds of history, up to an hour"),
) -> Response:
    found = services(request)
    _managed(found, request, namespace, name)
    return json_response(found.endpoints.history.series(name, window))
