"""``inferhouse endpoints``: manage inference endpoints (the Hugging Face Inference Endpoints API)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer

from inferhouse.cli._common import (
    DEFAULT_BASE_URL,
    DataDirOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    describe,
    fail,
    new_table,
    print_result,
)
from inferhouse.client._endpoints import scaling_measure

app = typer.Typer(
    help="Create, inspect, update, pause, resume and delete inference endpoints "
    "(the Hugging Face Inference Endpoints API).",
    no_args_is_help=True,
)


class Access(StrEnum):
    """Who may call an endpoint; ``authenticated`` is the newer name of ``protected``."""

    PUBLIC = "public"
    PROTECTED = "protected"
    AUTHENTICATED = "authenticated"
    PRIVATE = "private"


class Accelerator(StrEnum):
    CPU = "cpu"
    GPU = "gpu"


# One Option each, shared by create (defaults) and update (None: leave as is); typer copies them per use.
_REPOSITORY = typer.Option(help="Model repository on the Hub, e.g. sentence-transformers/all-MiniLM-L6-v2")
_TASK = typer.Option(help="Task to serve, e.g. sentence-embeddings (default: the model's own)")
_REVISION = typer.Option(help="Branch, tag or commit of the repository")
_FRAMEWORK = typer.Option(help="Framework of the model weights")
_ACCELERATOR = typer.Option(help="Run the model on the CPU or a GPU")
_INSTANCE_TYPE = typer.Option(help="Instance type, as Inference Endpoints names it")
_INSTANCE_SIZE = typer.Option(help="Instance size, as Inference Endpoints names it")
_MIN_REPLICA = typer.Option(min=0, help="Fewest replicas; 0 lets the endpoint scale to zero")
_MAX_REPLICA = typer.Option(min=1, help="Most replicas")
_SCALE_TO_ZERO = typer.Option(
    "--scale-to-zero-timeout", min=1, metavar="MINUTES", help="Idle minutes before scaling to zero"
)
_SCALING_METRIC = typer.Option(
    "--scaling-metric",
    metavar="pendingRequests|hardwareUsage",
    help="What the autoscaler watches: requests queued or running per replica (pendingRequests, the "
    "default) or the server's CPU use in percent (hardwareUsage)",
    show_default=False,
)
_SCALING_THRESHOLD = typer.Option(
    "--scaling-threshold",
    metavar="NUMBER",
    help="Add a replica while the metric stays above this (requests per replica, or CPU percent up to "
    "100); default 1.5 for pendingRequests, 80 for hardwareUsage",
    show_default=False,
)
_ACCESS = typer.Option(
    "--type",
    help="Who may call it: anyone (public), any token (protected, or its new name authenticated), "
    "or only the admin and tokens granted it (private)",
)
_ENV = typer.Option(
    "--env", metavar="KEY=VALUE", help="Environment variable for the model (repeat for several)"
)
WaitOption = Annotated[bool, typer.Option(help="Wait until the endpoint is running and healthy")]
TimeoutOption = Annotated[float, typer.Option(min=1, help="How many seconds --wait waits")]


def _scaling(metric: str | None, threshold: str | None) -> tuple[str | None, float | None]:
    """The metric (its exact name, None when not given) and threshold, checked before anything is sent:
    a bad one ends the command with one line (exit 2)."""
    try:
        measure = scaling_measure(metric, threshold)
    except ValueError as error:
        raise fail(str(error), 2) from None
    if measure is None:
        return None, None
    [(name, value)] = measure.items()
    return (None if metric is None else name), value


@contextmanager
def _refused_scaling() -> Iterator[None]:
    """A threshold alone is checked against the endpoint's own metric once it is known (the SDK asks the
    server): refused, it ends the command as a bad option does."""
    try:
        yield
    except ValueError as error:
        raise fail(str(error), 2) from None


def _env_vars(pairs: list[str] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--env takes KEY=VALUE, not {pair!r}", 2)
        env[key] = value
    return env


@app.command("create")
def endpoints_create(
    name: Annotated[str, typer.Argument(help="Endpoint name, unique on the server")],
    repository: Annotated[str, _REPOSITORY],
    task: Annotated[str | None, _TASK] = None,
    revision: Annotated[str | None, _REVISION] = None,
    framework: Annotated[str, _FRAMEWORK] = "pytorch",
    accelerator: Annotated[Accelerator, _ACCELERATOR] = Accelerator.CPU,
    instance_type: Annotated[str, _INSTANCE_TYPE] = "intel-icl",
    instance_size: Annotated[str, _INSTANCE_SIZE] = "x1",
    min_replica: Annotated[int, _MIN_REPLICA] = 1,
    max_replica: Annotated[int, _MAX_REPLICA] = 1,
    scale_to_zero_timeout: Annotated[int | None, _SCALE_TO_ZERO] = None,
    scaling_metric: Annotated[str | None, _SCALING_METRIC] = None,
    scaling_threshold: Annotated[str | None, _SCALING_THRESHOLD] = None,
    access: Annotated[Access, _ACCESS] = Access.PROTECTED,
    env: Annotated[list[str] | None, _ENV] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an endpoint that serves a model."""
    variables = _env_vars(env)
    metric, threshold = _scaling(scaling_metric, scaling_threshold)
    with connect(url, token, data_dir) as client:
        endpoint = client.create_endpoint(
            name,
            repository,
            task=task,
            revision=revision,
            framework=framework,
            accelerator=accelerator.value,
            instance_type=instance_type,
            instance_size=instance_size,
            min_replica=min_replica,
            max_replica=max_replica,
            scale_to_zero_timeout=scale_to_zero_timeout,
            scaling_metric=metric,
            scaling_threshold=threshold,
            type=access.value,
            env=variables,
        )
        if wait:
            endpoint = client.wait_endpoint(name, timeout)
    describe(endpoint, as_json)


