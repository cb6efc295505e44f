"""Start and stop the infinity peer (its own venv, made by peers/infinity/setup.sh) for a benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests

INFINITY = Path(__file__).parent / "peers" / "infinity"


def start_infinity(model_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """infinity serving ``model_dir`` on 127.0.0.1:``port``, returned once its health route answers."""
    subprocess.run([str(INFINITY / "setup.sh")], check=True)  # a no-op once installed
    log = Path(tempfile.mkstemp(suffix=".infinity.log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(INFINITY / "serve.sh"), str(model_dir), str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"infinity exited; see {log}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    stop_infinity(process)
    raise RuntimeError(f"infinity did not start; see {log}")


def stop_infinity(process: subprocess.Popen[bytes]) -> None:
    """End infinity and what it started: serve.sh runs it in a session of its own."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
