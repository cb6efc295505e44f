"""The unpadded ONNX graph: a batch's tokens end to end, attention on a gathered padded block.

BERT and RoBERTa run it by default and must give the torch backend's vectors whatever the batch's mix of
lengths and order; other encoders, and an unpadded graph that does not match torch, get the padded graph.
The numpy halves around the graph (its feeds and the pooling of its output) are checked against their
definitions."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferhouse.engine.backends import onnx_st
from inferhouse.engine.backends.base import TokenizedText
from inferhouse.engine.backends.onnx_st import INT8_FLOOR_COSINE, OnnxBackend, OnnxVerdict, pool, use_onnx
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from inferhouse.engine.backends.unpadded import (
    INPUTS,
    pool_segments,
    position_offset,
    unpadded_feeds,
    unsupported_reason,
)
from tests.support.models import build_tiny_sentence_model

SHORT = ["x", "ok", "a happy dog"]
LONG = ["padding and truncation " * 40, "word " * 300]  # both cut to the tiny models' 32 tokens
MEDIUM = [
    "a medium sentence about whales and krill",
    "The quick brown fox jumps over the lazy dog while the cat watches.",
    "東京 café 🐕",
]
TEXTS = SHORT + LONG + MEDIUM
COMPOSITIONS = {
    "one-short": ["x"],
    "short": SHORT,
    "long": LONG,
    "medium": MEDIUM,
    "mixed": TEXTS,
    "mixed-reversed": TEXTS[::-1],
    "mixed-by-length": sorted(TEXTS, key=len),
    "duplicates-interleaved": [LONG[0], "x", MEDIUM[0], "ok", LONG[1], "x"],
}
PARITY = 0.9999


def _cosines(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(
        (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)), dtype=np.float32
    )


def _model(
    tmp_path_factory: pytest.TempPathFactory, architecture: str
) -> tuple[Path, SentenceTransformerBackend]:
    model_dir = build_tiny_sentence_model(
        tmp_path_factory.mktemp(architecture) / "tiny", seed=7, architecture=architecture
    )
    return model_dir, SentenceTransformerBackend.load(model_dir, "cpu")


@pytest.fixture(scope="module", params=["bert", "roberta"])
def supported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SentenceTransformerBackend]:
    return _model(tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def cache_root(
    supported: tuple[Path, SentenceTransformerBackend], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def served(supported: tuple[Path, SentenceTransformerBackend], cache_root: Path) -> OnnxVerdict:
    model_dir, reference = supported
    return use_onnx(reference, model_dir, cache_root, choice="onnx")


@pytest.fixture(scope="module")
def deberta(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SentenceTransformerBackend]:
    return _model(tmp_path_factory, "deberta-v2")


def _assert_matches_torch(
    backend: OnnxBackend, reference: SentenceTransformerBackend, texts: list[str]
) -> None:
    batch = reference.tokenize(texts, "right")
    got, expected = backend.forward(batch), reference.forward(batch)
    assert got.shape == expected.shape == (len(texts), reference.dimension)
    assert got.dtype == np.float32
    lowest = float(_cosines(got, expected).min())
    assert lowest >= PARITY, f"lowest cosine {lowest} on {[len(item.ids) for item in batch]} tokens"


# --- the default graph on the encoders it supports ---------------------------------------------------


def _lowest_cosine(verdict_file: Path) -> float:
    return float(json.loads(verdict_file.read_text())["lowest_cosine"])


def test_supported_encoders_serve_the_unpadded_graph(
    supported: tuple[Path, SentenceTransformerBackend], served: OnnxVerdict, cache_root: Path
) -> None:
    _, reference = supported
    assert unsupported_reason(reference.encoder) is None
    assert isinstance(served.backend, OnnxBackend), served.reason
    assert served.backend.graph == "unpadded"
    assert served.reason.startswith("onnx: asked for; lowest cosine to torch")
    assert served.reason.endswith("; unpadded graph")
    assert served.backend.packed_token_cost > 0  # the planner packs passes for it
    assert [file.name for file in cache_root.rglob("*.onnx")] == ["model.unpadded.onnx"]
    (verdict_file,) = cache_root.rglob("verdict*.json")
    assert verdict_file.name == "verdict.unpadded.json"
    assert _lowest_cosine(verdict_file) >= PARITY


def test_roberta_positions_start_past_its_padding_id(
    supported: tuple[Path, SentenceTransformerBackend],
) -> None:
    _, reference = supported
    # The tiny RoBERTa's padding id is 1, so its positions start at 2; BERT's at 0.
    expected = {"BertModel": 0, "RobertaModel": 2}[type(reference.encoder).__name__]
    assert position_offset(reference.encoder) == expected


@pytest.mark.parametrize("texts", COMPOSITIONS.values(), ids=COMPOSITIONS.keys())
def test_unpadded_vectors_match_torch(
    supported: tuple[Path, SentenceTransformerBackend], served: OnnxVerdict, texts: list[str]
) -> None:
    _, reference = supported
    assert isinstance(served.backend, OnnxBackend), served.reason
    _assert_matches_torch(served.backend, reference, texts)


def test_the_compositions_mix_short_truncated_and_medium_inputs(
    supported: tuple[Path, SentenceTransformerBackend],
) -> None:
    _, reference = supported
    lengths = [len(item.ids) for item in reference.tokenize(TEXTS, "right")]
    truncated = [item.truncated for item in reference.tokenize(TEXTS, "right")]
    assert truncated == [False] * len(SHORT) + [True] * len(LONG) + [False] * len(MEDIUM)
    assert max(lengths[: len(SHORT)]) <= 5
    assert set(lengths[len(SHORT) : len(SHORT) + len(LONG)]) == {reference.max_input_length}
    assert all(5 < n < reference.max_input_length for n in lengths[len(SHORT) + len(LONG) :])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(TEXTS), min_size=1, max_size=12))
def test_unpadded_vectors_match_torch_in_any_batch(
    supported: tuple[Path, SentenceTransformerBackend], served: OnnxVerdict, texts: list[str]
) -> None:
    _, reference = supported
    assert isinstance(served.backend, OnnxBackend), served.reason
    _assert_matches_torch(served.backend, reference, texts)


def test_a_vector_does_not_depend_on_its_batch(
    supported: tuple[Path, SentenceTransformerBackend], served: OnnxVerdict
) -> None:
    _, reference = supported
    backend = served.backend
    assert isinstance(backend, OnnxBackend), served.reason
    alone = np.concatenate([backend.forward(reference.tokenize([text], "right")) for text in TEXTS])
    together = backend.forward(reference.tokenize(TEXTS, "right"))
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_an_input_of_no_tokens_is_zeros_and_changes_no_other_vector(
    supported: tuple[Path, SentenceTransformerBackend], served: OnnxVerdict
) -> None:
    _, reference = supported
    backend = served.backend
    assert isinstance(backend, OnnxBackend), served.reason
    batch = reference.tokenize(TEXTS, "right")
    empty = TokenizedText(ids=[], type_ids=[], truncated=False)
    with_empty = backend.forward([batch[0], empty, *batch[1:]])
    np.testing.assert_array_equal(with_empty[1], np.zeros(reference.dimension, dtype=np.float32))
    np.testing.assert_allclose(np.delete(with_empty, 1, axis=0), backend.forward(batch), atol=1e-5)
    assert not backend.forward([empty, empty]).any()


# --- the padded graph where the unpadded one does not serve -------------------------------------------


def test_deberta_gets_the_padded_graph_and_says_why(
    deberta: tuple[Path, SentenceTransformerBackend], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_dir, reference = deberta
    why = unsupported_reason(reference.encoder)
    assert why is not None
    assert "DebertaV2Model" in why
    caplog.set_level(logging.INFO, logger=onnx_st.__name__)
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx")
    assert isinstance(verdict.backend, OnnxBackend), verdict.reason
    assert verdict.backend.graph == "padded"
    assert verdict.backend.packed_token_cost == 0.0
    assert verdict.reason.endswith("; padded graph")
    assert f"padded ONNX graph, since {why}" in caplog.text
    assert [file.name for file in tmp_path.rglob("*.onnx")] == ["model.onnx"]  # no unpadded export tried
    for texts in COMPOSITIONS.values():
        _assert_matches_torch(verdict.backend, reference, texts)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"is_decoder": True}, "configured as a decoder"),
        ({"position_embedding_type": "relative_key"}, "relative_key"),
    ],
)
def test_bert_configurations_the_graph_does_not_rebuild(fields: dict[str, Any], says: str) -> None:
    from transformers import BertConfig, BertModel

    small: dict[str, Any] = {
        "vocab_size": 64,
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
    }
    assert unsupported_reason(BertModel(BertConfig(**small))) is None
    why = unsupported_reason(BertModel(BertConfig(**small, **fields)))
    assert why is not None
    assert why.startswith("BertModel ")
    assert says in why


def test_an_unpadded_graph_that_differs_from_torch_gives_way_to_the_padded_one(
    supported: tuple[Path, SentenceTransformerBackend],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model_dir, reference = supported
    monkeypatch.setattr(onnx_st, "position_offset", lambda encoder: 7)  # positions fed wrong
    caplog.set_level(logging.INFO, logger=onnx_st.__name__)
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx")
    assert isinstance(verdict.backend, OnnxBackend), verdict.reason
    assert verdict.backend.graph == "padded"
    assert verdict.reason.endswith("; padded graph")
    assert "ONNX vectors differ from torch's" in caplog.text
    assert "(unpadded graph)" in caplog.text
    assert "padded ONNX graph, since ONNX vectors differ from torch's" in caplog.text
    (unpadded_verdict,) = tmp_path.rglob("verdict.unpadded.json")
    assert _lowest_cosine(unpadded_verdict) < PARITY
    assert sorted(file.name for file in tmp_path.rglob("*.onnx")) == ["model.onnx", "model.unpadded.onnx"]
    for texts in COMPOSITIONS.values():
        _assert_matches_torch(verdict.backend, reference, texts)


def test_a_restart_still_gives_way_to_the_padded_graph(
    supported: tuple[Path, SentenceTransformerBackend], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stored verdict of a graph that failed parity says nothing about speed: on a restart (verdicts
    # read, not measured) the padded graph must still get its turn, not torch by the failed one's timing.
    model_dir, reference = supported
    monkeypatch.setattr(onnx_st, "position_offset", lambda encoder: 7)
    first = use_onnx(reference, model_dir, tmp_path, choice="onnx")
    assert isinstance(first.backend, OnnxBackend)
    assert first.backend.graph == "padded"
    _set_timings(next(tmp_path.rglob("verdict.unpadded.json")), torch_s=1.0, onnx_s=2.0)
    _set_timings(next(tmp_path.rglob("verdict.json")), torch_s=1.0, onnx_s=0.5)
    again = use_onnx(reference, model_dir, tmp_path, choice="auto")
    assert isinstance(again.backend, OnnxBackend), again.reason
    assert again.backend.graph == "padded"
    assert again.reason.startswith("onnx: faster than torch here (torch 1000 ms, onnx 500 ms")


def _set_timings(verdict: Path, **timings: float) -> None:
    verdict.write_text(json.dumps({**json.loads(verdict.read_text()), **timings}))


# --- int8 ----------------------------------------------------------------------------------------------


def test_int8_quantizes_the_unpadded_graph(
    supported: tuple[Path, SentenceTransformerBackend], tmp_path: Path
) -> None:
    model_dir, reference = supported
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx-int8")
    assert (next(tmp_path.rglob("model.unpadded.onnx")).parent / "model.unpadded.int8.onnx").is_file()
    (measured,) = tmp_path.rglob("verdict.unpadded.int8.json")
    if _lowest_cosine(measured) >= INT8_FLOOR_COSINE:
        assert isinstance(verdict.backend, OnnxBackend), verdict.reason
        assert verdict.backend.dtype == "int8"
        assert verdict.backend.graph == "unpadded"
        assert verdict.reason.startswith("onnx-int8: asked for; lowest cosine to torch")
        assert verdict.reason.endswith("; unpadded graph")
        batch = reference.tokenize(TEXTS, "right")
        assert _cosines(verdict.backend.forward(batch), reference.forward(batch)).min() >= INT8_FLOOR_COSINE
    elif isinstance(verdict.backend, OnnxBackend):  # a random tiny model may quantize badly: padded int8
        assert verdict.backend.dtype == "int8"
        assert verdict.backend.graph == "padded"
        assert (measured.parent / "model.int8.onnx").is_file()
    else:  # ... or neither graph quantizes well enough: then torch serves, and says why
        assert verdict.backend is reference
        assert "ONNX vectors differ from torch's" in verdict.reason


# --- the numpy around the graph ------------------------------------------------------------------------


def _segments_by_definition(
    tokens: npt.NDArray[np.float32], lengths: list[int], mode: str
) -> npt.NDArray[np.float32]:
    rows, start = [], 0
    for n in lengths:
        segment = tokens[start : start + n]
        start += n
        if n == 0:
            rows.append(np.zeros(tokens.shape[1], dtype=np.float32))
        else:
            rows.append({"mean": segment.mean(axis=0), "cls": segment[0], "max": segment.max(axis=0)}[mode])
    return np.stack(rows).astype(np.float32)


@pytest.mark.parametrize("mode", ["mean", "cls", "max"])
@pytest.mark.parametrize("lengths", [[2, 0, 3, 1], [0, 4], [5], [1, 1, 1, 0]])
def test_pool_segments_matches_its_definition(mode: str, lengths: list[int]) -> None:
    rng = np.random.default_rng(sum(lengths))
    tokens = rng.normal(size=(sum(lengths), 4)).astype(np.float32)
    pooled = pool_segments(tokens, lengths, mode)
    assert pooled.shape == (len(lengths), 4)
    assert pooled.dtype == np.float32
    np.testing.assert_allclose(pooled, _segments_by_definition(tokens, lengths, mode), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", ["mean", "cls", "max"])
def test_pool_segments_of_only_empty_inputs_is_zeros(mode: str) -> None:
    pooled = pool_segments(np.zeros((0, 4), dtype=np.float32), [0, 0, 0], mode)
    np.testing.assert_array_equal(pooled, np.zeros((3, 4), dtype=np.float32))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=8), st.sampled_from(["mean", "cls", "max"]))
def test_pool_segments_agrees_with_padded_pooling(lengths: list[int], mode: str) -> None:
    rng = np.random.default_rng(len(lengths))
    tokens = rng.normal(size=(sum(lengths), 3)).astype(np.float32)
    width = max(lengths)
    padded = np.full((len(lengths), width, 3), 1e3, dtype=np.float32)  # padding rows that would show
    mask = np.zeros((len(lengths), width), dtype=np.int64)
    start = 0
    for row, n in enumerate(lengths):
        padded[row, :n] = tokens[start : start + n]
        mask[row, :n] = 1
        start += n
    np.testing.assert_allclose(
        pool_segments(tokens, lengths, mode), pool(padded, mask, mode), rtol=1e-5, atol=1e-6
    )


def _items(lengths: list[int]) -> list[TokenizedText]:
    items, token = [], 1000
    for n in lengths:
        ids = list(range(token, token + n))
        token += n
        items.append(TokenizedText(ids=ids, type_ids=[i % 2 for i in range(n)], truncated=False))
    return items


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=10).filter(any), st.sampled_from([0, 2]))
def test_unpadded_feeds_lay_tokens_end_to_end_and_index_them_both_ways(
    lengths: list[int], offset: int
) -> None:
    batch = _items(lengths)
    feeds = unpadded_feeds(batch, offset)
    total, width = sum(lengths), max(lengths)
    flat = np.array([token for item in batch for token in item.ids], dtype=np.int64)
    assert set(feeds) == set(INPUTS)  # what the exported graph takes
    np.testing.assert_array_equal(feeds["token_ids"], flat)
    np.testing.assert_array_equal(feeds["token_type_ids"], [kind for item in batch for kind in item.type_ids])
    # Positions restart at each input, from the offset.
    np.testing.assert_array_equal(
        feeds["position_ids"], np.concatenate([np.arange(n) + offset for n in lengths])
    )

    gather, scatter = feeds["gather_index"], feeds["scatter_index"]
    assert gather.shape == (len(lengths), width)
    assert scatter.shape == (total,)
    for name in ("token_ids", "token_type_ids", "position_ids", "gather_index", "scatter_index"):
        assert feeds[name].dtype == np.int64, name
    real = np.arange(width)[None, :] < np.array(lengths)[:, None]
    assert (gather[~real] == total).all()  # padding slots read the row past the last token
    assert (gather[real] < total).all()
    # Gathered, each input sits in its own row, in order; read back through scatter, the tokens return.
    block = np.concatenate([flat, [-1]])[gather]
    for row, item in enumerate(batch):
        np.testing.assert_array_equal(block[row, : len(item.ids)], item.ids)
        assert (block[row, len(item.ids) :] == -1).all()
    np.testing.assert_array_equal(block.reshape(-1)[scatter], flat)

    key_bias = feeds["key_bias"]
    assert key_bias.shape == (len(lengths), 1, 1, width)
    assert key_bias.dtype == np.float32
    assert (key_bias[:, 0, 0][real] == 0).all()
    assert (key_bias[:, 0, 0][~real] <= -1e4).all()
    assert (np.exp(key_bias[:, 0, 0][~real]) == 0).all()  # softmax gives padding no weight
