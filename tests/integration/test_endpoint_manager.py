"""Endpoints created through the management API: every task, access types, failures, logs and metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from huggingface_hub import InferenceClient, constants

from inferhouse.auth import SqliteTokenTable, TokenStore
from inferhouse.storage import Database
from tests.conftest import BUNDLED_ID
from tests.support.models import (
    build_tiny_bare_bert,
    build_tiny_classifier,
    build_tiny_cross_encoder,
    build_tiny_masked_lm,
    build_tiny_nli,
    build_tiny_qa,
    build_tiny_token_classifier,
    write_custom_handler,
)
from tests.support.server import RunningServer

API = "/v2/endpoint/local"
HANDLER = """
import os


class EndpointHandler:
    def __init__(self, path):
        self.greeting = os.environ.get("GREETING", "unset")
        self.path = path

    def __call__(self, data):
        return {"greeting": self.greeting, "echo": data["inputs"], "parameters": data.get("parameters")}
"""


@pytest.fixture(autouse=True)
def _client_may_reach_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # huggingface_hub's offline mode refuses every request, loopback included; these go only to our server.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("task-models")
    custom = build_tiny_bare_bert(root / "custom")
    write_custom_handler(custom, HANDLER)
    return {
        "ranker": build_tiny_cross_encoder(root / "ranker"),
        "sentiment": build_tiny_classifier(root / "sentiment", id2label={0: "NEGATIVE", 1: "POSITIVE"}),
        "ner": build_tiny_token_classifier(root / "ner"),
        "nli": build_tiny_nli(root / "nli"),
        "mlm": build_tiny_masked_lm(root / "mlm"),
        "qa": build_tiny_qa(root / "qa"),
        "bare": build_tiny_bare_bert(root / "bare"),
        "custom": custom,
    }


class Endpoints:
    """Creates endpoints on the session server through the management API and deletes them after."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.created: list[str] = []

    def create(self, name: str, repository: str | Path, task: str | None, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name,
            "type": extra.pop("type", "protected"),
            "model": {"repository": str(repository), "task": task, "framework": "pytorch"}
            | extra.pop("model", {}),
            "compute": {
                "accelerator": extra.pop("accelerator", "cpu"),
                "scaling": {"minReplica": 1, "maxReplica": 1},
            },
            "provider": {"vendor": "local", "region": "local"},
        }
        res = requests.post(self.server.url + API, json=body, headers=self.server.headers, timeout=30)
        assert res.status_code == 200, res.text
        self.created.append(name)
        return dict(res.json())

    def wait(self, name: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = self.describe(name)
            if described["status"]["state"] not in ("pending", "initializing", "updating"):
                return described
            time.sleep(0.2)
        raise AssertionError(f"{name} still loading after {timeout}s")

    def describe(self, name: str) -> dict[str, Any]:
        res = requests.get(f"{self.server.url}{API}/{name}", headers=self.server.headers, timeout=30)
        assert res.status_code == 200, res.text
        return dict(res.json())

    def running(self, name: str, repository: str | Path, task: str | None, **extra: Any) -> str:
        self.create(name, repository, task, **extra)
        described = self.wait(name)
        assert described["status"]["state"] == "running", described["status"]
        return str(described["status"]["url"])

    def delete_all(self) -> None:
        for name in self.created:
            requests.delete(f"{self.server.url}{API}/{name}", headers=self.server.headers, timeout=30)


@pytest.fixture(scope="module")
def endpoints(server: RunningServer) -> Iterator[Endpoints]:
    made = Endpoints(server)
    yield made
    made.delete_all()


def _client(url: str, server: RunningServer) -> InferenceClient:
    return InferenceClient(model=url, token=server.token)


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> requests.Response:
    return requests.post(url, json=body, headers=headers, timeout=60)


# -- every task, answered in the shape the real client parses -------------------------------------------


def test_sentence_ranking_and_tei_rerank(endpoints: Endpoints, models: dict[str, Path]) -> None:
    server = endpoints.server
    url = endpoints.running("task-ranker", models["ranker"], "sentence-ranking")
    pairs = _post(
        url,
        {"inputs": [["what is a whale", "a large sea mammal"], ["what is a whale", "a car"]]},
        server.headers,
    )
    assert pairs.status_code == 200, pairs.text
    scores = pairs.json()["scores"]
    assert len(scores) == 2
    assert all(0.0 <= score <= 1.0 for score in scores)

    ranked = _post(
        url + "/rerank",
        {"query": "whale", "texts": ["ocean", "car", "fish"], "return_text": True},
        server.headers,
    )
    assert ranked.status_code == 200, ranked.text
    items = ranked.json()
    assert sorted(item["index"] for item in items) == [0, 1, 2]
    assert [item["score"] for item in items] == sorted((item["score"] for item in items), reverse=True)
    assert {item["text"] for item in items} == {"ocean", "car", "fish"}

    empty = _post(url + "/rerank", {"query": "whale", "texts": []}, server.headers)
    assert empty.status_code == 400
    assert empty.json()["error_type"] == "empty"


def test_text_classification(endpoints: Endpoints, models: dict[str, Path]) -> None:
    url = endpoints.running("task-sentiment", models["sentiment"], "text-classification")
    result = _client(url, endpoints.server).text_classification("I like you. I love you", top_k=2)
    assert {item.label for item in result} == {"NEGATIVE", "POSITIVE"}
    assert abs(sum(item.score for item in result) - 1.0) < 1e-4


def test_token_classification(endpoints: Endpoints, models: dict[str, Path]) -> None:
    url = endpoints.running("task-ner", models["ner"], "token-classification")
    text = "My name is Sarah Jessica Parker but you can call me Jessica"
    entities = _client(url, endpoints.server).token_classification(text)
    assert entities, "a random model still tags some tokens as entities"
    for entity in entities:
        assert text[entity.start : entity.end].lower().replace(" ", "") == entity.word.replace(
            " ", ""
        ).replace("#", "")


def test_zero_shot_classification(endpoints: Endpoints, models: dict[str, Path]) -> None:
    url = endpoints.running("task-nli", models["nli"], "zero-shot-classification")
    labels = ["space & cosmos", "scientific discovery", "microbiology"]
    result = _client(url, endpoints.server).zero_shot_classification(
        "A new model offers an explanation for how the Galilean satellites formed", candidate_labels=labels
    )
    assert sorted(item.label for item in result) == sorted(labels)
    assert abs(sum(item.score for item in result) - 1.0) < 1e-4


def test_fill_mask(endpoints: Endpoints, models: dict[str, Path]) -> None:
    url = endpoints.running("task-mlm", models["mlm"], "fill-mask")
    result = _client(url, endpoints.server).fill_mask("The goal of life is [MASK].")
    assert len(result) == 5
    for item in result:
        assert item.token_str.removeprefix("##").strip() in item.sequence
    no_mask = _post(url, {"inputs": "no mask here"}, endpoints.server.headers)
    assert no_mask.status_code == 422
    assert "[MASK]" in no_mask.json()["error"]


def test_question_answering(endpoints: Endpoints, models: dict[str, Path]) -> None:
    url = endpoints.running("task-qa", models["qa"], "question-answering")
    context = "My name is Clara and I live in Berkeley."
    answer = _client(url, endpoints.server).question_answering(question="What's my name?", context=context)
    assert answer.answer == context[answer.start : answer.end]
    wrong = _post(url, {"inputs": "just a string"}, endpoints.server.headers)
    assert wrong.status_code == 422
    assert "question" in wrong.json()["error"]


def test_custom_handler_overrides_the_task_and_sees_model_env(
    endpoints: Endpoints, models: dict[str, Path]
) -> None:
    url = endpoints.running(
        "task-custom", models["custom"], "text-classification", model={"env": {"GREETING": "hello from env"}}
    )
    reply = _post(url, {"inputs": "ping", "parameters": {"x": 1}}, endpoints.server.headers)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"greeting": "hello from env", "echo": "ping", "parameters": {"x": 1}}


