"""The import contracts of pyproject.toml ([tool.importlinter], the layers of DESIGN.md) hold, and the
base modules load nothing above them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BASE = ("inferhouse.settings", "inferhouse.errors", "inferhouse.metrics", "inferhouse._version")


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_base_modules_and_the_version_load_nothing_above_them() -> None:
    # metrics once imported the engine's batcher, and the version came through the SDK's import.
    script = (
        f"import sys\nimport {', '.join(BASE)}\n"
        "print(' '.join(sorted(name for name in sys.modules if name.startswith('inferhouse.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ.copy()
    )
    assert set(done.stdout.split()) == {*BASE, "inferhouse._native"}
