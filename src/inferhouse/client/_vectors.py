"""The index data plane: upsert, query, fetch, delete and list vectors, split into requests that fit the
server's limits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from inferhouse.client._transport import Transport, index_path

# The server's per-request limits. The body budget stays under 2 MB (not MiB) to leave room either way.
MAX_UPSERT_VECTORS = 1000
MAX_UPSERT_BYTES = 2_000_000
MAX_IDS_PER_REQUEST = 1000
# Fetch sends ids in the query string; servers refuse request lines much beyond 8 KiB.
MAX_FETCH_URL_CHARS = 6000

T = TypeVar("T")


@dataclass(frozen=True)
class IndexStats:
    """Vector counts of an index, in total and per namespace."""

    dimension: int
    total_vector_count: int
    namespaces: dict[str, int]
    metric: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> IndexStats:
        namespaces = {name: int(ns.get("vectorCount", 0)) for name, ns in body.get("namespaces", {}).items()}
        return cls(body["dimension"], int(body["totalVectorCount"]), namespaces, body.get("metric"))


@dataclass(frozen=True)
class Match:
    """One query result; ``values`` is empty unless asked for."""

    id: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    values: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Vector:
    """A stored vector, as fetched."""

    id: str
    values: list[float]
    metadata: dict[str, Any] = field(default_factory=dict)


class VectorsAPI(Transport):
    def index_stats(self, index: str, filter: Mapping[str, Any] | None = None) -> IndexStats:
        body = {} if filter is None else {"filter": dict(filter)}
        return IndexStats.from_json(self._post(f"{index_path(index)}/describe_index_stats", body))

    def upsert(self, index: str, vectors: Iterable[Mapping[str, Any]], namespace: str = "") -> int:
        """Write ``vectors`` (``{"id", "values", "metadata"?, "sparseValues"?}``), in as many requests as
        the server's count and body-size limits need; returns how many were upserted.

        Each request is all-or-nothing on the server, but a failure part-way leaves earlier requests
        written: upserts are idempotent by id, so repeating the call is safe."""
        head = b'{"namespace":' + _dumps(namespace) + b',"vectors":['
        budget = MAX_UPSERT_BYTES - len(head) - 2  # the closing "]}"
        encoded = (_dumps(_vector_json(vector)) for vector in vectors)
        upserted = 0
        for chunk in _pack(encoded, lambda item: len(item) + 1, MAX_UPSERT_VECTORS, budget):
            content = head + b",".join(chunk) + b"]}"
            reply = self._request(
                "POST",
                f"{index_path(index)}/vectors/upsert",
                content=content,
                headers={"content-type": "application/json"},
            )
            upserted += int(reply["upsertedCount"])
        return upserted

    def query(
        self,
        index: str,
        vector: Sequence[float] | None = None,
        id: str | None = None,
        *,
        top_k: int = 10,
        filter: Mapping[str, Any] | None = None,
        namespace: str = "",
        include_metadata: bool = True,
        include_values: bool = False,
    ) -> list[Match]:
        """Nearest neighbours of ``vector``, or of the stored vector ``id``; give exactly one."""
        if (vector is None) == (id is None):
            raise ValueError("query takes exactly one of vector or id")
        body: dict[str, Any] = {
            "topK": top_k,
            "namespace": namespace,
            "includeMetadata": include_metadata,
            "includeValues": include_values,
        }
        if vector is not None:
            body["vector"] = [float(v) for v in vector]
        else:
            body["id"] = id
        if filter is not None:
            body["filter"] = dict(filter)
        reply = self._post(f"{index_path(index)}/query", body)
        return [
            Match(m["id"], float(m["score"]), m.get("metadata") or {}, m.get("values") or [])
            for m in reply["matches"]
        ]

    def fetch(self, index: str, ids: Iterable[str], namespace: str = "") -> dict[str, Vector]:
        """The stored vectors among ``ids``, by id; missing ids are left out."""
        found: dict[str, Vector] = {}
        for chunk in _pack(ids, _query_cost, MAX_IDS_PER_REQUEST, MAX_FETCH_URL_CHARS):
            params = {"ids": chunk, "namespace": namespace}
            reply = self._request("GET", f"{index_path(index)}/vectors/fetch", params=params)
            for vector_id, item in reply["vectors"].items():
                found[vector_id] = Vector(vector_id, item.get("values") or [], item.get("metadata") or {})
        return found

    def delete(
        self,
        index: str,
        ids: Iterable[str] | None = None,
        *,
        delete_all: bool = False,
        filter: Mapping[str, Any] | None = None,
        namespace: str = "",
    ) -> None:
        """Delete by ``ids``, by ``filter``, or the whole namespace (``delete_all``); give exactly one."""
        if sum([ids is not None, delete_all, filter is not None]) != 1:
            raise ValueError("delete takes exactly one of ids, delete_all or filter")
        path = f"{index_path(index)}/vectors/delete"
        if ids is None:
            body: dict[str, Any] = {"namespace": namespace}
            body.update({"deleteAll": True} if delete_all else {"filter": dict(filter or {})})
            self._post(path, body)
            return
        for chunk in _pack(ids, lambda _: 1, MAX_IDS_PER_REQUEST, MAX_IDS_PER_REQUEST):
            self._post(path, {"ids": chunk, "namespace": namespace})

    def list_ids(self, index: str, prefix: str = "", namespace: str = "") -> Iterator[str]:
        """Yield every id that starts with ``prefix``, in ascending order, page by page."""
        params: dict[str, Any] = {"prefix": prefix, "namespace": namespace, "limit": 100}
        while True:
            reply = self._request("GET", f"{index_path(index)}/vectors/list", params=params)
            yield from (item["id"] for item in reply.get("vectors", []))
            token = (reply.get("pagination") or {}).get("next")
            if not token:
                return
            params["paginationToken"] = token


def _dumps(value: Any) -> bytes:
    # Compact, and NaN refused here rather than by the server's strict parser.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _query_cost(vector_id: str) -> int:
    return len("&ids=") + len(quote(vector_id, safe=""))


def _vector_json(vector: Mapping[str, Any]) -> dict[str, Any]:
    # float() turns numpy arrays and scalars into plain JSON numbers.
    out: dict[str, Any] = {"id": vector["id"], "values": [float(v) for v in vector["values"]]}
    if vector.get("metadata"):
        out["metadata"] = vector["metadata"]
    sparse = vector.get("sparseValues") or vector.get("sparse_values")
    if sparse:
        out["sparseValues"] = sparse
    return out


def _pack(items: Iterable[T], size: Callable[[T], int], max_count: int, max_size: int) -> Iterator[list[T]]:
    """Group ``items`` in order into lists of at most ``max_count`` items and ``max_size`` total size; an
    item too big on its own goes alone, for the server to refuse with its own message."""
    chunk: list[T] = []
    used = 0
    for item in items:
        cost = size(item)
        if chunk and (len(chunk) == max_count or used + cost > max_size):
            yield chunk
            chunk, used = [], 0
        chunk.append(item)
        used += cost
    if chunk:
        yield chunk
