"""Bulk import against the upsert API, through HTTP with the real ``pinecone`` client, in one run.

    nice -n 10 python benchmarks/vector_import.py [--vectors 200000] [--batch 200]

One ``inferhouse serve`` (embedded backend, no model endpoints). The same ``--vectors`` vectors
(``vector_data.py``'s mixture, 384 dimensions) with a small metadata object each are loaded twice into two
fresh indexes: once with ``Index.upsert`` in batches of ``--batch`` (200: the most that fits the 2 MB
request limit at 384 dimensions, as users load with the client; the
time of building the request lists is excluded, only the calls are timed), once with ``start_import``
from Parquet files in Pinecone's layout (written beforehand, not timed), timed from the call until
``describe_import`` reads Completed (polled every 50 ms). Then ``inferhouse index export`` of the
imported index is timed too. Results go to ``results/vector_import.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pinecone import Pinecone
from tests.support.parquet_layout import write_namespace
from tests.support.server import start_server

from benchmarks.vector_data import corpus_chunks

DIMENSION = 384
RESULTS = Path(__file__).parent / "results" / "vector_import.json"


def _metadata(position: int) -> dict[str, Any]:
    return {"source": f"doc-{position // 10}", "chunk": position % 10}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=200)  # 2 MB per request: 200 x 384 floats as JSON
    args = parser.parse_args()
    vectors = np.concatenate([chunk for chunk in corpus_chunks(args.vectors)])
    ids = [f"v{i}" for i in range(len(vectors))]
    metadata = [_metadata(i) for i in range(len(vectors))]
    result: dict[str, Any] = {"vectors": len(vectors), "dimension": DIMENSION, "batch": args.batch}
    with tempfile.TemporaryDirectory(prefix="vector-import-") as scratch:
        root = Path(scratch) / "source"
        per_file = 100_000
        for start in range(0, len(vectors), per_file):
            stop = start + per_file
            write_namespace(
                root,
                "",
                ids[start:stop],
                vectors[start:stop],
                metadata=metadata[start:stop],
                file_name=f"{start // per_file}.parquet",
            )
        server = start_server(Path(scratch) / "data", env={"INFERHOUSE_DEFAULT_ENDPOINT": "false"})
        try:
            with Pinecone(api_key=server.token, host=server.url) as pc:
                for name in ("upserted", "imported"):
                    pc.create_index(name, dimension=DIMENSION, metric="cosine")
                with pc.Index("upserted") as index:
                    result["upsert_api"] = _upsert(index, ids, vectors, metadata, args.batch)
                with pc.Index("imported") as index:
                    result["import"] = _import(index, root)
                    assert index.describe_index_stats().total_vector_count == len(vectors)
            result["export"] = _export(server.url, server.token or "", Path(scratch) / "export")
        finally:
            server.stop()
    result["import_vs_upsert_api"] = round(result["import"]["per_s"] / result["upsert_api"]["per_s"], 1)
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _upsert(
    index: Any, ids: list[str], vectors: np.ndarray, metadata: list[Any], batch: int
) -> dict[str, Any]:
    spent = 0.0
    for start in range(0, len(ids), batch):
        records = [
            {"id": ids[i], "values": vectors[i].tolist(), "metadata": metadata[i]}
            for i in range(start, min(start + batch, len(ids)))
        ]
        began = time.perf_counter()
        index.upsert(vectors=records)
        spent += time.perf_counter() - began
    return {"seconds": round(spent, 2), "per_s": round(len(ids) / spent)}


def _import(index: Any, root: Path) -> dict[str, Any]:
    began = time.perf_counter()
    started = index.start_import(uri=str(root))
    while (status := index.describe_import(started.id)).status not in ("Completed", "Failed", "Cancelled"):
        time.sleep(0.05)
    spent = time.perf_counter() - began
    assert status.status == "Completed", status
    return {"seconds": round(spent, 2), "per_s": round(status.records_imported / spent)}


def _export(url: str, token: str, target: Path) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INFERHOUSE_")}
    env.update({"INFERHOUSE_URL": url, "INFERHOUSE_TOKEN": token})
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "inferhouse", "index", "export", "imported", str(target)],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    spent = time.perf_counter() - began
    written = sum(path.stat().st_size for path in target.rglob("*.parquet"))
    return {"seconds": round(spent, 2), "parquet_bytes": written}


if __name__ == "__main__":
    main()
