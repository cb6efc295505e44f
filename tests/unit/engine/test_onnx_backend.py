"""The ONNX Runtime backend: export once, cache, check parity, fall back to torch with a reason."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from inferhouse.engine.backends import onnx_st
from inferhouse.engine.backends.onnx_st import Graph, OnnxBackend, cpu_layout, pool, use_onnx
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from tests.support.models import build_tiny_sentence_model

TEXTS = ["a short one", "padding and truncation " * 40, "x", "a medium sentence about whales and krill"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("onnx") / "tiny", seed=5)


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> SentenceTransformerBackend:
    return SentenceTransformerBackend.load(model_dir, "cpu")


def _cosines(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(
        (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)), dtype=np.float32
    )


@pytest.mark.parametrize(
    ("graph", "model_file", "verdict_file"),
    [(None, "model.unpadded.onnx", "verdict.unpadded.json"), ("padded", "model.onnx", "verdict.json")],
)
def test_onnx_gives_torchs_vectors_and_caches_the_export(
    reference: SentenceTransformerBackend,
    model_dir: Path,
    tmp_path: Path,
    graph: Graph | None,
    model_file: str,
    verdict_file: str,
) -> None:
    # By default a BERT runs the unpadded graph; asked for, the encoder exported as is on padded rows.
    served = graph or "unpadded"
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx", graph=graph)
    assert isinstance(verdict.backend, OnnxBackend), verdict.reason
    assert verdict.backend.graph == served
    assert verdict.reason.startswith("onnx: asked for; lowest cosine to torch")
    assert verdict.reason.endswith(f"; {served} graph")
    batch = reference.tokenize(TEXTS, "right")
    assert any(item.truncated for item in batch)  # the check covers truncation and padding
    assert _cosines(verdict.backend.forward(batch), reference.forward(batch)).min() >= 0.9999
    exported = list(tmp_path.rglob("*.onnx"))
    assert [file.name for file in exported] == [model_file]  # only the graph served was exported
    stamp = exported[0].stat().st_mtime_ns
    again = use_onnx(reference, model_dir, tmp_path, choice="onnx", graph=graph)  # a restart or a replica
    assert isinstance(again.backend, OnnxBackend)
    assert again.backend.graph == served
    assert exported[0].stat().st_mtime_ns == stamp  # opened, not exported again
    assert (exported[0].parent / verdict_file).is_file()


def test_auto_serves_the_faster_backend_and_says_so(
    reference: SentenceTransformerBackend, model_dir: Path, tmp_path: Path
) -> None:
    verdict = use_onnx(reference, model_dir, tmp_path, choice="auto")
    assert verdict.reason.startswith(("onnx: faster than torch here", "torch: faster than ONNX here"))
    assert ("ms per probe batch") in verdict.reason
    expected = OnnxBackend if verdict.reason.startswith("onnx") else SentenceTransformerBackend
    assert isinstance(verdict.backend, expected)
    if isinstance(verdict.backend, OnnxBackend):
        assert verdict.backend.graph == "unpadded"
        assert verdict.reason.endswith("; unpadded graph")


def test_torch_when_asked(reference: SentenceTransformerBackend, model_dir: Path, tmp_path: Path) -> None:
    verdict = use_onnx(reference, model_dir, tmp_path, choice="torch")
    assert verdict.backend is reference
    assert not list(tmp_path.iterdir())


def test_int8_is_close_but_reported(
    reference: SentenceTransformerBackend, model_dir: Path, tmp_path: Path
) -> None:
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx-int8")
    if isinstance(verdict.backend, OnnxBackend):
        assert verdict.backend.dtype == "int8"
        assert "lowest cosine to torch" in verdict.reason
    else:  # a random tiny model may quantize worse than the floor: then torch serves, and says why
        assert "ONNX vectors differ from torch's" in verdict.reason


def test_unsupported_pipelines_fall_back_with_the_reason(
    reference: SentenceTransformerBackend, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SentenceTransformerBackend, "pipeline", property(lambda self: [object(), object()]))
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx")
    assert verdict.backend is reference
    assert "pipeline is object -> object" in verdict.reason


def test_a_failed_export_falls_back(
    reference: SentenceTransformerBackend,
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_unpadded(encoder: object, sample: object, target: Path) -> None:
        raise ValueError("no gather here")

    def broken(self: SentenceTransformerBackend, target: Path) -> None:
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(onnx_st, "export_unpadded", broken_unpadded)
    monkeypatch.setattr(SentenceTransformerBackend, "export_onnx", broken)
    caplog.set_level(logging.INFO, logger=onnx_st.__name__)
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx")
    assert verdict.backend is reference
    assert "the ONNX export failed (RuntimeError: unsupported operator)" in verdict.reason
    # The unpadded graph was tried first, and why it was given up is logged.
    assert "padded ONNX graph, since the ONNX export failed (ValueError: no gather here)" in caplog.text
    assert not list(tmp_path.rglob("*.onnx"))


def test_a_failed_unpadded_export_serves_the_padded_graph(
    reference: SentenceTransformerBackend, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_unpadded(encoder: object, sample: object, target: Path) -> None:
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(onnx_st, "export_unpadded", broken_unpadded)
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx")
    assert isinstance(verdict.backend, OnnxBackend), verdict.reason
    assert verdict.backend.graph == "padded"
    assert verdict.reason.startswith("onnx: asked for; lowest cosine to torch")
    assert verdict.reason.endswith("; padded graph")
    assert [file.name for file in tmp_path.rglob("*.onnx")] == ["model.onnx"]
    batch = reference.tokenize(TEXTS, "right")
    assert _cosines(verdict.backend.forward(batch), reference.forward(batch)).min() >= 0.9999


@pytest.mark.parametrize("mode", ["mean", "cls", "max"])
def test_pooling_matches_its_definition(mode: str) -> None:
    rng = np.random.default_rng(0)
    tokens = rng.normal(size=(2, 3, 4)).astype(np.float32)
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    pooled = pool(tokens, mask, mode)
    first = tokens[0, :2]
    expected = {"mean": first.mean(axis=0), "cls": tokens[0, 0], "max": first.max(axis=0)}[mode]
    np.testing.assert_allclose(pooled[0], expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("threads", "layout"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 1)), (6, (4, 1)), (16, (4, 4))]
)
def test_cpu_threads_become_single_threaded_workers_first(threads: int, layout: tuple[int, int]) -> None:
    assert cpu_layout(threads) == layout


@pytest.mark.parametrize("graph", ["unpadded", "padded"])
def test_the_session_serves_calls_from_several_threads_at_once(
    reference: SentenceTransformerBackend, model_dir: Path, tmp_path: Path, graph: Graph
) -> None:
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx", threads=2, graph=graph)
    backend = verdict.backend
    assert isinstance(backend, OnnxBackend)
    assert backend.graph == graph
    assert backend.concurrency == 2
    batches = [reference.tokenize([text, *TEXTS], "right") for text in ("one", "two", "three", "four")]
    with ThreadPoolExecutor(2) as workers:
        together = list(workers.map(backend.forward, batches))
    for batch, vectors in zip(batches, together, strict=True):
        assert _cosines(vectors, reference.forward(batch)).min() >= 0.9999


def test_a_verdict_measured_for_another_layout_is_measured_again(
    reference: SentenceTransformerBackend, model_dir: Path, tmp_path: Path
) -> None:
    use_onnx(reference, model_dir, tmp_path, choice="auto", threads=1)
    verdict_file = next(tmp_path.rglob("verdict.unpadded.json"))  # the default graph's, for a BERT
    assert json.loads(verdict_file.read_text())["onnx_workers"] == 1
    use_onnx(reference, model_dir, tmp_path, choice="auto", threads=2)
    assert json.loads(verdict_file.read_text())["onnx_workers"] == 2


def test_sessions_allocate_from_malloc_not_a_growing_arena(
    reference: SentenceTransformerBackend, model_dir: Path, tmp_path: Path
) -> None:
    # The runtime's arena kept every block it grew to for each new request shape: RSS grew run after run.
    verdict = use_onnx(reference, model_dir, tmp_path, choice="onnx")
    assert isinstance(verdict.backend, OnnxBackend)
    assert verdict.backend._session.get_session_options().enable_cpu_mem_arena is False
