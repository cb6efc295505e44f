"""The benchmark's vectors as a bulk import in Pinecone's Parquet layout; run with a Python that has pyarrow.

    python parquet_layout.py N DIR

Writes ``DIR/__default__/part-NNNNN.parquet`` (the default namespace's directory), one file per 100,000
rows, with Pinecone's import columns: ``id`` (string), ``values`` (list of float32) and ``metadata`` (a
JSON object as a string), holding the same ids, vectors and metadata the other phases load.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.vector_data import DIMENSION, corpus_chunks
from benchmarks.vector_ops_driver import metadata_columns


def main() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, directory = int(sys.argv[1]), Path(sys.argv[2]) / "__default__"
    directory.mkdir(parents=True, exist_ok=True)
    columns = metadata_columns(n)
    first = 0
    for number, chunk in enumerate(corpus_chunks(n)):
        fields = {name: column[first : first + len(chunk)].tolist() for name, column in columns.items()}
        metadata = [json.dumps({name: fields[name][i] for name in fields}) for i in range(len(chunk))]
        table = pa.table(
            {
                "id": pa.array([str(first + i) for i in range(len(chunk))], pa.string()),
                "values": pa.ListArray.from_arrays(
                    pa.array(range(0, (len(chunk) + 1) * DIMENSION, DIMENSION), pa.int32()),
                    pa.array(chunk.ravel(), pa.float32()),
                ),
                "metadata": pa.array(metadata, pa.string()),
            }
        )
        pq.write_table(table, directory / f"part-{number:05d}.parquet")
        first += len(chunk)


if __name__ == "__main__":
    main()