@app.command("list")
def endpoints_list(
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the endpoints."""
    with connect(url, token, data_dir) as client:
        endpoints = client.list_endpoints()
    table = new_table("name", "state", "repository", "task", "replicas", "url")
    for endpoint in endpoints:
        replicas = f"{endpoint.ready_replicas}/{endpoint.target_replicas}"
        table.add_row(
            endpoint.name, endpoint.state, endpoint.repository, endpoint.task, replicas, endpoint.url
        )
    print_result(as_json, [dataclasses.asdict(endpoint) for endpoint in endpoints], table)


@app.command("describe")
def endpoints_describe(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Describe an endpoint: its model, compute, state and URL."""
    with connect(url, token, data_dir) as client:
        describe(client.describe_endpoint(name), as_json)


@app.command("update")
def endpoints_update(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    repository: Annotated[str | None, _REPOSITORY] = None,
    task: Annotated[str | None, _TASK] = None,
    revision: Annotated[str | None, _REVISION] = None,
    framework: Annotated[str | None, _FRAMEWORK] = None,
    accelerator: Annotated[Accelerator | None, _ACCELERATOR] = None,
    instance_type: Annotated[str | None, _INSTANCE_TYPE] = None,
    instance_size: Annotated[str | None, _INSTANCE_SIZE] = None,
    min_replica: Annotated[int | None, _MIN_REPLICA] = None,
    max_replica: Annotated[int | None, _MAX_REPLICA] = None,
    scale_to_zero_timeout: Annotated[int | None, _SCALE_TO_ZERO] = None,
    scaling_metric: Annotated[str | None, _SCALING_METRIC] = None,
    scaling_threshold: Annotated[str | None, _SCALING_THRESHOLD] = None,
    access: Annotated[Access | None, _ACCESS] = None,
    env: Annotated[list[str] | None, _ENV] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an endpoint; only the options given change (a threshold alone keeps the endpoint's metric)."""
    variables = _env_vars(env)
    metric, threshold = _scaling(scaling_metric, scaling_threshold)
    with connect(url, token, data_dir) as client:
        with _refused_scaling():
            endpoint = client.update_endpoint(
                name,
                repository=repository,
                task=task,
                revision=revision,
                framework=framework,
                accelerator=None if accelerator is None else accelerator.value,
                instance_type=instance_type,
                instance_size=instance_size,
                min_replica=min_replica,
                max_replica=max_replica,
                scale_to_zero_timeout=scale_to_zero_timeout,
                scaling_metric=metric,
                scaling_threshold=threshold,
                type=None if access is None else access.value,
                env=variables,
            )
        if wait:
            endpoint = client.wait_endpoint(name, timeout)
    describe(endpoint, as_json)


@app.command("pause")
def endpoints_pause(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pause an endpoint: it stops serving and frees its model until resumed."""
    with connect(url, token, data_dir) as client:
        describe(client.pause_endpoint(name), as_json)


@app.command("resume")
def endpoints_resume(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resume a paused or scaled-to-zero endpoint; one already running is left as it is."""
    with connect(url, token, data_dir) as client:
        endpoint = client.resume_endpoint(name)
        if wait:
            endpoint = client.wait_endpoint(name, timeout)
    describe(endpoint, as_json)


@app.command("scale-to-zero")
def endpoints_scale_to_zero(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Scale an endpoint to zero replicas now; the next request loads it again (503 until loaded)."""
    with connect(url, token, data_dir) as client:
        describe(client.scale_endpoint_to_zero(name), as_json)


@app.command("delete")
def endpoints_delete(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking")] = False,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete an endpoint; it stops serving at once."""
    if not yes:
        typer.confirm(f"Delete endpoint {name}?", abort=True)
    with connect(url, token, data_dir) as client:
        client.delete_endpoint(name)
    typer.echo(json.dumps({"deleted": name}) if as_json else f"deleted endpoint {name}")


@app.command("logs")
def endpoints_logs(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    tail: Annotated[int, typer.Option(min=1, help="How many of the last lines")] = 100,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print an endpoint's last log lines, oldest first."""
    with connect(url, token, data_dir) as client:
        lines = client.endpoint_logs(name, tail)
    typer.echo(json.dumps(lines, indent=2) if as_json else "\n".join(lines))
