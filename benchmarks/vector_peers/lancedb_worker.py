"""lancedb (embedded) on the benchmark data; run with a Python that has lancedb and pyarrow.

Each add of 1000 vectors is a committed Lance version: written to the OS, so it survives a crash of
the process, but not fsynced (inferhouse syncs every batch). Its ANN index (IVF_PQ) is built once
after loading, as lancedb recommends, and counted separately; queries refine PQ candidates exactly.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.vector_data import DIMENSION, queries
from benchmarks.vector_workers import UPSERT_ONLY, batches, recall, rss_bytes

NPROBES = 128
REFINE = 20


def main() -> None:
    import lancedb
    import numpy as np
    import pyarrow as pa

    n, directory = int(sys.argv[2]), Path(sys.argv[3])
    truth = np.load(directory / "truth.npy")
    query_set = queries(len(truth))
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("vector", pa.list_(pa.float32(), DIMENSION))])
    with tempfile.TemporaryDirectory(dir=directory) as workdir:
        before = rss_bytes()
        table = lancedb.connect(workdir).create_table("bench", schema=schema)
        upsert_s = 0.0
        for first, rows in batches(n):
            started = time.perf_counter()
            vectors = pa.FixedSizeListArray.from_arrays(pa.array(rows.ravel()), DIMENSION)
            ids = pa.array(np.arange(first, first + len(rows)))
            table.add(pa.Table.from_arrays([ids, vectors], schema=schema))
            upsert_s += time.perf_counter() - started
        if UPSERT_ONLY:
            (directory / "lancedb.json").write_text(json.dumps({"upsert_per_s": n / upsert_s}))
            return
        started = time.perf_counter()
        table.optimize()
        partitions = max(16, int(np.sqrt(n)))
        table.create_index(
            metric="cosine", vector_column_name="vector", num_partitions=partitions, num_sub_vectors=48
        )
        index_s = time.perf_counter() - started
        found = []
        started = time.perf_counter()
        for query in query_set:
            hits = (
                table.search(query)
                .metric("cosine")
                .nprobes(NPROBES)
                .refine_factor(REFINE)
                .limit(10)
                .to_list()
            )
            found.append([int(hit["id"]) for hit in hits])
        query_s = time.perf_counter() - started
        memory = rss_bytes() - before
    out = {
        "upsert_per_s": n / upsert_s,
        "index_build_s": index_s,
        "queries_per_s": len(query_set) / query_s,
        "recall_at_10": recall(found, truth),
        "memory_bytes": memory,
        "settings": f"IVF_PQ {partitions} partitions, 48 sub-vectors, "
        f"nprobes={NPROBES}, refine_factor={REFINE}",
    }
    (directory / "lancedb.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
