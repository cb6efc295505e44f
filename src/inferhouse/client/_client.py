from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from inferhouse.client._endpoints import (
    FAILED_STATES,
    STOPPED_STATES,
    EndpointDescription,
    EndpointNotReady,
    endpoint_body,
)
from inferhouse.client._records import RecordHit, ndjson_batches

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_ENDPOINT = "all-minilm-l6-v2"

# The server's per-request limits. The body budget stays under 2 MB (not MiB) to leave room either way.
MAX_UPSERT_VECTORS = 1000
MAX_UPSERT_BYTES = 2_000_000
MAX_IDS_PER_REQUEST = 1000
# Fetch sends ids in the query string; servers refuse request lines much beyond 8 KiB.
MAX_FETCH_URL_CHARS = 6000

# The data plane answers with gRPC status numbers; name them as the control plane does.
_GRPC_CODES = {
    3: "INVALID_ARGUMENT",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "FORBIDDEN",
    8: "RESOURCE_EXHAUSTED",
    13: "INTERNAL",
    16: "UNAUTHENTICATED",
}

T = TypeVar("T")


class InferhouseAPIError(Exception):
    """The server answered with an error; ``status_code`` and ``kind`` say which."""

    def __init__(self, status_code: int, message: str, kind: str | None) -> None:
        super().__init__(f"{status_code} {kind or 'error'}: {message}")
        self.status_code = status_code
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class IndexDescription:
    """What the control plane says about one index."""

    name: str
    dimension: int
    metric: str
    host: str
    deletion_protection: str = "disabled"
    tags: dict[str, str] = field(default_factory=dict)
    ready: bool = True

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> IndexDescription:
        return cls(
            name=body["name"],
            dimension=body["dimension"],
            metric=body["metric"],
            host=body.get("host", ""),
            deletion_protection=body.get("deletion_protection") or "disabled",
            tags=dict(body.get("tags") or {}),
            ready=bool((body.get("status") or {}).get("ready", True)),
        )


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


