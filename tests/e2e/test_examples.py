"""The examples run as the README says to run them (``./scripts/example NAME``), against a real server.

The script installs the examples' own requirements; running it here proves a fresh checkout has them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.server import RunningServer

ROOT = Path(__file__).resolve().parents[2]


def test_rag_tutorial_finds_the_exceptions_topic(server: RunningServer) -> None:
    env = {**os.environ, "INFERHOUSE_URL": server.url, "INFERHOUSE_TOKEN": server.token or ""}
    env.pop("HF_HUB_OFFLINE", None)
    result = subprocess.run(
        [str(ROOT / "scripts" / "example"), "rag_tutorial", "How do I catch an exception?"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("indexed ")
    top5 = lines[2:7]
    assert len(top5) == 5
    assert any("exception" in line.lower() or "try" in line.lower() for line in top5[:2]), result.stdout
