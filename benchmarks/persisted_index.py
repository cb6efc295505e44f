"""The index a ``vector_ops.py --workdir W`` run left in ``W/inferhouse``, for the in-process profiles.

``index_open.py``, ``filter_want.py`` and ``gather_blocks.py`` take that data directory, the index's
name and where to write their results; the index is opened as ``vector_ops.py`` created it (384
dimensions, cosine).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

RESULTS = Path(__file__).resolve().parent / "results"


def profile_parser(doc: str | None, results_name: str) -> argparse.ArgumentParser:
    """A parser with the data directory, ``--name`` and ``--out`` (``results/<results_name>``)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, help="a data directory an inferhouse server wrote")
    parser.add_argument("--name", default="ops", help="the index's name")
    parser.add_argument("--out", type=Path, default=RESULTS / results_name)
    return parser


def store_path(directory: Path, name: str) -> Path:
    """The index's SQLite file, or exit with a message when there is none."""
    path = directory / "indexes" / f"{name}.sqlite3"
    if not path.exists():
        raise SystemExit(f"no index at {path}")
    return path


def open_index(path: Path, name: str) -> VectorIndex:
    return VectorIndex(IndexConfig(name, 384, Metric.COSINE), VectorStore(path))
