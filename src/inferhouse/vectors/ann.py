"""An approximate-nearest-neighbour graph (HNSW, from usearch) that only proposes candidates.

A namespace's graph is a list of *segments*, each a usearch graph of at most ``segment_vectors`` keys:
new keys go to the first segment with room (so rewritten rows refill the segments they left instead of
adding segments), a segment left empty is dropped, and a search asks every segment and keeps the
nearest by graph distance. A graph of a million keeps the recall that one of ten million loses (a
query's neighbourhood there is ten times as crowded and a search of the same width misses more of it),
and ten of them built in about half the time of the one large graph at 10M (benchmarks/README.md).

The exact float32 rows in the namespace (in memory, or in a file for a quantized index) rank the
candidates, so a quantized graph costs little recall and the scores are exact. A graph is saved beside
the store (:mod:`inferhouse.vectors.graph_files`) and loaded on open; what it lacks then is added in the
background, while queries score those rows exactly.
"""

from __future__ import annotations

import math
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
    # A segment holds at most this many keys; past it the graph starts another (see the module's text).
    segment_vectors: int = 1_000_000


class AnnGraph:
    def __init__(
        self,
        dimension: int,
        metric: Metric,
        settings: AnnSettings,
        quantization: Quantization = Quantization.NONE,
    ) -> None:
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
        self._segments = [self._new_segment()]

    def _new_segment(self) -> Any:
        from usearch.index import Index

        return Index(**self.shape, expansion_search=self._settings.search_width)

    def __len__(self) -> int:
        return sum(len(segment) for segment in self._segments)

    @property
    def segments(self) -> int:
        return len(self._segments)

    def add(self, keys: Keys, vectors: npt.NDArray[np.float32]) -> None:
        codes = self._codes(vectors)
        with self._lock:
            start = 0
            for segment in self._segments:
                room = self._settings.segment_vectors - len(segment)
                if room > 0 and start < len(keys):
                    segment.add(
                        keys[start : start + room],
                        codes[start : start + room],
                        threads=self._settings.threads,
                    )
                    start += room
            while start < len(keys):
                self._segments.append(self._new_segment())
                end = start + self._settings.segment_vectors
                self._segments[-1].add(keys[start:end], codes[start:end], threads=self._settings.threads)
                start = end

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
            for segment in self._segments:  # a segment that lacks a key ignores it
                segment.remove(keys)
            kept = [segment for segment in self._segments if len(segment)]
            self._segments = kept or self._segments[:1]

    def stored(self, keys: Keys) -> npt.NDArray[np.float32]:
        """What the graph holds for each key, decoded to float32 (NaN where no segment holds it): how a
        check tells that a key still stands for the vector it was added with."""
        found = np.full((len(keys), int(self.shape["ndim"])), np.nan, dtype=np.float32)
        with self._lock:
            for segment in self._segments:
                held = np.asarray(segment.contains(keys), dtype=bool)
                if held.any():
                    found[held] = np.asarray(segment.get(keys[held], dtype=np.float32), dtype=np.float32)
        return found

    def save(self, path: Path) -> list[Path]:
        """Write the graph: its first segment to ``path``, each other beside it; returns the files in
        order. Saving only reads the graph, so searches go on meanwhile; it must not overlap :meth:`add`
        or :meth:`remove`, which is why the one thread that changes graphs (the index's upkeep) is the
        one that saves them."""
        paths = [path, *(path.with_name(f"{path.name}.{number}") for number in range(1, len(self._segments)))]
        for segment, segment_path in zip(self._segments, paths, strict=True):
            segment.save(str(segment_path))
        return paths

    def load(self, paths: list[Path]) -> None:
        """Replace the graph with the segments saved at ``paths`` (built with the same :attr:`shape`)."""
        segments = []
        for segment_path in paths:
            segment = self._new_segment()
            segment.load(str(segment_path))
            segments.append(segment)
        with self._lock:
            self._segments = segments or [self._new_segment()]

    def search(self, query: npt.NDArray[np.float32], count: int) -> Keys:
        """The keys of about ``count`` vectors nearest ``query``, nearest first."""
        codes = self._codes(query)
        with self._lock:
            if len(self._segments) > 1:
                return _nearest_in_segments(self._segments, codes, count, 2 * self._settings.search_width)
            matches = self._segments[0].search(codes, count=count, threads=1)
        keys: Keys = np.asarray(matches.keys, dtype=np.uint64)
        return keys


def _nearest_in_segments(segments: list[Any], codes: npt.NDArray[Any], count: int, shallow: int) -> Keys:
    """The ``count`` nearest over every segment, merged by graph distance (codes of one kind compare
    across segments).

    A search costs about what it is asked for once that passes the search width, so ten segments asked
    for all of a 1% filter's 2,000 would cost ten times one graph. Each segment is asked for all of
    ``count`` only up to ``shallow`` (twice the search width, which costs little more than the width
    itself and keeps a 10% filter's search as deep in each segment as in one graph of its size), and
    beyond that for twice its share of ``count`` (by its size) and 10 more. A segment whose every answer
    made the merged cut may hold more that would: it is asked again, four times as deep, until none
    does, so a neighbourhood that lies in one segment (rows added in the order of their topic) is still
    found whole. Measured at 10M in ten segments: benchmarks/README.md, graph segments."""
    sizes = [len(segment) for segment in segments]
    total = max(1, sum(sizes))
    asked = [min(count, max(shallow, math.ceil(2 * count * size / total) + 10)) for size in sizes]
    found = [
        segment.search(codes, count=ask, threads=1) for segment, ask in zip(segments, asked, strict=True)
    ]
    while True:
        distances = np.concatenate([np.asarray(matches.distances) for matches in found])
        nearest = np.argsort(distances, kind="stable")[:count]
        cutoff = distances[nearest[-1]] if len(nearest) == count else np.inf
        deeper = [
            number
            for number, matches in enumerate(found)
            if len(matches.keys) == asked[number] < min(count, sizes[number])
            and matches.distances[-1] <= cutoff
        ]
        if not deeper:
            keys: Keys = np.concatenate([np.asarray(matches.keys, dtype=np.uint64) for matches in found])
            return keys[nearest]
        for number in deeper:
            asked[number] = min(count, 4 * asked[number])
            found[number] = segments[number].search(codes, count=asked[number], threads=1)
