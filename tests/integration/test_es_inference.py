"""The Elasticsearch inference API over HTTP: the tutorial's flow, services, replies and every message."""

from __future__ import annotations

import itertools
import json
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from inferhouse.auth import SqliteTokenTable, TokenStore
from inferhouse.storage import Database
from tests.support.fake_upstream import FakeUpstream, Reply, running_upstream
from tests.support.models import build_tiny_cross_encoder
from tests.support.server import RunningServer, delete_endpoint, deploy_endpoint, start_server

BUNDLED_ENDPOINT = "all-minilm-l6-v2"


class Es:
    """Elasticsearch's REST calls as a user's script makes them."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server

    def put(self, task_type: str, inference_id: str, body: dict[str, Any]) -> requests.Response:
        return requests.put(
            f"{self.server.url}/_inference/{task_type}/{inference_id}",
            json=body,
            headers=self.server.headers,
            timeout=60,
        )

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.server.url}{path}", json=body, headers=self.server.headers, timeout=60)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.server.url}{path}", headers=self.server.headers, timeout=30)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(f"{self.server.url}{path}", headers=self.server.headers, timeout=30)


@pytest.fixture
def es(server: RunningServer) -> Es:
    return Es(server)


@pytest.fixture
def inference_id() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with running_upstream() as fake:
        yield fake


def always(upstream: FakeUpstream, status: int, body: Any) -> None:
    upstream.default = Reply(status, body)


def hugging_face(url: str, api_key: str, **extra: Any) -> dict[str, Any]:
    return {"service": "hugging_face", "service_settings": {"api_key": api_key, "url": url, **extra}}


def error_of(reply: requests.Response) -> dict[str, Any]:
    body = reply.json()
    assert set(body) == {"error", "status"}, body
    assert body["status"] == reply.status_code
    error: dict[str, Any] = body["error"]
    assert error["root_cause"]
    assert {"type", "reason"} <= set(error["root_cause"][0])
    return error


def test_tutorial_flow_against_our_own_endpoint_url(es: Es, server: RunningServer, inference_id: str) -> None:
    url = f"{server.url}/endpoints/{BUNDLED_ENDPOINT}"
    body = hugging_face(url, server.token or "", rate_limit={"requests_per_minute": 600})
    body["chunking_settings"] = {"strategy": "sentence", "max_chunk_size": 120, "sentence_overlap": 1}
    created = es.put("text_embedding", inference_id, body)
    assert created.status_code == 200, created.text
    config = created.json()
    assert config == {
        "inference_id": inference_id,
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {
            "url": url,
            "similarity": "cosine",
            "dimensions": 384,
            "rate_limit": {"requests_per_minute": 600},
        },
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 120, "sentence_overlap": 1},
    }

    reply = es.post(f"/_inference/text_embedding/{inference_id}", {"input": ["how big is a whale"]})
    assert reply.status_code == 200, reply.text
    vectors = [item["embedding"] for item in reply.json()["text_embedding"]]
    direct = requests.post(url, json={"inputs": ["how big is a whale"]}, headers=server.headers, timeout=30)
    np.testing.assert_allclose(vectors, direct.json()["embeddings"], atol=1e-6)

    listed = es.get(f"/_inference/text_embedding/{inference_id}")
    assert listed.json() == {"endpoints": [config]}
    for path in ("/_inference", "/_inference/_all", f"/_inference/{inference_id}"):
        shown = es.get(path)
        assert shown.status_code == 200
        assert server.token not in shown.text
        assert config in shown.json()["endpoints"]

    # A single string is one input; the task type may be left out of the path.
    single = es.post(f"/_inference/{inference_id}", {"input": "how big is a whale"})
    assert len(single.json()["text_embedding"]) == 1

    assert es.delete(f"/_inference/text_embedding/{inference_id}").json()["acknowledged"] is True
    gone = es.get(f"/_inference/{inference_id}")
    assert gone.status_code == 404
    assert error_of(gone)["reason"] == f"Inference endpoint not found [{inference_id}]"


def test_bare_list_replies_are_accepted(es: Es, server: RunningServer, inference_id: str) -> None:
    # The serverless route answers feature-extraction with a bare list of vectors.
    url = f"{server.url}/models/sentence-transformers/all-MiniLM-L6-v2"
    created = es.put("text_embedding", inference_id, hugging_face(url, server.token or ""))
    assert created.status_code == 200, created.text
    assert created.json()["service_settings"]["dimensions"] == 384
    reply = es.post(f"/_inference/text_embedding/{inference_id}", {"input": ["a", "b", "c"]})
    assert [len(item["embedding"]) for item in reply.json()["text_embedding"]] == [384, 384, 384]
    es.delete(f"/_inference/{inference_id}")


def test_local_service_names_an_endpoint(es: Es, server: RunningServer, inference_id: str) -> None:
    body = {"service": "inferhouse", "service_settings": {"endpoint": BUNDLED_ENDPOINT}}
    created = es.put("text_embedding", inference_id, body)
    assert created.status_code == 200, created.text
    assert created.json()["service_settings"] == {
        "endpoint": BUNDLED_ENDPOINT,
        "similarity": "cosine",
        "dimensions": 384,
    }
    assert created.json()["chunking_settings"] == {
        "strategy": "sentence",
        "max_chunk_size": 250,
        "sentence_overlap": 1,
    }
    local = es.post(f"/_inference/text_embedding/{inference_id}", {"input": ["whales are big"]})
    direct = requests.post(
        f"{server.url}/endpoints/{BUNDLED_ENDPOINT}",
        json={"inputs": ["whales are big"]},
        headers=server.headers,
        timeout=30,
    )
    np.testing.assert_allclose(
        local.json()["text_embedding"][0]["embedding"], direct.json()["embeddings"][0], atol=1e-6
    )
    es.delete(f"/_inference/{inference_id}")


@pytest.mark.parametrize(
    ("task_type", "body", "status", "error_type", "reason"),
    [
        (
            "text_embedding",
            {"service": "hugging_face", "service_settings": {}},
            400,
            "validation_exception",
            "Validation Failed: 1: [service_settings] does not contain the required setting [url];"
            "2: [secret_settings] does not contain the required setting [api_key];",
        ),
        (
            "text_embedding",
            {"service": "hugging_face", "service_settings": {"url": "http://127.0.0.1:9/x"}},
            400,
            "validation_exception",
            "Validation Failed: 1: [secret_settings] does not contain the required setting [api_key];",
        ),
        (
            "sparse_embedding",
            hugging_face("http://127.0.0.1:9/x", "k"),
            400,
            "status_exception",
            "The [hugging_face] service does not support task type [sparse_embedding]",
        ),
        (
            "text_embedding",
            {
                **hugging_face("http://127.0.0.1:9/x", "k"),
                "chunking_settings": {"strategy": "sentence", "sentence_overlap": 2},
            },
            400,
            "validation_exception",
            "sentence_overlap[2] must be either 0 or 1",
        ),
        (
            "text_embedding",
            {
                **hugging_face("http://127.0.0.1:9/x", "k"),
                "chunking_settings": {"strategy": "sentence", "max_chunk_size": 5},
            },
            400,
            "validation_exception",
            "[chunking_settings] Invalid value [5.0]. "
            "[max_chunk_size] must be a greater than or equal to [20.0]",
        ),
        (
            "text_embedding",
            {**hugging_face("http://127.0.0.1:9/x", "k"), "chunking_settings": {"strategy": "paragraph"}},
            400,
            "validation_exception",
            "Invalid chunkingStrategy paragraph",
        ),
        (
            "text_embedding",
            hugging_face("http://127.0.0.1:9/x", "k", colour="blue"),
            400,
            "validation_exception",
            "Model configuration contains settings [{colour=blue}] unknown to the [hugging_face] service",
        ),
        (
            "text_embedding",
            hugging_face("http://127.0.0.1:9/x", "k", rate_limit={"requests_per_minute": 0}),
            400,
            "validation_exception",
            "[rate_limit] Invalid value [0]. [requests_per_minute] must be a positive integer",
        ),
        (
            "images",
            hugging_face("http://127.0.0.1:9/x", "k"),
            400,
            "status_exception",
            "Unknown task_type [images]",
        ),
    ],
)
def test_validation_messages(
    es: Es, inference_id: str, task_type: str, body: dict[str, Any], status: int, error_type: str, reason: str
) -> None:
    reply = es.put(task_type, inference_id, body)
    assert reply.status_code == status, reply.text
    error = error_of(reply)
    assert error["type"] == error_type
    assert reason in error["reason"]
    assert es.get(f"/_inference/{inference_id}").status_code == 404  # a rejected request changes nothing


def test_probe_failure_is_wrapped_with_the_upstream_message(
    es: Es, upstream: FakeUpstream, inference_id: str
) -> None:
    always(upstream, 401, {"error": "Invalid credentials in Authorization header"})
    reply = es.put("text_embedding", inference_id, hugging_face(upstream.url, "wrong-key"))
    assert reply.status_code == 400
    error = error_of(reply)
    assert error["reason"] == (
        "Could not complete inference endpoint creation as validation call to service threw an exception."
    )
    assert "Invalid credentials in Authorization header" in error["caused_by"]["reason"]
    assert "wrong-key" not in reply.text
    assert len(upstream.received) == 1  # a 401 is not retried
    assert upstream.received[0].json() == {"inputs": ["how big"]}
    assert es.get(f"/_inference/{inference_id}").status_code == 404


def test_dimensions_that_disagree_with_the_probe(es: Es, server: RunningServer, inference_id: str) -> None:
    url = f"{server.url}/endpoints/{BUNDLED_ENDPOINT}"
    reply = es.put("text_embedding", inference_id, hugging_face(url, server.token or "", dimensions=512))
    assert reply.status_code == 400
    assert error_of(reply)["reason"] == (
        f"The retrieved embeddings size [384] does not match the size specified in the settings [512]. "
        f"Please recreate the [{inference_id}] configuration with the correct dimensions"
    )


def test_ids_tasks_and_duplicates(es: Es, upstream: FakeUpstream, inference_id: str) -> None:
    always(upstream, 200, [[0.5, 0.5]])
    assert es.put("text_embedding", inference_id, hugging_face(upstream.url, "k")).status_code == 200
    again = es.put("text_embedding", inference_id, hugging_face(upstream.url, "k"))
    assert again.status_code == 400
    assert error_of(again)["type"] == "resource_already_exists_exception"
    assert error_of(again)["reason"] == f"Inference endpoint [{inference_id}] already exists"
    wrong = es.post(f"/_inference/rerank/{inference_id}", {"input": ["a"], "query": "q"})
    assert error_of(wrong)["reason"] == (
        "Incompatible task_type, the requested type [rerank] does not match the model type [text_embedding]"
    )
    empty = es.post(f"/_inference/text_embedding/{inference_id}", {"input": []})
    assert empty.status_code == 400
    bad_id = es.put("text_embedding", "Bad_ID", hugging_face(upstream.url, "k"))
    assert bad_id.status_code == 400
    assert "Invalid inference_id" in error_of(bad_id)["reason"]
    es.delete(f"/_inference/{inference_id}")


def test_upstream_errors_reach_the_caller(es: Es, upstream: FakeUpstream, inference_id: str) -> None:
    always(upstream, 200, [[0.1, 0.2, 0.3]])
    assert es.put("text_embedding", inference_id, hugging_face(upstream.url, "k")).status_code == 200
    always(upstream, 200, {"unexpected": "shape"})
    malformed = es.post(f"/_inference/text_embedding/{inference_id}", {"input": ["a"]})
    assert malformed.status_code == 502
    always(upstream, 400, {"error": "Input validation error: inputs cannot be empty"})
    rejected = es.post(f"/_inference/text_embedding/{inference_id}", {"input": ["a"]})
    assert rejected.status_code == 400
    assert "Input validation error: inputs cannot be empty" in error_of(rejected)["reason"]
    es.delete(f"/_inference/{inference_id}")


def test_api_key_is_encrypted_at_rest_and_never_logged(
    es: Es, server: RunningServer, upstream: FakeUpstream, inference_id: str
) -> None:
    secret = f"hf_secret_{uuid.uuid4().hex}"
    always(upstream, 200, {"embeddings": [[1.0, 0.0]]})
    assert es.put("text_embedding", inference_id, hugging_face(upstream.url, secret)).status_code == 200
    assert upstream.received[0].headers["authorization"] == f"Bearer {secret}"
    with sqlite3.connect(server.data_dir / "inferhouse.db") as conn:
        rows = conn.execute(
            "SELECT config, secret FROM inference_configs WHERE inference_id = ?", (inference_id,)
        ).fetchall()
    config_blob, sealed = rows[0]
    assert secret.encode() not in bytes(config_blob)
    assert secret.encode() not in bytes(sealed)
    for path in ("inferhouse.db", "inferhouse.db-wal"):
        file = server.data_dir / path
        if file.exists():
            assert secret.encode() not in file.read_bytes()
    assert secret not in server.log()
    es.delete(f"/_inference/{inference_id}")


RANKER = "es-ranker"


@pytest.fixture(scope="module")
def ranker(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A sentence-ranking endpoint on a tiny random cross-encoder."""
    model = build_tiny_cross_encoder(tmp_path_factory.mktemp("es-ranker") / "model")
    deploy_endpoint(server, RANKER, model, "sentence-ranking")
    yield RANKER
    delete_endpoint(server, RANKER)


