"""Schemathesis runs over every operation of the served OpenAPI document with all of its checks.

A real server (tests/support/server.py) holds a tiny embedding endpoint, a reranking endpoint, a vector
index, an index that embeds its records and an Elasticsearch inference endpoint; schemathesis.toml pins
the path parameters to them, so bodies reach the routes' real work rather than a 404. Destructive
operations are pinned to spares of their own, so the rest keep their targets for the whole run. The run
is bounded (examples per operation, one worker, a fixed seed) so it takes a minute or so. Operations
scoped out of a check are listed, with why, in schemathesis.toml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.models import build_tiny_cross_encoder
from tests.support.server import RunningServer, deploy_endpoint, start_server

HERE = Path(__file__).parent
CONFIG = HERE / "schemathesis.toml"
HOOKS = HERE / "schemathesis_hooks.py"
MAX_EXAMPLES = 10
SEED = 16


@pytest.fixture(scope="module")
def fuzzed_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, endpoint_model_dir: Path
) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path_factory.mktemp("schemathesis"),
        env={
            "INFERHOUSE_DEFAULT_ENDPOINT": "false",
            "INFERHOUSE_MODELS": json.dumps({"tiny": str(tiny_model_dir)}),
        },
    )
    try:
        for name in ("fuzz", "fuzz-spare"):
            deploy_endpoint(server, name, endpoint_model_dir, "feature-extraction")
        ranker = build_tiny_cross_encoder(tmp_path_factory.mktemp("ranker") / "model")
        deploy_endpoint(server, "fuzz-ranker", ranker, "sentence-ranking")
        _populate(server)
        yield server
    finally:
        server.stop()


def _call(server: RunningServer, method: str, path: str, body: object) -> None:
    reply = requests.request(method, server.url + path, json=body, headers=server.headers, timeout=60)
    assert reply.status_code < 300, reply.text


def _populate(server: RunningServer) -> None:
    index = {"name": "fuzz", "dimension": 32, "metric": "dotproduct"}
    for name in ("fuzz", "fuzz-configured", "fuzz-doomed"):
        _call(server, "POST", "/indexes", {**index, "name": name})
    vectors = [{"id": f"v{i}", "values": [float(i)] * 32, "metadata": {"n": i}} for i in range(3)]
    _call(server, "POST", "/indexes/fuzz/vectors/upsert", {"vectors": vectors, "namespace": "ns"})
    embed = {"model": "fuzz", "field_map": {"text": "text"}}
    _call(server, "POST", "/indexes/create-for-model", {"name": "fuzz-records", "embed": embed})
    es = {"service": "inferhouse", "service_settings": {"endpoint": "fuzz"}}
    for inference_id in ("fuzz", "fuzz-doomed"):
        _call(server, "PUT", f"/_inference/text_embedding/{inference_id}", es)
    # Load the serverless model now: a call that finds it loading is answered 503, a server error.
    reply = requests.post(
        server.url + "/models/tiny",
        json={"inputs": "warm"},
        headers={**server.headers, "x-wait-for-model": "true"},
        timeout=120,
    )
    assert reply.status_code == 200, reply.text


def test_every_operation_passes_every_check(fuzzed_server: RunningServer, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{fuzzed_server.url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {fuzzed_server.token}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One worker: Python 3.11's ast module is not thread-safe ("AST constructor recursion depth
        # mismatch"), and hypothesis parses sources while schemathesis builds data in its workers.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, env=env, cwd=tmp_path
    )
    (tmp_path / "schemathesis.out").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "Tested: " in run.stdout
    assert fuzzed_server.process.poll() is None
    assert "Traceback" not in fuzzed_server.log()
