"""`pip install inferhouse` is the Python SDK alone: a fresh venv gets it with httpx and without the
server's stack (torch, numpy, FastAPI ...). The install resolves from the package index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("torch", "numpy", "fastapi", "uvicorn", "transformers", "sentence-transformers", "pydantic")

CHECK = f"""
import importlib.metadata, sys
import inferhouse.client
from inferhouse import Client, __version__
assert Client is inferhouse.client.Client and __version__ == importlib.metadata.version("inferhouse")
installed = {{dist.metadata["Name"].lower() for dist in importlib.metadata.distributions()}}
assert "httpx" in installed, installed
present = installed & set({SERVER_ONLY!r})
assert not present, f"the SDK pulled in {{sorted(present)}}"
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("torch", "numpy", "fastapi"))
assert not loaded, loaded
"""


def test_the_sdk_installs_alone_without_the_server_stack(tmp_path: Path) -> None:
    # A copy of what the build reads, so building leaves nothing (egg-info, build/) in the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # The venv gets no pip of its own; this interpreter's pip installs into it (pip --python).
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(source)],
        env=env,
        check=True,
    )
    subprocess.run([str(python), "-c", CHECK], env=env, check=True, cwd=tmp_path)
