"""Virtual environments for the vector peers, one per peer under /tmp, with pinned versions.

    python benchmarks/vector_peer_envs.py chromadb lancedb qdrant   # create them ahead of a run

A peer's directory is named after its pins, so a change of version makes a new environment instead of
reusing one that holds another version. Each holds numpy and the peer's own packages, nothing of ours:
the workers import only ``benchmarks/`` (numpy and the standard library) from the source tree.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

NUMPY = "numpy==2.4.6"  # the version inferhouse's own environment has
PINS: dict[str, list[str]] = {
    "chromadb": ["chromadb==1.5.9"],
    "lancedb": ["lancedb==0.40.0", "pyarrow==26.0.1"],
    "qdrant": ["qdrant-client==1.20.0"],
}
# The peers' pyarrow also writes the Parquet files of the bulk import, when inferhouse's environment
# has none of its own.
PARQUET_PEER = "lancedb"


def env_dir(peer: str) -> Path:
    digest = hashlib.sha1(" ".join([NUMPY, *PINS[peer]]).encode()).hexdigest()[:8]
    return Path(f"/tmp/bench-ops-{peer}-{digest}")


def peer_python(peer: str) -> Path:
    """The peer's interpreter, creating its environment on first use (a minute or two per peer)."""
    env = env_dir(peer)
    python = env / "bin" / "python"
    ready = env / ".installed"
    if not ready.exists():
        print(f"creating {env} ({', '.join(PINS[peer])})...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                NUMPY,
                *PINS[peer],
            ],
            check=True,
        )
        ready.write_text(" ".join([NUMPY, *PINS[peer]]) + "\n")
    return python


if __name__ == "__main__":
    for name in sys.argv[1:] or list(PINS):
        print(name, peer_python(name))