def test_rerank_locally_and_through_our_tei_url(es: Es, server: RunningServer, ranker: str) -> None:
    texts = ["whales eat krill", "lava flows downhill", "bread needs yeast", "krill swarm in cold water"]
    local_id, remote_id = f"rr-local-{uuid.uuid4().hex[:6]}", f"rr-remote-{uuid.uuid4().hex[:6]}"
    local = {"service": "inferhouse", "service_settings": {"endpoint": ranker}}
    remote = hugging_face(f"{server.url}/endpoints/{ranker}/rerank", server.token or "")
    remote["task_settings"] = {"return_documents": True}
    assert es.put("rerank", local_id, local).status_code == 200
    created = es.put("rerank", remote_id, remote)
    assert created.status_code == 200, created.text
    assert created.json()["task_settings"] == {"return_documents": True}

    body = {"query": "what do whales eat", "input": texts}
    by_local = es.post(f"/_inference/rerank/{local_id}", body).json()["rerank"]
    by_remote = es.post(f"/_inference/rerank/{remote_id}", body).json()["rerank"]
    scores = [item["relevance_score"] for item in by_local]
    assert scores == sorted(scores, reverse=True)
    assert sorted(item["index"] for item in by_local) == [0, 1, 2, 3]
    assert [item["index"] for item in by_remote] == [item["index"] for item in by_local]
    np.testing.assert_allclose([item["relevance_score"] for item in by_remote], scores, atol=1e-5)
    assert all(item["text"] == texts[item["index"]] for item in by_remote)  # return_documents
    assert all("text" not in item for item in by_local)

    top = es.post(f"/_inference/rerank/{local_id}", {**body, "task_settings": {"top_n": 2}}).json()["rerank"]
    assert [item["index"] for item in top] == [item["index"] for item in by_local[:2]]
    no_query = es.post(f"/_inference/rerank/{local_id}", {"input": texts})
    assert no_query.status_code == 400
    for inference_id in (local_id, remote_id):
        es.delete(f"/_inference/{inference_id}")