class Client:
    """Talks to one inferhouse server. Pass ``http_client`` to control transport, timeouts or pooling."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = http_client or httpx.Client(base_url=base_url, timeout=timeout)
        self._http.headers.update(headers)
        self._namespace: str | None = None

    # Embeddings

    def embed(
        self,
        texts: str | list[str],
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        normalize: bool = True,
        truncate: bool = True,
        dimensions: int | None = None,
        wait_for_model: bool = True,
    ) -> list[list[float]]:
        """Embed ``texts`` with the endpoint's model; always returns one vector per text.

        An endpoint that is loading (or scaled to zero) is waited for unless ``wait_for_model`` is off,
        in which case the server's 503 ``loading`` error is raised.
        """
        body: dict[str, Any] = {"inputs": texts, "normalize": normalize, "truncate": truncate}
        if dimensions is not None:
            body["dimensions"] = dimensions
        headers = {"x-wait-for-model": "true" if wait_for_model else "false"}
        path = f"/endpoints/{_segment(endpoint)}/embed"
        reply: list[list[float]] = self._request("POST", path, json=body, headers=headers)
        return reply

    # Control plane

    def create_index(
        self,
        name: str,
        dimension: int,
        metric: str = "cosine",
        *,
        deletion_protection: str = "disabled",
        tags: Mapping[str, str] | None = None,
    ) -> IndexDescription:
        body = {
            "name": name,
            "dimension": dimension,
            "metric": metric,
            "deletion_protection": deletion_protection,
            "tags": dict(tags or {}),
        }
        return IndexDescription.from_json(self._post("/indexes", body))

    def list_indexes(self) -> list[IndexDescription]:
        reply = self._request("GET", "/indexes")
        return [IndexDescription.from_json(item) for item in reply.get("indexes", [])]

    def describe_index(self, name: str) -> IndexDescription:
        return IndexDescription.from_json(self._request("GET", f"/indexes/{_segment(name)}"))

    def delete_index(self, name: str) -> None:
        self._request("DELETE", f"/indexes/{_segment(name)}")

    def create_index_for_model(
        self,
        name: str,
        model: str,
        *,
        text_field: str = "text",
        chunking_settings: Mapping[str, Any] | None = None,
        metric: str | None = None,
        deletion_protection: str = "disabled",
        tags: Mapping[str, str] | None = None,
    ) -> IndexDescription:
        """An index that embeds the ``text_field`` of each record with ``model`` (an inference id or an
        endpoint name), chunked by ``chunking_settings`` (default: the model's own, else sentences)."""
        embed: dict[str, Any] = {"model": model, "field_map": {"text": text_field}}
        if metric is not None:
            embed["metric"] = metric
        body: dict[str, Any] = {"name": name, "embed": embed, "deletion_protection": deletion_protection}
        if tags:
            body["tags"] = dict(tags)
        if chunking_settings is not None:
            body["chunking_settings"] = dict(chunking_settings)
        return IndexDescription.from_json(self._post("/indexes/create-for-model", body))

    def upsert_records(self, index: str, records: Iterable[Mapping[str, Any]], namespace: str = "") -> int:
        """Upsert text records (``{"_id", <text field>, ...}``) into an integrated index; the server
        chunks and embeds them. Sent in as many requests as the limits need; returns the record count."""
        path = f"{_data(index)}/records/namespaces/{_segment(namespace) or '__default__'}/upsert"
        sent = 0
        for body in ndjson_batches(records):
            self._send("POST", path, content=body, headers={"content-type": "application/x-ndjson"})
            sent += body.count(b"\n") + 1
        return sent

    def search_records(
        self,
        index: str,
        text: str,
        *,
        top_k: int = 10,
        namespace: str = "",
        filter: Mapping[str, Any] | None = None,
        fields: Sequence[str] | None = None,
        rerank: Mapping[str, Any] | None = None,
    ) -> list[RecordHit]:
        """The records of an integrated index that best match ``text``, one hit per record."""
        query: dict[str, Any] = {"inputs": {"text": text}, "top_k": top_k}
        if filter is not None:
            query["filter"] = dict(filter)
        body: dict[str, Any] = {"query": query}
        if fields is not None:
            body["fields"] = list(fields)
        if rerank is not None:
            body["rerank"] = dict(rerank)
        path = f"{_data(index)}/records/namespaces/{_segment(namespace) or '__default__'}/search"
        reply = self._post(path, body)
        return [RecordHit.from_json(hit) for hit in reply["result"]["hits"]]

    # Inference registry (Elasticsearch's _inference API)

    def create_inference(
        self,
        task_type: str,
        inference_id: str,
        *,
        service: str,
        service_settings: Mapping[str, Any],
        chunking_settings: Mapping[str, Any] | None = None,
        task_settings: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"service": service, "service_settings": dict(service_settings)}
        if chunking_settings is not None:
            body["chunking_settings"] = dict(chunking_settings)
        if task_settings is not None:
            body["task_settings"] = dict(task_settings)
        path = f"/_inference/{_segment(task_type)}/{_segment(inference_id)}"
        reply: dict[str, Any] = self._request("PUT", path, json=body)
        return reply

    def list_inference(self) -> list[dict[str, Any]]:
        endpoints: list[dict[str, Any]] = self._request("GET", "/_inference")["endpoints"]
        return endpoints

    def delete_inference(self, inference_id: str, *, force: bool = False) -> None:
        params = {"force": "true"} if force else None
        self._request("DELETE", f"/_inference/{_segment(inference_id)}", params=params)

    def infer(
        self, inference_id: str, inputs: str | list[str], *, query: str | None = None
    ) -> dict[str, Any]:
        """Run an inference configuration; the reply is Elasticsearch's (``text_embedding``, ``rerank``)."""
        body: dict[str, Any] = {"input": inputs}
        if query is not None:
            body["query"] = query
        reply: dict[str, Any] = self._post(f"/_inference/{_segment(inference_id)}", body)
        return reply

    # Data plane

    def index_stats(self, index: str, filter: Mapping[str, Any] | None = None) -> IndexStats:
        body = {} if filter is None else {"filter": dict(filter)}
        return IndexStats.from_json(self._post(f"{_data(index)}/describe_index_stats", body))

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
                f"{_data(index)}/vectors/upsert",
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
        reply = self._post(f"{_data(index)}/query", body)
        return [
            Match(m["id"], float(m["score"]), m.get("metadata") or {}, m.get("values") or [])
            for m in reply["matches"]
        ]

    def fetch(self, index: str, ids: Iterable[str], namespace: str = "") -> dict[str, Vector]:
        """The stored vectors among ``ids``, by id; missing ids are left out."""
        found: dict[str, Vector] = {}
        for chunk in _pack(ids, _query_cost, MAX_IDS_PER_REQUEST, MAX_FETCH_URL_CHARS):
            params = {"ids": chunk, "namespace": namespace}
            reply = self._request("GET", f"{_data(index)}/vectors/fetch", params=params)
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
        path = f"{_data(index)}/vectors/delete"
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
            reply = self._request("GET", f"{_data(index)}/vectors/list", params=params)
            yield from (item["id"] for item in reply.get("vectors", []))
            token = (reply.get("pagination") or {}).get("next")
            if not token:
                return
            params["paginationToken"] = token

    # Inference Endpoints management (the /v2/endpoint API huggingface_hub speaks)

    def namespace(self) -> str:
        """The namespace endpoints live in: the server's whoami name, asked once."""
        if self._namespace is None:
            self._namespace = str(self._request("GET", "/api/whoami-v2")["name"])
        return self._namespace

    def create_endpoint(
        self,
        name: str,
        repository: str,
        *,
        task: str | None = None,
        revision: str | None = None,
        framework: str = "pytorch",
        accelerator: str = "cpu",
        instance_type: str = "intel-icl",
        instance_size: str = "x1",
        min_replica: int = 1,
        max_replica: int = 1,
        scale_to_zero_timeout: int | None = None,
        type: str = "protected",
        env: Mapping[str, str] | None = None,
        vendor: str = "local",
        region: str = "local",
    ) -> EndpointDescription:
        """Create an endpoint serving ``repository``. The reply comes before the model is loaded: see
        :meth:`wait_endpoint`. ``scale_to_zero_timeout`` is in idle minutes."""
        body = endpoint_body(
            name=name,
            type=type,
            repository=repository,
            revision=revision,
            task=task,
            framework=framework,
            env=env,
            accelerator=accelerator,
            instance_type=instance_type,
            instance_size=instance_size,
            min_replica=min_replica,
            max_replica=max_replica,
            scale_to_zero_timeout=scale_to_zero_timeout,
            vendor=vendor,
            region=region,
        )
        body["model"]["image"] = {"huggingface": {}}  # the only image this server runs
        return self._endpoint("POST", None, json=body)

    def list_endpoints(self) -> list[EndpointDescription]:
        reply = self._request("GET", self._endpoint_path(None))
        return [EndpointDescription.from_json(item) for item in reply.get("items", [])]

    def describe_endpoint(self, name: str) -> EndpointDescription:
        return self._endpoint("GET", name)

    def update_endpoint(
        self,
        name: str,
        *,
        repository: str | None = None,
        revision: str | None = None,
        task: str | None = None,
        framework: str | None = None,
        accelerator: str | None = None,
        instance_type: str | None = None,
        instance_size: str | None = None,
        min_replica: int | None = None,
        max_replica: int | None = None,
        scale_to_zero_timeout: int | None = None,
        type: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> EndpointDescription:
        """Change only the fields given; ``None`` leaves a field as it is."""
        body = endpoint_body(
            type=type,
            repository=repository,
            revision=revision,
            task=task,
            framework=framework,
            env=env,
            accelerator=accelerator,
            instance_type=instance_type,
            instance_size=instance_size,
            min_replica=min_replica,
            max_replica=max_replica,
            scale_to_zero_timeout=scale_to_zero_timeout,
        )
        return self._endpoint("PUT", name, json=body)

    def pause_endpoint(self, name: str) -> EndpointDescription:
        """Stop serving and release the model until :meth:`resume_endpoint`."""
        return self._endpoint("POST", name, "pause")

    def resume_endpoint(self, name: str, *, running_ok: bool = True) -> EndpointDescription:
        """Start a paused (or scaled-to-zero) endpoint; one already running is fine unless not
        ``running_ok``."""
        try:
            return self._endpoint("POST", name, "resume")
        except InferhouseAPIError as error:
            # The server refuses to resume a running endpoint; huggingface_hub treats that as done too.
            if running_ok and error.status_code == 400 and "already running" in error.message:
                return self.describe_endpoint(name)
            raise

    def scale_endpoint_to_zero(self, name: str) -> EndpointDescription:
        """Drop every replica now; the endpoint stays and starts again on the next request."""
        return self._endpoint("POST", name, "scale-to-zero")

    def delete_endpoint(self, name: str) -> None:
        self._request("DELETE", self._endpoint_path(name))

    def endpoint_logs(self, name: str, tail: int = 100) -> list[str]:
        """The endpoint's last ``tail`` log lines, oldest first."""
        response = self._send("GET", f"{self._endpoint_path(name)}/logs", params={"tail": tail})
        return response.text.splitlines()

    def wait_endpoint(self, name: str, timeout: float = 300, poll: float = 0.5) -> EndpointDescription:
        """Poll until the endpoint is running and its health route answers 200, as
        ``InferenceEndpoint.wait`` does; raise :class:`EndpointNotReady` if it fails, is paused, or is
        not ready within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            endpoint = self.describe_endpoint(name)
            if endpoint.state in FAILED_STATES:
                raise EndpointNotReady(name, endpoint.state, endpoint.message, "failed")
            if endpoint.state in STOPPED_STATES:
                raise EndpointNotReady(name, endpoint.state, endpoint.message, "will not start by itself")
            if endpoint.state == "running" and self._healthy(endpoint):
                return endpoint
            if time.monotonic() >= deadline:
                raise EndpointNotReady(
                    name, endpoint.state, endpoint.message, f"not ready after {timeout:g} s"
                )
            time.sleep(poll)

    def _healthy(self, endpoint: EndpointDescription) -> bool:
        if not endpoint.url:
            return False
        try:
            response = self._http.get(endpoint.url.rstrip("/") + endpoint.health_route)
        except httpx.TransportError:
            return False  # not listening yet: keep polling until the deadline
        return response.status_code == 200

    def _endpoint(
        self, method: str, name: str | None, action: str | None = None, **kwargs: Any
    ) -> EndpointDescription:
        path = self._endpoint_path(name) + (f"/{action}" if action else "")
        return EndpointDescription.from_json(self._request(method, path, **kwargs))

    def _endpoint_path(self, name: str | None) -> str:
        path = f"/v2/endpoint/{_segment(self.namespace())}"
        return path if name is None else f"{path}/{_segment(name)}"

    # Transport

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._request("POST", path, json=body)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise _api_error(response)
        return response

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _segment(name: str) -> str:
    return quote(name, safe="")


def _data(index: str) -> str:
    return f"/indexes/{_segment(index)}"


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


def _api_error(response: httpx.Response) -> InferhouseAPIError:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    message, kind = _error_fields(payload)
    return InferhouseAPIError(response.status_code, message or response.text or response.reason_phrase, kind)


def _error_fields(payload: object) -> tuple[str | None, str | None]:
    """Message and kind from any of the server's error dialects."""
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    if isinstance(error, dict) and "reason" in error:  # Elasticsearch {"error": {"type", "reason"}}
        return _text(error["reason"]), _text(error.get("type"))
    if isinstance(error, dict):  # Pinecone control plane {"error": {"code", "message"}}, or OpenAI
        return _text(error.get("message")), _text(error.get("code"))
    if isinstance(error, str):  # Hugging Face and TEI {"error", "error_type"}
        return error, _text(payload.get("error_type"))
    if "message" in payload:  # Pinecone data plane {"code", "message", "details"}
        code = payload.get("code")
        return _text(payload["message"]), _GRPC_CODES.get(code, _text(code)) if code is not None else None
    return None, None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
