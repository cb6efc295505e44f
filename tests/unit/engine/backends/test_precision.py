"""Serving precision: float16 and bfloat16 run for real on the CPU, and the ``auto`` rule for a GPU is
checked both as a pure function and through the real probe with the device type pretended."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from inferhouse.engine.backends import precision
from inferhouse.engine.backends.precision import Reduced, choose_precision, lowest_cosine
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from inferhouse.engine.sources import bundled_model_path
from tests.support.models import build_tiny_sentence_model

TEXTS = [
    "x",
    "a happy dog",
    "The quick brown fox jumps over the lazy dog while the cat watches from the windowsill.",
    "word " * 300,  # truncated
    "東京 café 🐕",
]


@pytest.fixture(scope="module")
def float32() -> SentenceTransformerBackend:
    return SentenceTransformerBackend.load(bundled_model_path(), "cpu", precision="float32")


def _vectors(backend: SentenceTransformerBackend) -> npt.NDArray[np.float32]:
    return backend.forward(backend.tokenize(TEXTS, "right"))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_a_reduced_precision_asked_for_is_served_close_to_float32(
    float32: SentenceTransformerBackend, dtype: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="inferhouse.engine.backends.torch_st"):
        backend = SentenceTransformerBackend.load(bundled_model_path(), "cpu", precision=dtype)  # type: ignore[arg-type]
    assert backend.dtype == dtype
    assert {str(p.dtype) for p in backend._model.parameters()} == {f"torch.{dtype}"}
    vectors = _vectors(backend)
    assert vectors.dtype == np.float32
    assert lowest_cosine(_vectors(float32), vectors) >= 0.99
    assert f"precision {dtype}: asked for; lowest cosine to float32 0.99" in caplog.text


def test_packing_survives_float16_within_its_rounding() -> None:
    backend = SentenceTransformerBackend.load(bundled_model_path(), "cpu", precision="float16")
    assert backend.packed_token_cost > 1.0
    items = backend.tokenize(TEXTS, "right")
    assert lowest_cosine(backend._forward_padded(items), backend._forward_packed(items)) >= 0.9999


def test_auto_stays_float32_on_the_cpu(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="inferhouse.engine.backends.torch_st"):
        backend = SentenceTransformerBackend.load(bundled_model_path(), "cpu")
    assert backend.dtype == "float32"
    assert backend.batch_overhead_tokens == 64
    assert "precision float32: auto on cpu" in caplog.text


class Measured:
    """Lowest cosines per candidate, as the probe would measure them; records what was tried."""

    def __init__(self, **cosines: float) -> None:
        self.cosines = cosines
        self.tried: list[str] = []

    def __call__(self, dtype: Reduced) -> float:
        self.tried.append(dtype)
        return self.cosines[dtype]


@pytest.mark.parametrize(
    ("cosines", "bf16", "chosen", "tried"),
    [
        ({"float16": 0.99999, "bfloat16": 0.99995}, True, "float16", ["float16"]),
        ({"float16": 0.9995, "bfloat16": 0.99992}, True, "bfloat16", ["float16", "bfloat16"]),
        ({"float16": 0.9995, "bfloat16": 0.99992}, False, "float32", ["float16"]),
        ({"float16": 0.9995, "bfloat16": 0.998}, True, "float32", ["float16", "bfloat16"]),
        ({"float16": float("nan"), "bfloat16": 0.99991}, True, "bfloat16", ["float16", "bfloat16"]),
    ],
)
def test_auto_on_cuda_takes_the_first_candidate_at_the_floor(
    cosines: dict[str, float], bf16: bool, chosen: str, tried: list[str]
) -> None:
    measured = Measured(**cosines)
    choice = choose_precision("auto", "cuda", measured, bf16_supported=bf16)
    assert choice.dtype == chosen
    assert measured.tried == tried
    if chosen == "float32":
        assert choice.lowest_cosine is None
        assert "float16's lowest cosine to float32 0.999500 < 0.9999" in choice.reason
    else:
        assert choice.lowest_cosine == cosines[chosen]
        assert f"lowest cosine to float32 {cosines[chosen]:.6f}" in choice.reason
    if not bf16:
        assert "bfloat16 is not supported by this GPU" in choice.reason


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_named_precision_is_honoured_without_the_floor(device: str) -> None:
    measured = Measured(float16=0.98, bfloat16=0.97)
    choice = choose_precision("bfloat16", device, measured, bf16_supported=False)
    assert (choice.dtype, choice.lowest_cosine, measured.tried) == ("bfloat16", 0.97, ["bfloat16"])
    assert choice.reason == "bfloat16: asked for; lowest cosine to float32 0.970000"
    float32 = choose_precision("float32", device, measured, bf16_supported=True)
    assert (float32.dtype, float32.reason) == ("float32", "float32: asked for")


def test_auto_off_cuda_measures_nothing() -> None:
    measured = Measured()
    choice = choose_precision("auto", "mps", measured, bf16_supported=True)
    assert choice.dtype == "float32"
    assert measured.tried == []


@pytest.fixture
def pretend_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe and casts run on the CPU; only the device type ``auto`` decides on says cuda."""
    import torch

    monkeypatch.setattr(SentenceTransformerBackend, "device", property(lambda self: "cuda"))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)


@pytest.mark.usefixtures("pretend_cuda")
def test_auto_on_cuda_serves_float16_when_it_matches(float32: SentenceTransformerBackend) -> None:
    backend = SentenceTransformerBackend.load(bundled_model_path(), "cpu", precision="auto")
    assert backend.dtype == "float16"
    assert lowest_cosine(_vectors(float32), _vectors(backend)) >= 0.9999


@pytest.mark.usefixtures("pretend_cuda")
def test_auto_on_cuda_falls_back_to_the_exact_float32_weights(
    float32: SentenceTransformerBackend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(precision, "PRECISION_FLOOR_COSINE", 1.5)  # no candidate can reach it
    with caplog.at_level(logging.INFO, logger="inferhouse.engine.backends.torch_st"):
        backend = SentenceTransformerBackend.load(bundled_model_path(), "cpu", precision="auto")
    assert backend.dtype == "float32"
    # Cast to float16 and bfloat16 and back: identical vectors only if the weights came from the copy.
    assert np.array_equal(_vectors(backend), _vectors(float32))
    assert "precision float32: float16's lowest cosine" in caplog.text
    assert "bfloat16's lowest cosine" in caplog.text


def test_sdpa_is_asked_for_and_models_without_it_load_with_their_own_attention(
    float32: SentenceTransformerBackend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert float32._transformer.auto_model.config._attn_implementation == "sdpa"
    path = build_tiny_sentence_model(tmp_path / "deberta", architecture="deberta-v2")
    with caplog.at_level(logging.INFO, logger="inferhouse.engine.backends.torch_st"):
        backend = SentenceTransformerBackend.load(path, "cpu")
    assert "loading deberta again without SDPA attention: DebertaV2Model does not support" in caplog.text
    assert backend._transformer.auto_model.config._attn_implementation == "eager"
    vectors = backend.forward(backend.tokenize(["a happy dog", "x"], "right"))
    assert vectors.shape == (2, 32)
    assert np.isfinite(vectors).all()
