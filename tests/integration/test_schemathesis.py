"""Schemathesis runs over every operation of the served OpenAPI document with all of its checks.

A real server (tests/support/server.py) is started with an admin token, which schemathesis sends as
``Authorization: Bearer``; the run is bounded (examples per operation, two workers) so it takes a few
minutes at most. Operations scoped out of a check are listed, with why, in schemathesis.toml.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, start_server

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 10
SEED = 16


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # No model endpoints: schemathesis draws names at random, so model routes answer 404 in the
    # dialect's shape; the embedding and vector routes are exercised against real data elsewhere.
    server = start_server(
        tmp_path_factory.mktemp("schemathesis"), env={"INFERHOUSE_DEFAULT_ENDPOINT": "false"}
    )
    yield server
    server.stop()


@pytest.mark.xfail(
    strict=True,
    reason="Open disagreements: Pinecone query/delete need 'exactly one of' in the document, upsert and "
    "records search bodies, create-index edge cases, fetch's 400 content type, NDJSON serialization",
)
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
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "Tested: " in run.stdout
    assert fuzzed_server.process.poll() is None
    assert "Traceback" not in fuzzed_server.log()