def test_an_embedding_route_on_a_classifier_is_a_clear_422(
    endpoints: Endpoints, models: dict[str, Path]
) -> None:
    url = endpoints.running("task-wrong-route", models["sentiment"], "text-classification")
    res = _post(url + "/embed", {"inputs": "hello"}, endpoints.server.headers)
    assert res.status_code == 422
    assert "text-classification" in res.json()["error"]


def test_task_is_read_from_the_model_when_not_named(endpoints: Endpoints, models: dict[str, Path]) -> None:
    endpoints.running("task-inferred", models["qa"], None)
    assert endpoints.describe("task-inferred")["model"]["task"] == "question-answering"


# -- failures land in `failed` with an actionable message; the server keeps serving ------------------


def test_gpu_on_a_machine_without_one_fails(endpoints: Endpoints, models: dict[str, Path]) -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    endpoints.create("fail-gpu", models["sentiment"], "text-classification", accelerator="gpu")
    described = endpoints.wait("fail-gpu")
    assert described["status"]["state"] == "failed"
    assert "no usable CUDA GPU" in described["status"]["message"]
    res = _post(described["status"]["url"], {"inputs": "x"}, endpoints.server.headers)
    assert res.status_code == 503
    assert res.json()["error_type"] == "failed"


def test_a_task_the_model_has_no_head_for_fails(endpoints: Endpoints, models: dict[str, Path]) -> None:
    endpoints.create("fail-task", models["bare"], "text-classification")
    described = endpoints.wait("fail-task")
    assert described["status"]["state"] == "failed"
    assert "ForSequenceClassification" in described["status"]["message"]
    assert requests.get(endpoints.server.url + "/health", timeout=10).status_code == 200


