"""The batcher with a tiny real model; a gate on the first forward pass makes the timing deterministic."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from inferhouse.engine.backends.base import TokenizedText
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from inferhouse.engine.batcher import Batcher, BatchStats
from inferhouse.errors import InputTooLong, Overloaded, Unavailable
from tests.support.gated_backend import GatedBackend


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> SentenceTransformerBackend:
    return SentenceTransformerBackend.load(tiny_model_dir)


@pytest.fixture
def gated(backend: SentenceTransformerBackend) -> Iterator[GatedBackend]:
    gated = GatedBackend(backend)
    yield gated
    gated.gate.set()


async def _wait_entered(gated: GatedBackend) -> None:
    assert await asyncio.to_thread(gated.entered.wait, 30)


async def test_requests_waiting_together_share_one_forward_pass(gated: GatedBackend) -> None:
    stats: list[BatchStats] = []
    batcher = Batcher(
        gated, max_batch_tokens=16384, max_batch_size=64, max_queued_inputs=100, on_batch=stats.append
    )
    try:
        first = asyncio.ensure_future(batcher.embed(["first"]))
        await _wait_entered(gated)
        later = [asyncio.ensure_future(batcher.embed([f"text {i}"])) for i in range(7)]
        await asyncio.sleep(0.05)
        gated.gate.set()
        results = await asyncio.gather(first, *later)
    finally:
        batcher.close()
    assert [s.size for s in stats] == [1, 7]
    direct = gated.inner.forward(gated.inner.tokenize([f"text {i}" for i in range(7)], "right"))
    merged = np.stack([r.vectors[0] for r in results[1:]])
    assert np.allclose(merged, direct, atol=1e-5)


async def test_full_queue_is_overloaded_and_recovers(gated: GatedBackend) -> None:
    batcher = Batcher(gated, max_batch_tokens=16384, max_batch_size=64, max_queued_inputs=4)
    try:
        first = asyncio.ensure_future(batcher.embed(["a", "b", "c"]))
        await _wait_entered(gated)
        with pytest.raises(Overloaded, match="Model is overloaded"):
            await batcher.embed(["d", "e"])
        gated.gate.set()
        await first
        assert batcher.queued_inputs == 0
        assert (await batcher.embed(["d", "e"])).vectors.shape == (2, gated.dimension)
    finally:
        batcher.close()


async def test_truncate_false_fails_only_that_request(backend: SentenceTransformerBackend) -> None:
    batcher = Batcher(backend, max_batch_tokens=16384, max_batch_size=64, max_queued_inputs=100)
    try:
        long_text = "word " * 100  # the tiny model takes 32 tokens
        results = await asyncio.gather(
            batcher.embed([long_text], allow_truncation=False),
            batcher.embed([long_text], allow_truncation=True),
            return_exceptions=True,
        )
    finally:
        batcher.close()
    assert isinstance(results[0], InputTooLong)
    assert not isinstance(results[1], BaseException)
    assert results[1].truncated == [True]
    assert batcher.queued_inputs == 0


async def test_cancelled_request_releases_its_queue_slots(gated: GatedBackend) -> None:
    batcher = Batcher(gated, max_batch_tokens=16384, max_batch_size=64, max_queued_inputs=10)
    try:
        first = asyncio.ensure_future(batcher.embed(["a"]))
        await _wait_entered(gated)
        doomed = asyncio.ensure_future(batcher.embed(["b", "c"]))
        await asyncio.sleep(0.05)
        doomed.cancel()
        gated.gate.set()
        await first
        await batcher.embed(["d"])  # the worker has passed the cancelled job by now
        assert batcher.queued_inputs == 0
    finally:
        batcher.close()


async def test_a_round_waits_briefly_for_the_callers_of_the_last_round(gated: GatedBackend) -> None:
    stats: list[BatchStats] = []
    batcher = Batcher(
        gated,
        max_batch_tokens=16384,
        max_batch_size=64,
        max_queued_inputs=100,
        max_wait_s=2.0,
        on_batch=stats.append,
    )
    try:
        first = asyncio.ensure_future(batcher.embed(["first"]))
        await _wait_entered(gated)
        three = [asyncio.ensure_future(batcher.embed([f"text {i}"])) for i in range(3)]
        await asyncio.sleep(0.05)
        gated.gate.set()
        await asyncio.gather(first, *three)  # the last round answered three callers
        early = asyncio.ensure_future(batcher.embed(["early"]))
        await asyncio.sleep(0.2)  # the worker holds the round open for the other two
        late = [asyncio.ensure_future(batcher.embed([f"late {i}"])) for i in range(2)]
        await asyncio.gather(early, *late)
    finally:
        batcher.close()
    assert [s.size for s in stats] == [1, 3, 3]


async def test_replicas_serve_one_queue(backend: SentenceTransformerBackend) -> None:
    replicas = [GatedBackend(backend), GatedBackend(backend)]
    batcher = Batcher(replicas, max_batch_tokens=16384, max_batch_size=64, max_queued_inputs=100)
    try:
        first = asyncio.ensure_future(batcher.embed(["first"]))
        await asyncio.to_thread(lambda: any(r.entered.wait(0.01) for _ in range(3000) for r in replicas))
        second = asyncio.ensure_future(batcher.embed(["second"]))
        # Both replicas are inside a forward pass at once: the second call did not wait for the first.
        assert await asyncio.to_thread(lambda: all(r.entered.wait(30) for r in replicas))
        for replica in replicas:
            replica.gate.set()
        results = await asyncio.gather(first, second)
        assert [r.vectors.shape for r in results] == [(1, backend.dimension)] * 2
        assert batcher.replicas == 2
    finally:
        for replica in replicas:
            replica.gate.set()
        batcher.close()


async def test_a_closed_batcher_refuses_new_requests(backend: SentenceTransformerBackend) -> None:
    batcher = Batcher(backend, max_batch_tokens=16384, max_batch_size=64, max_queued_inputs=100)
    assert (await batcher.embed(["before"])).vectors.shape == (1, backend.dimension)
    batcher.close()
    with pytest.raises(Unavailable, match="send it again"):
        await batcher.embed(["after"])
    assert batcher.queued_inputs == 0


class MeetingBackend(GatedBackend):
    """Two workers of one backend: each forward pass waits until another pass is running beside it."""

    def __init__(self, inner: SentenceTransformerBackend) -> None:
        super().__init__(inner)
        self.concurrency = 2
        self.meeting = threading.Barrier(2, timeout=30)
        self.sizes: list[int] = []

    def forward(self, batch: Sequence[TokenizedText]) -> np.ndarray:
        self.sizes.append(len(batch))
        if len(self.sizes) <= 2:
            self.meeting.wait()  # raises BrokenBarrierError (failing the pass) if no second pass came
        return self.inner.forward(batch)


async def test_one_large_request_is_shared_by_a_backends_workers(backend: SentenceTransformerBackend) -> None:
    meeting = MeetingBackend(backend)
    batcher = Batcher(meeting, max_batch_tokens=16384, max_batch_size=64, max_queued_inputs=100)
    try:
        texts = [f"sentence number {i} " + "word " * (i % 5) for i in range(32)]
        result = await batcher.embed(texts)
        alone = backend.forward(backend.tokenize(texts, "right"))
        assert np.allclose(result.vectors, alone, atol=1e-5)
        assert batcher.workers == 2
        assert batcher.replicas == 1
        assert len(meeting.sizes) >= 2
        assert max(meeting.sizes) <= 16
    finally:
        batcher.close()


async def test_many_callers_with_shared_workers_all_get_their_own_vectors(
    backend: SentenceTransformerBackend,
) -> None:
    class Parallel(GatedBackend):
        def __init__(self, inner: SentenceTransformerBackend) -> None:
            super().__init__(inner)
            self.concurrency = 2
            self.gate.set()

    batcher = Batcher(Parallel(backend), max_batch_tokens=16384, max_batch_size=64, max_queued_inputs=1000)
    try:
        texts = [[f"caller {i} says " + "hello " * (i % 9)] * (1 + i % 3) for i in range(60)]
        results = await asyncio.gather(*(batcher.embed(t) for t in texts))
        for asked, got in zip(texts, results, strict=True):
            assert np.allclose(got.vectors, backend.forward(backend.tokenize(asked, "right")), atol=1e-5)
        assert batcher.queued_inputs == 0
    finally:
        batcher.close()
