"""Served vectors equal in-process sentence-transformers, whatever the padding and batching around them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests

from tests.support.server import RunningServer

MIXED = [
    "a",
    "a happy dog",
    "The quick brown fox jumps over the lazy dog while the cat watches from the windowsill.",
    "Sentence embeddings map text to dense vectors; similar meanings end up close together. " * 3,
    "word " * 600,  # far over the 256-token maximum: truncated, as sentence-transformers does
    "Unicode too: café, naïve, 東京, emoji 🐕",
]


def _embed(server: RunningServer, texts: list[str], **extra: object) -> np.ndarray:
    res = requests.post(
        f"{server.url}/endpoints/all-minilm-l6-v2",
        headers={**server.headers, "x-use-cache": "false"},
        json={"inputs": texts, **extra},
        timeout=60,
    )
    assert res.status_code == 200, res.text
    return np.array(res.json()["embeddings"], dtype=np.float32)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_mixed_lengths_in_one_batch(server: RunningServer, reference_model) -> None:  # type: ignore[no-untyped-def]
    got = _embed(server, MIXED)
    expected = reference_model.encode(MIXED)
    assert got.shape == expected.shape
    assert np.all(_cosines(got, expected) >= 0.9999)


def test_each_input_alone(server: RunningServer, reference_model) -> None:  # type: ignore[no-untyped-def]
    expected = reference_model.encode(MIXED)
    for text, want in zip(MIXED, expected, strict=True):
        got = _embed(server, [text])
        assert _cosines(got, want[None, :])[0] >= 0.9999


def test_concurrent_requests_are_merged_without_mixing_rows(server: RunningServer, reference_model) -> None:  # type: ignore[no-untyped-def]
    texts = [f"request {i}: " + " ".join(["dog"] * (i % 17 + 1)) for i in range(48)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        rows = list(pool.map(lambda text: _embed(server, [text])[0], texts))
    expected = reference_model.encode(texts)
    assert np.all(_cosines(np.array(rows), expected) >= 0.9999)


def test_unnormalized_output_keeps_the_model_norm(server: RunningServer, reference_model) -> None:  # type: ignore[no-untyped-def]
    res = requests.post(
        f"{server.url}/endpoints/all-minilm-l6-v2/embed",
        headers=server.headers,
        json={"inputs": ["a happy dog"], "normalize": False},
    )
    raw = np.array(res.json()[0])
    assert abs(np.linalg.norm(raw) - 1.0) > 1e-3  # mean pooling alone does not give unit vectors
    expected = reference_model.encode(["a happy dog"])[0]
    assert _cosines(raw[None, :], expected[None, :])[0] >= 0.9999