def test_completion_through_a_chat_completions_url(es: Es, upstream: FakeUpstream, inference_id: str) -> None:
    answer = {
        "id": "x",
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Blue whales."}, "finish_reason": "stop"}
        ],
    }
    always(upstream, 200, answer)
    created = es.put("completion", inference_id, hugging_face(upstream.url, "k", model_id="tgi"))
    assert created.status_code == 200, created.text
    reply = es.post(f"/_inference/completion/{inference_id}", {"input": "Which whale is biggest?"})
    assert reply.json() == {"completion": [{"result": "Blue whales."}]}
    sent = upstream.received[-1].json()
    assert sent["messages"] == [{"role": "user", "content": "Which whale is biggest?"}]
    assert sent["stream"] is False
    es.delete(f"/_inference/{inference_id}")

    chat_id = inference_id + "-chat"
    assert es.put("chat_completion", chat_id, hugging_face(upstream.url, "k")).status_code == 200
    refused = es.post(f"/_inference/chat_completion/{chat_id}", {"input": "hi"})
    assert "only supports streaming" in error_of(refused)["reason"]
    streamed = es.post(
        f"/_inference/chat_completion/{chat_id}/_stream", {"messages": [{"role": "user", "content": "hi"}]}
    )
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = [line[len("data: ") :] for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "Blue whales."
    es.delete(f"/_inference/{chat_id}")


def test_local_service_refuses_what_no_endpoint_serves(es: Es, inference_id: str) -> None:
    body = {"service": "inferhouse", "service_settings": {"endpoint": BUNDLED_ENDPOINT}}
    refused = es.put("completion", inference_id, body)
    assert error_of(refused)["reason"] == "The [inferhouse] service does not support task type [completion]"
    missing = es.put(
        "text_embedding", inference_id, {"service": "inferhouse", "service_settings": {"endpoint": "nope"}}
    )
    assert missing.status_code == 400
    assert "nope" in error_of(missing)["caused_by"]["reason"]
    wrong_task = es.put(
        "rerank", inference_id, {"service": "inferhouse", "service_settings": {"endpoint": BUNDLED_ENDPOINT}}
    )
    assert wrong_task.status_code == 400
    assert "sentence-ranking" in error_of(wrong_task)["caused_by"]["reason"]


def test_configurations_and_secrets_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    quiet = {"INFERHOUSE_DEFAULT_ENDPOINT": "false"}
    with running_upstream() as upstream:
        always(upstream, 200, {"embeddings": [[0.6, 0.8]]})
        first = start_server(data, env=quiet)
        try:
            made = Es(first).put("text_embedding", "kept", hugging_face(upstream.url, "sealed-key-1"))
            assert made.status_code == 200, made.text
        finally:
            first.kill()  # no shutdown: the acknowledged configuration must already be on disk
        second = start_server(data, env=quiet)
        try:
            es = Es(second)
            assert es.get("/_inference/kept").json()["endpoints"][0]["service_settings"]["dimensions"] == 2
            reply = es.post("/_inference/kept", {"input": ["x"]})
            assert reply.json() == {"text_embedding": [{"embedding": [0.6, 0.8]}]}
            assert upstream.received[-1].headers["authorization"] == "Bearer sealed-key-1"
        finally:
            second.stop()
        (data / "secret.key").rename(data / "secret.key.old")
        third = start_server(data, env=quiet)
        try:
            unreadable = Es(third).post("/_inference/kept", {"input": ["x"]})
            assert unreadable.status_code == 503
            assert "cannot be decrypted" in error_of(unreadable)["reason"]
        finally:
            third.stop()


def test_configurations_sharing_a_url_and_key_share_one_rate_limit(es: Es, upstream: FakeUpstream) -> None:
    always(upstream, 200, {"embeddings": [[1.0, 0.0]]})
    names = [f"paced-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for name in names:
        body = hugging_face(upstream.url, "shared-key", rate_limit={"requests_per_minute": 120})
        assert es.put("text_embedding", name, body).status_code == 200
    other = f"paced-{uuid.uuid4().hex[:6]}"  # another key: a bucket of its own, not slowed by the others
    assert es.put("text_embedding", other, hugging_face(upstream.url, "other-key")).status_code == 200
    before = len(upstream.received)

    def call(name: str) -> int:
        return es.post(f"/_inference/{name}", {"input": ["x"]}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, [*names, *names, *names, other, other]))
    assert statuses == [200] * 8
    arrivals = upstream.received[before:]
    shared = sorted(r.at for r in arrivals if r.headers["authorization"] == "Bearer shared-key")
    assert len(shared) == 6
    gaps = [later - earlier for earlier, later in itertools.pairwise(shared)]
    assert min(gaps) >= 0.45, gaps  # 120 a minute: one start every 0.5 s, across both configurations
    unshared = sorted(r.at for r in arrivals if r.headers["authorization"] == "Bearer other-key")
    # Its own bucket (3000 a minute): both its calls arrive long before the shared bucket's last one,
    # which waits 2.5 s behind the others.
    assert unshared[-1] < shared[-1] - 1.0
    for name in [*names, other]:
        es.delete(f"/_inference/{name}")


def test_a_private_endpoint_is_not_reachable_through_a_model_name(es: Es, server: RunningServer) -> None:
    name = f"es-private-{uuid.uuid4().hex[:6]}"
    deploy_endpoint(
        server, name, "sentence-transformers/all-MiniLM-L6-v2", "feature-extraction", access="private"
    )
    token = TokenStore(SqliteTokenTable(Database.in_data_dir(server.data_dir))).create("es-user")
    user = {"Authorization": f"Bearer {token}"}
    local = {"service": "inferhouse", "service_settings": {"endpoint": name}}
    try:
        assert es.put("text_embedding", f"{name}-admin", local).status_code == 200  # the admin may
        as_user = requests.post(
            f"{server.url}/_inference/{name}-admin", json={"input": "x"}, headers=user, timeout=30
        )
        assert as_user.status_code == 403, as_user.text
        assert error_of(as_user)["type"] == "security_exception"
        created = requests.put(
            f"{server.url}/_inference/text_embedding/{name}-user", json=local, headers=user, timeout=30
        )
        assert created.status_code == 403
        embed = requests.post(
            f"{server.url}/embed", json={"model": name, "inputs": [{"text": "x"}]}, headers=user, timeout=30
        )
        assert embed.status_code == 403
        index = {"name": f"{name}-idx", "embed": {"model": f"{name}-admin", "field_map": {"text": "t"}}}
        bound = requests.post(f"{server.url}/indexes/create-for-model", json=index, headers=user, timeout=30)
        assert bound.status_code == 403
        assert es.post(f"/_inference/{name}-admin", {"input": "x"}).status_code == 200
    finally:
        es.delete(f"/_inference/{name}-admin")
        delete_endpoint(server, name)