def test_a_failed_endpoint_recovers_by_update(endpoints: Endpoints, models: dict[str, Path]) -> None:
    endpoints.create("fail-then-fix", models["bare"], "token-classification")
    assert endpoints.wait("fail-then-fix")["status"]["state"] == "failed"
    fix = {"model": {"repository": str(models["ner"])}}
    server = endpoints.server
    res = requests.put(f"{server.url}{API}/fail-then-fix", json=fix, headers=server.headers, timeout=30)
    assert res.status_code == 200, res.text
    described = endpoints.wait("fail-then-fix")
    assert described["status"]["state"] == "running"
    assert described["model"]["task"] == "token-classification"


# -- access types -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokens(server: RunningServer) -> TokenStore:
    return TokenStore(SqliteTokenTable(Database.in_data_dir(server.data_dir)))


def test_public_endpoint_needs_no_token(endpoints: Endpoints) -> None:
    url = endpoints.running("access-public", BUNDLED_ID, "feature-extraction", type="public")
    assert _post(url, {"inputs": "hi"}, {}).status_code == 200


def test_protected_endpoint_takes_any_valid_token(endpoints: Endpoints, tokens: TokenStore) -> None:
    url = endpoints.running("access-protected", BUNDLED_ID, "feature-extraction", type="authenticated")
    assert endpoints.describe("access-protected")["type"] == "authenticated"
    assert _post(url, {"inputs": "hi"}, {}).status_code == 401
    user = tokens.create("user")
    assert _post(url, {"inputs": "hi"}, {"Authorization": f"Bearer {user}"}).status_code == 200


def test_private_endpoint_refuses_a_protected_only_token(endpoints: Endpoints, tokens: TokenStore) -> None:
    server = endpoints.server
    url = endpoints.running("access-private", BUNDLED_ID, "feature-extraction", type="private")
    other = endpoints.running("access-other", BUNDLED_ID, "feature-extraction")
    user = {"Authorization": f"Bearer {tokens.create('user')}"}
    scoped = {"Authorization": f"Bearer {tokens.create('ci', endpoints=['access-private'])}"}

    refused = _post(url, {"inputs": "hi"}, user)
    assert refused.status_code == 403
    assert "token create --endpoint access-private" in refused.json()["error"]
    assert _post(url, {"inputs": "hi"}, scoped).status_code == 200
    assert requests.get(url + "/health", headers=scoped, timeout=10).status_code == 200
    assert _post(url, {"inputs": "hi"}, server.headers).status_code == 200  # the admin may

    # A scoped token reaches nothing else: other endpoints, management, indexes.
    assert _post(other, {"inputs": "hi"}, scoped).status_code == 403
    assert requests.get(server.url + API, headers=scoped, timeout=10).status_code == 403
    assert requests.get(server.url + "/indexes", headers=scoped, timeout=10).status_code == 403


