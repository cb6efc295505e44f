"""An approximate-nearest-neighbour graph (HNSW, from usearch) that only proposes candidates.

The exact float32 rows in the namespace (in memory, or in a file for a quantized index) rank the
candidates, so a quantized graph costs little recall and the scores are exact. A graph is saved beside
the store (:mod:`inferhouse.vectors.graph_files`) and loaded on open; what it lacks then is added in the
background, while queries score those rows exactly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.vectors.quantization import Quantization
from inferhouse.vectors.scoring import Metric

_USEARCH_METRICS = {Metric.COSINE: "cos", Metric.DOTPRODUCT: "ip", Metric.EUCLIDEAN: "l2sq"}

Keys = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class AnnSettings:
    """When and how a namespace gets a graph; see benchmarks/README.md for how these were chosen."""

    min_vectors: int = 20_000  # below this, exact search is as fast as the graph
    connectivity: int = 32
    expansion_add: int = 128
    # At least this many candidates are rescored exactly (more when top_k is large).
    candidates: int = 100
    # The nodes a search keeps in view (HNSW's ef, pgvector's hnsw.ef_search), at least the candidates
    # it returns. Wider costs graph time but no rescoring: it is how a large namespace whose
    # neighbourhoods are dense keeps its recall (benchmarks/README.md, ten million vectors).
    search_width: int = 100
    threads: int = 2


class AnnGraph:
    def __init__(
        self,
        dimension: int,
        metric: Metric,
        settings: AnnSettings,
        quantization: Quantization = Quantization.NONE,
    ) -> None:
        from usearch.index import Index

        self._settings = settings
        self._lock = threading.Lock()  # one writer or searcher at a time keeps the binding simple and safe
        # Cosine ignores length, so unit vectors fit 8-bit codes (a quarter of the float32 bytes); dot
        # product and distance need the lengths, so they keep 16-bit floats. Exact rescoring restores
        # the precision either way. A quantized index asks for the smallest codes whatever the metric:
        # 8 bits of each unit vector's direction, or its signs alone (1 bit, compared by Hamming
        # distance), and lets rescoring against the float32 rows restore the metric's exact order.
        self._binary = quantization is Quantization.BINARY
        self._unit = metric is Metric.COSINE or quantization is Quantization.INT8
        usearch_metric, dtype = (_USEARCH_METRICS[metric], "i8" if self._unit else "f16")
        if self._binary:
            usearch_metric, dtype = "hamming", "b1"
        elif quantization is Quantization.INT8:
            usearch_metric = "cos"
        self.shape: dict[str, Any] = {
            "ndim": dimension,
            "metric": usearch_metric,
            "dtype": dtype,
            "connectivity": settings.connectivity,
            "expansion_add": settings.expansion_add,
        }
        self._index = Index(**self.shape, expansion_search=settings.search_width)

    def __len__(self) -> int:
        return len(self._index)

    def add(self, keys: Keys, vectors: npt.NDArray[np.float32]) -> None:
        codes = self._codes(vectors)
        with self._lock:
            self._index.add(keys, codes, threads=self._settings.threads)

    def _codes(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[Any]:
        """What the graph stores of ``vectors`` (one row each): their signs packed 8 to a byte for a
        binary graph, unit vectors for an 8-bit one (usearch scales those to codes), else the vectors."""
        if self._binary:
            packed: npt.NDArray[np.uint8] = np.packbits(vectors > 0, axis=-1)
            return packed
        if self._unit:
            norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
            unit: npt.NDArray[np.float32] = vectors / np.maximum(norms, 1e-30)
            return unit
        return vectors

    def remove(self, keys: Keys) -> None:
        with self._lock:
            self._index.remove(keys)

    def save(self, path: Path) -> None:
        """Write the graph to ``path``. Saving only reads the graph, so searches go on meanwhile; it must
        not overlap :meth:`add` or :meth:`remove`, which is why the one thread that changes graphs (the
        index's upkeep) is the one that saves them."""
        self._index.save(str(path))

    def load(self, path: Path) -> None:
        """Replace the graph with the one saved at ``path`` (built with the same :attr:`shape`)."""
        with self._lock:
            self._index.load(str(path))

    def search(self, query: npt.NDArray[np.float32], count: int) -> Keys:
        codes = self._codes(query)
        with self._lock:
            matches = self._index.search(codes, count=count, threads=1)
        keys: Keys = np.asarray(matches.keys, dtype=np.uint64)
        return keys
