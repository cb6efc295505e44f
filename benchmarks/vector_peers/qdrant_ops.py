"""qdrant's local mode for ``vector_ops.py``: ``QdrantClient(path=...)``, no server; run with a Python that
has qdrant-client.

Local mode is qdrant-client's own in-process store, meant for development: it keeps every point in
memory, searches exactly (numpy over all vectors, filters evaluated point by point in Python), and
persists points to SQLite, which it reads back whole when the path is opened. Bulk add:
``upload_collection`` of 10,000 rows (numpy vectors, payloads, ids) in batches of 1,000. Filters are
``Filter(must=[FieldCondition(key, match=MatchValue(0))])``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.vector_ops_driver import Matrix, Memory, main, trimmed_memory


class Qdrant:
    name = "qdrant"
    add_batch = 10_000

    def __init__(self) -> None:
        import qdrant_client
        from qdrant_client import models

        self._qdrant, self._models = qdrant_client, models
        self.client: Any = None

    def settings(self) -> str:
        from importlib.metadata import version

        return f"qdrant-client {version('qdrant-client')} local mode (exact search)"

    def memory(self) -> Memory:
        return trimmed_memory()

    def start(self, directory: Path) -> None:
        self.client = self._qdrant.QdrantClient(path=str(directory))

    def create(self) -> None:
        models = self._models
        self.client.create_collection(
            "bench", vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE)
        )

    def prepare(self, first_id: int, rows: Matrix, metadata: dict[str, npt.NDArray[np.int16]]) -> Any:
        fields = {name: column.tolist() for name, column in metadata.items()}
        payload = [{name: fields[name][i] for name in fields} for i in range(len(rows))]
        return rows, payload, list(range(first_id, first_id + len(rows)))

    def add(self, prepared: Any) -> None:
        rows, payload, ids = prepared
        self.client.upload_collection("bench", vectors=rows, payload=payload, ids=ids, batch_size=1_000)

    def finish_load(self) -> dict[str, float]:
        return {}

    def open(self, directory: Path) -> float | None:
        self.client = self._qdrant.QdrantClient(path=str(directory))
        return None

    def settle(self) -> float:
        return 0.0

    def query(self, vector: Matrix, field: str | None) -> list[int]:
        models = self._models
        condition = (
            models.Filter(must=[models.FieldCondition(key=field, match=models.MatchValue(value=0))])
            if field
            else None
        )
        found = self.client.query_points(
            "bench", query=vector, limit=10, query_filter=condition, with_payload=False
        )
        return [int(point.id) for point in found.points]

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


if __name__ == "__main__":
    main(Qdrant())