# -- logs and metrics ---------------------------------------------------------------------------------------


def test_logs_and_metrics_per_endpoint(endpoints: Endpoints) -> None:
    server = endpoints.server
    url = endpoints.running("observed", BUNDLED_ID, "sentence-embeddings")
    assert _post(url, {"inputs": "counted"}, server.headers).status_code == 200
    assert _post(url, {"inputs": {"bad": "shape"}}, server.headers).status_code == 422

    logs = requests.get(
        f"{server.url}{API}/observed/logs", params={"tail": 50}, headers=server.headers, timeout=10
    )
    assert logs.status_code == 200
    assert logs.headers["content-type"].startswith("text/plain")
    assert "created" in logs.text
    assert "running: task sentence-embeddings" in logs.text

    metrics = requests.get(server.url + "/metrics", headers=server.headers, timeout=10).text
    assert 'inferhouse_endpoint_requests_total{endpoint="observed",outcome="ok"} 1.0' in metrics
    assert 'inferhouse_endpoint_requests_total{endpoint="observed",outcome="validation"} 1.0' in metrics
    assert 'inferhouse_endpoint_state{endpoint="observed",state="running"} 1.0' in metrics
    assert 'inferhouse_endpoint_replicas{endpoint="observed"} 1.0' in metrics
    assert 'inferhouse_endpoint_request_seconds_count{endpoint="observed"} 2.0' in metrics


def test_management_errors(endpoints: Endpoints) -> None:
    server = endpoints.server
    missing = requests.get(f"{server.url}{API}/no-such-endpoint", headers=server.headers, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"] == "Endpoint no-such-endpoint not found"
    other_namespace = requests.get(
        server.url + "/v2/endpoint/someone-else", headers=server.headers, timeout=10
    )
    assert other_namespace.status_code == 404
    assert "namespace is local" in other_namespace.json()["error"]
    bad_name = {"name": "Bad_Name", "model": {"repository": BUNDLED_ID}}
    res = requests.post(server.url + API, json=bad_name, headers=server.headers, timeout=10)
    assert res.status_code == 422
    assert "name" in res.json()["error"]
    no_token = requests.get(server.url + API, timeout=10)
    assert no_token.status_code == 401


def test_sentence_tasks_with_the_bundled_model(endpoints: Endpoints, reference_model: Any) -> None:
    server = endpoints.server
    url = endpoints.running("bundled-similarity", BUNDLED_ID, "sentence-similarity")
    source, others = "a happy dog", ["a joyful puppy", "tax law"]
    reply = _post(url, {"inputs": {"source_sentence": source, "sentences": others}}, server.headers)
    assert reply.status_code == 200, reply.text
    vectors = reference_model.encode([source, *others], normalize_embeddings=True)
    expected = [float(vectors[0] @ vector) for vector in vectors[1:]]
    assert reply.json()["similarities"] == pytest.approx(expected, abs=1e-4)

    url = endpoints.running(
        "bundled-embeddings", BUNDLED_ID, "sentence-embeddings", model={"revision": "main"}
    )
    embedded = _post(url, {"inputs": source}, server.headers).json()["embeddings"]
    assert float(vectors[0] @ embedded) >= 0.9999


def test_the_sdk_waits_for_a_scaled_to_zero_endpoint(endpoints: Endpoints) -> None:
    from inferhouse.client import Client, InferhouseAPIError

    server = endpoints.server
    endpoints.running("sdk-cold", BUNDLED_ID, "sentence-embeddings")
    with Client(server.url, token=server.token) as client:
        client.scale_endpoint_to_zero("sdk-cold")
        with pytest.raises(InferhouseAPIError) as loading:
            client.embed(["cold"], endpoint="sdk-cold", wait_for_model=False)
        assert loading.value.status_code == 503
        assert loading.value.kind == "loading"
        assert len(client.embed(["cold"], endpoint="sdk-cold")[0]) == 384
        assert client.describe_endpoint("sdk-cold").state == "running"
