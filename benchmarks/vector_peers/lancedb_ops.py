"""lancedb for ``vector_ops.py`` (embedded); run with a Python that has lancedb and pyarrow.

Bulk add: ``table.add`` of an Arrow table of 100,000 rows (ids, vectors, the three metadata columns).
Then, timed apart as lancedb advises building indexes after loading: ``optimize``, an IVF_PQ index
(sqrt(N) partitions, 48 sub-vectors, as ``lancedb_worker.py``) and a bitmap scalar index per metadata
column. Queries probe an eighth of the partitions (at least 16), or ``VECTOR_OPS_LANCEDB_NPROBES`` of
them where that is set (``vector_ops.py --lancedb-probes`` sweeps it), and refine 20x10 candidates
exactly; filters are SQL ``where`` clauses applied before the vector search (``prefilter=True``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.vector_data import DIMENSION
from benchmarks.vector_ops_driver import SELECTIVITIES, Matrix, Memory, main, trimmed_memory

REFINE = 20
NPROBES_VARIABLE = "VECTOR_OPS_LANCEDB_NPROBES"


class Lance:
    name = "lancedb"
    add_batch = 100_000

    def __init__(self) -> None:
        import lancedb
        import pyarrow as pa

        self._lancedb, self._pa = lancedb, pa
        self.db: Any = None
        self.table: Any = None
        self.partitions = 0
        self.nprobes = 0
        self.schema = pa.schema(
            [pa.field("id", pa.int64()), pa.field("vector", pa.list_(pa.float32(), DIMENSION))]
            + [pa.field(field, pa.int16()) for field, _ in SELECTIVITIES.values()]
        )

    def _tune(self, n: int) -> None:
        self.partitions = max(16, int(np.sqrt(n)))
        self.nprobes = int(os.environ.get(NPROBES_VARIABLE) or max(16, self.partitions // 8))

    def settings(self) -> str:
        return (
            f"lancedb {self._lancedb.__version__}, IVF_PQ {self.partitions} partitions, 48 sub-vectors, "
            f"nprobes={self.nprobes}, refine_factor={REFINE}, bitmap indexes on the filter columns, prefilter"
        )

    def memory(self) -> Memory:
        return trimmed_memory()

    def start(self, directory: Path) -> None:
        self.db = self._lancedb.connect(str(directory))

    def create(self) -> None:
        self.table = self.db.create_table("bench", schema=self.schema)

    def prepare(self, first_id: int, rows: Matrix, metadata: dict[str, npt.NDArray[np.int16]]) -> Any:
        return first_id, rows, metadata

    def add(self, prepared: Any) -> None:
        pa = self._pa
        first_id, rows, metadata = prepared
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(rows.ravel()), DIMENSION)
        ids = pa.array(np.arange(first_id, first_id + len(rows)))
        columns = [ids, vectors] + [pa.array(metadata[field]) for field, _ in SELECTIVITIES.values()]
        self.table.add(pa.Table.from_arrays(columns, schema=self.schema))

    def finish_load(self) -> dict[str, float]:
        self._tune(self.table.count_rows())
        self.table.optimize()
        from lancedb.index import Bitmap, IvfPq

        self.table.create_index(
            "vector", config=IvfPq(distance_type="cosine", num_partitions=self.partitions, num_sub_vectors=48)
        )
        for field, _ in SELECTIVITIES.values():
            self.table.create_index(field, config=Bitmap())
        return {}

    def open(self, directory: Path) -> float | None:
        self.table = self._lancedb.connect(str(directory)).open_table("bench")
        self._tune(self.table.count_rows())
        return None

    def settle(self) -> float:
        return 0.0

    def query(self, vector: Matrix, field: str | None) -> list[int]:
        search = self.table.search(vector).metric("cosine").nprobes(self.nprobes).refine_factor(REFINE)
        if field:
            search = search.where(f"{field} = 0", prefilter=True)
        found = search.limit(10).select(["id", "_distance"]).to_arrow()
        return [int(i) for i in found.column("id").to_pylist()]

    def close(self) -> None:
        pass


if __name__ == "__main__":
    main(Lance())
