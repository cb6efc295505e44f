"""chromadb for ``vector_ops.py`` (embedded ``PersistentClient``); run with a Python that has chromadb.

Same HNSW settings as ``chromadb_worker.py`` (M 16, ef_construction 100, ef_search 128, which reaches
recall@10 >= 0.95 unfiltered). Bulk add: ``collection.add`` of 5,000 rows with their metadata (its
largest batch is 5,461); chromadb builds its graph inside each add. Filters are ``where`` clauses.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.vector_ops_driver import Matrix, Memory, main, trimmed_memory

SEARCH_EF = 128


class Chroma:
    name = "chromadb"
    add_batch = 5_000

    def __init__(self) -> None:
        import chromadb

        self._chromadb = chromadb
        self.client: Any = None
        self.collection: Any = None

    def settings(self) -> str:
        return f"chromadb {self._chromadb.__version__}, HNSW M=16, ef_construction=100, ef_search={SEARCH_EF}"

    def memory(self) -> Memory:
        return trimmed_memory()

    def start(self, directory: Path) -> None:
        self.client = self._chromadb.PersistentClient(path=str(directory))

    def create(self) -> None:
        self.collection = self.client.create_collection(
            "bench",
            configuration={
                "hnsw": {
                    "space": "cosine",
                    "ef_construction": 100,
                    "ef_search": SEARCH_EF,
                    "max_neighbors": 16,
                }
            },
        )

    def prepare(self, first_id: int, rows: Matrix, metadata: dict[str, npt.NDArray[np.int16]]) -> Any:
        fields = {name: column.tolist() for name, column in metadata.items()}
        ids = [str(first_id + i) for i in range(len(rows))]
        return ids, rows, [{name: fields[name][i] for name in fields} for i in range(len(rows))]

    def add(self, prepared: Any) -> None:
        ids, rows, metadatas = prepared
        self.collection.add(ids=ids, embeddings=rows, metadatas=metadatas)

    def finish_load(self) -> dict[str, float]:
        return {}

    def open(self, directory: Path) -> float | None:
        self.collection = self._chromadb.PersistentClient(path=str(directory)).get_collection("bench")
        return None

    def settle(self) -> float:
        return 0.0

    def query(self, vector: Matrix, field: str | None) -> list[int]:
        where = {field: {"$eq": 0}} if field else None
        found = self.collection.query(query_embeddings=[vector], n_results=10, where=where, include=[])
        return [int(i) for i in found["ids"][0]]

    def close(self) -> None:
        pass


if __name__ == "__main__":
    main(Chroma())
