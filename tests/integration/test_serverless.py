"""Serverless semantics: resolving models offline, loading on first call, and unloading the least used."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.conftest import CACHED_ID, TINY_ID
from tests.support.models import build_tiny_sentence_model
from tests.support.server import RunningServer, start_server


def _call(server: RunningServer, model_id: str, wait: bool, body: object = None) -> requests.Response:
    headers = {**server.headers, "x-wait-for-model": "true" if wait else "false"}
    return requests.post(
        f"{server.url}/models/{model_id}", headers=headers, json=body or {"inputs": "hello"}, timeout=120
    )


def test_first_call_answers_loading_then_serves(server: RunningServer) -> None:
    first = _call(server, TINY_ID, wait=False)
    assert first.status_code == 503
    assert first.json()["error"] == f"Model {TINY_ID} is currently loading"
    assert first.json()["estimated_time"] > 0
    assert int(first.headers["retry-after"]) >= 1
    served = _call(server, TINY_ID, wait=True)
    assert served.status_code == 200
    assert len(served.json()) == 32


def test_loading_finishes_in_the_background(server: RunningServer) -> None:
    _call(server, CACHED_ID, wait=False)
    deadline = time.monotonic() + 60
    while (res := _call(server, CACHED_ID, wait=False)).status_code == 503:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert res.status_code == 200
    assert np.array(res.json()).shape == (32,)


def test_wait_for_model_in_options(server: RunningServer) -> None:
    res = requests.post(
        f"{server.url}/models/{TINY_ID}",
        headers=server.headers,
        json={"inputs": ["a", "b"], "options": {"wait_for_model": True}},
        timeout=120,
    )
    assert res.status_code == 200
    assert np.array(res.json()).shape == (2, 32)


def test_similarity_by_input_shape_and_pipeline(server: RunningServer) -> None:
    body = {"inputs": {"source_sentence": "a", "sentences": ["a", "b c d"]}}
    by_shape = _call(server, TINY_ID, wait=True, body=body).json()
    by_route = requests.post(
        f"{server.url}/models/{TINY_ID}/pipeline/sentence-similarity", headers=server.headers, json=body
    ).json()
    assert by_shape == pytest.approx(by_route)
    assert by_shape[0] == pytest.approx(1.0, abs=1e-5)


def test_prompt_of_a_model_changes_its_vectors(server: RunningServer) -> None:
    plain = _call(server, TINY_ID, wait=True, body={"inputs": "dog"}).json()
    prompted = _call(server, TINY_ID, wait=True, body={"inputs": "dog", "prompt_name": "query"}).json()
    assert not np.allclose(plain, prompted)


@pytest.fixture(scope="module")
def one_slot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    models = tmp_path_factory.mktemp("lru-models")
    registered = {
        "lru/a": str(build_tiny_sentence_model(models / "a", seed=1)),
        "lru/b": str(build_tiny_sentence_model(models / "b", seed=2)),
    }
    env = {
        "INFERHOUSE_MODELS": json.dumps(registered),
        "INFERHOUSE_MAX_LOADED_MODELS": "1",
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
    }
    running = start_server(tmp_path_factory.mktemp("lru-data"), env=env)
    yield running
    running.stop()


def test_least_recently_used_model_is_unloaded(one_slot_server: RunningServer) -> None:
    assert _call(one_slot_server, "lru/a", wait=True).status_code == 200
    assert _call(one_slot_server, "lru/a", wait=False).status_code == 200
    assert _call(one_slot_server, "lru/b", wait=True).status_code == 200
    # Only one slot: loading b unloaded a, so a is loading again.
    assert _call(one_slot_server, "lru/a", wait=False).status_code == 503
    assert "unloading lru/a" in one_slot_server.log()


def test_missing_configured_directory_is_not_found(tmp_path: Path) -> None:
    from inferhouse.engine.sources import resolve_model
    from inferhouse.errors import ModelNotFound

    with pytest.raises(ModelNotFound, match="not a directory"):
        resolve_model("x/y", {"x/y": tmp_path / "missing"})
