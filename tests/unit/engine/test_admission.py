"""Admission by estimated wait: arithmetic on reported passes, then the batcher with a clock that moves
only when a forward pass runs, so every estimate is exact."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from inferhouse.engine.admission import ROUND_SHARE, Admission, estimated_tokens
from inferhouse.engine.backends.base import TokenizedText
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from inferhouse.engine.batcher import MIN_ROUND_INPUTS, Batcher
from inferhouse.errors import BackendFailure, Overloaded
from tests.support.fake_time import FakeTime
from tests.support.gated_backend import GatedBackend

# 40 characters: 2 + 40 // 4 = 12 estimated tokens.
TEXT = "a sentence of exactly forty characters.."


def test_estimated_tokens_count_characters_and_stop_at_the_models_length() -> None:
    assert len(TEXT) == 40
    assert estimated_tokens([TEXT, "", "word " * 1000], max_input_length=128) == [12, 2, 128]


def _measured(tokens_per_s: float, max_wait_s: float = 1.0) -> tuple[Admission, FakeTime]:
    """An admission that drained ``tokens_per_s`` tokens in one second, with nothing left pending."""
    time = FakeTime()
    admission = Admission(max_wait_s, time.clock)
    admission.admit(int(tokens_per_s))
    time.now += 1.0
    admission.measure(int(tokens_per_s))
    admission.done(int(tokens_per_s))
    return admission, time


def test_nothing_measured_yet_admits_everything() -> None:
    admission = Admission(max_wait_s=1.0)
    for _ in range(100):
        admission.admit(10_000)
    assert admission.rate is None
    assert admission.round_tokens() is None
    assert admission.pending == 1_000_000


def test_work_is_refused_once_it_would_not_be_done_within_the_limit() -> None:
    admission, _ = _measured(1000)  # 1000 tokens/s
    admission.admit(600)  # nothing ahead
    admission.admit(400)  # 0.6 s ahead + 0.4 s of its own: done at the limit, still admitted
    with pytest.raises(Overloaded) as refused:
        admission.admit(500)  # 1.0 s ahead + 0.5 s of its own
    assert refused.value.retry_after == 1
    assert "1.5 s" in refused.value.message
    assert admission.pending == 1000  # the refused work was not counted
    admission.done(600)
    admission.admit(500)  # 0.4 + 0.5 s


def test_a_request_is_refused_for_its_own_size_where_a_smaller_one_fits() -> None:
    admission, _ = _measured(1000)
    admission.admit(500)
    with pytest.raises(Overloaded):
        admission.admit(600)  # 0.5 s ahead is under the limit, but it would be done after 1.1 s
    admission.admit(100)


def test_retry_after_is_the_time_until_the_wait_is_back_under_the_limit() -> None:
    admission, _ = _measured(1000)
    admission.admit(5200)
    with pytest.raises(Overloaded) as refused:
        admission.admit(1)
    assert refused.value.retry_after == math.ceil(5.201 - 1.0)


def test_a_request_larger_than_the_limit_is_admitted_when_nothing_is_ahead() -> None:
    admission, _ = _measured(100)
    admission.admit(10_000)  # 100 s of work alone: slow, but never refused forever
    assert admission.pending == 10_000


def test_the_rate_is_wall_clock_drain_so_parallel_passes_add_up() -> None:
    time = FakeTime()
    admission = Admission(max_wait_s=1.0, clock=time.clock)
    admission.admit(2000)
    time.now += 1.0
    admission.measure(1000)  # two workers finish a pass each in the same second
    admission.measure(1000)
    assert admission.rate == pytest.approx(2000, rel=0.05)  # recent passes weigh a little more


def test_an_idle_spell_does_not_count_as_time_spent() -> None:
    admission, time = _measured(1000)
    time.now += 3600  # nothing queued for an hour
    admission.admit(1000)
    time.now += 1.0
    admission.measure(1000)
    assert admission.rate == 1000


def test_time_between_passes_counts_against_the_rate() -> None:
    """Tokenizing, collecting a round and sharing the CPU slow the drain; only passes were timed once."""
    time = FakeTime()
    admission = Admission(max_wait_s=1.0, clock=time.clock)
    admission.admit(2000)
    for _ in range(2):
        time.now += 0.5  # between passes
        time.now += 0.5  # the pass
        admission.measure(1000)
    assert admission.rate == 1000


def test_a_round_holds_a_share_of_the_limit() -> None:
    admission, _ = _measured(1000, max_wait_s=2.0)
    assert admission.round_tokens() == 1000 * 2.0 * ROUND_SHARE


@pytest.mark.parametrize("limit", [0.0, math.inf])
def test_a_limit_of_zero_or_infinity_admits_everything(limit: float) -> None:
    admission, _ = _measured(1, max_wait_s=limit)
    for _ in range(10):
        admission.admit(1000)
    assert admission.pending == 10_000
    assert admission.round_tokens() is None


def test_recent_passes_outweigh_old_ones() -> None:
    time = FakeTime()
    admission = Admission(max_wait_s=1.0, clock=time.clock)
    admission.admit(1)
    for tokens in [100] * 300 + [1000] * 300:
        time.now += 1.0
        admission.measure(tokens)
    rate = admission.rate
    assert rate is not None
    assert 990 < rate <= 1000


class TickingBackend(GatedBackend):
    """A real tiny model whose every forward pass takes exactly one second of a fake clock; a pass can
    be held at the gate (open by default), and a pass over a text of ``fail_on`` raises."""

    def __init__(self, inner: SentenceTransformerBackend, time: FakeTime) -> None:
        super().__init__(inner, open_gate=True)
        self.time = time
        self.fail_on: set[int] = set()

    def on_pass(self, batch: Sequence[TokenizedText]) -> None:
        self.time.now += 1.0
        if any(len(item.ids) in self.fail_on for item in batch):
            raise RuntimeError("the model broke")


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> SentenceTransformerBackend:
    return SentenceTransformerBackend.load(tiny_model_dir)


@pytest.fixture
def ticking(backend: SentenceTransformerBackend) -> Iterator[TickingBackend]:
    ticking = TickingBackend(backend, FakeTime())
    yield ticking
    ticking.gate.set()


def _batcher(ticking: TickingBackend, max_queue_s: float = 1.0) -> Batcher:
    return Batcher(
        ticking,
        max_batch_tokens=16384,
        max_batch_size=64,
        max_queued_inputs=1000,
        max_queue_s=max_queue_s,
        clock=ticking.time.clock,
    )


async def test_the_batcher_refuses_what_would_wait_too_long_and_serves_what_it_admitted(
    ticking: TickingBackend,
) -> None:
    batcher = _batcher(ticking)
    try:
        await batcher.embed([TEXT])  # the first pass: 12 estimated tokens in 1 s
        assert batcher.admission.rate == 12
        ticking.gate.clear()
        ticking.entered.clear()
        held = asyncio.ensure_future(batcher.embed([TEXT] * 5))  # 60 tokens: 5 s of work
        assert await asyncio.to_thread(ticking.entered.wait, 30)
        with pytest.raises(Overloaded) as refused:
            await batcher.embed([TEXT])
        assert refused.value.retry_after == 5  # done after 5 s ahead + 1 s of its own; 1 s allowed
        ticking.gate.set()
        output = await held
        assert output.vectors.shape == (5, ticking.dimension)
        assert batcher.admission.pending == 0
        await batcher.embed([TEXT])  # the queue is empty again: admitted
    finally:
        batcher.close()


async def test_without_a_limit_the_batcher_queues_whatever_fits(ticking: TickingBackend) -> None:
    batcher = _batcher(ticking, max_queue_s=0.0)
    try:
        await batcher.embed([TEXT])
        ticking.gate.clear()
        ticking.entered.clear()
        held = asyncio.ensure_future(batcher.embed([TEXT] * 5))
        assert await asyncio.to_thread(ticking.entered.wait, 30)
        queued = asyncio.ensure_future(batcher.embed([TEXT]))
        await asyncio.sleep(0)
        ticking.gate.set()
        await asyncio.gather(held, queued)
    finally:
        batcher.close()


async def test_failed_and_abandoned_work_leaves_nothing_counted(ticking: TickingBackend) -> None:
    batcher = _batcher(ticking, max_queue_s=10.0)
    try:
        await batcher.embed([TEXT])
        failing = len(ticking.tokenize(["broken input here"], "right")[0].ids)
        ticking.fail_on = {failing}
        with pytest.raises(BackendFailure):
            await batcher.embed(["broken input here"])
        ticking.fail_on = set()
        ticking.gate.clear()
        ticking.entered.clear()
        held = asyncio.ensure_future(batcher.embed([TEXT]))
        assert await asyncio.to_thread(ticking.entered.wait, 30)
        abandoned = asyncio.ensure_future(batcher.embed([TEXT] * 3))
        await asyncio.sleep(0)
        abandoned.cancel()  # the caller went away while it waited
        ticking.gate.set()
        await held
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        await batcher.embed([TEXT])  # runs after the abandoned job was dropped
        assert batcher.admission.pending == 0
    finally:
        batcher.close()


async def test_a_round_takes_only_its_share_of_the_limit_from_the_queue(ticking: TickingBackend) -> None:
    """Within a round inputs are sorted by length, so a request can wait for work queued after it; a
    round bounded to a share of the limit bounds that wait (it once took the whole queue)."""
    batcher = _batcher(ticking, max_queue_s=200.0)
    try:
        await batcher.embed([TEXT])  # 12 tokens/s: a round may hold 12 * 200 s * share = 300 tokens
        assert batcher.admission.round_tokens() == 12 * 200.0 * ROUND_SHARE == 300
        ticking.gate.clear()
        ticking.entered.clear()
        held = asyncio.ensure_future(batcher.embed([TEXT]))
        assert await asyncio.to_thread(ticking.entered.wait, 30)
        first = asyncio.ensure_future(batcher.embed([TEXT] * 30))  # 360 tokens: a round of its own
        second = asyncio.ensure_future(batcher.embed([TEXT] * 20))
        await asyncio.sleep(0)
        ticking.passes.clear()
        ticking.gate.set()
        await asyncio.gather(held, first, second)
        assert ticking.passes == [1, 30, 20]
    finally:
        batcher.close()


async def test_a_bounded_round_still_fills_a_pass(ticking: TickingBackend) -> None:
    """Requests far smaller than the round's share are still gathered into passes of MIN_ROUND_INPUTS."""
    batcher = _batcher(ticking, max_queue_s=1.0)
    try:
        await batcher.embed([TEXT])  # a round's share: 1.5 tokens, under one input
        ticking.gate.clear()
        ticking.entered.clear()
        held = asyncio.ensure_future(batcher.embed([TEXT]))
        assert await asyncio.to_thread(ticking.entered.wait, 30)
        batcher.admission.max_wait_s = 1000.0  # admit the rest, as a burst before the rate caught up
        waiting = [asyncio.ensure_future(batcher.embed([TEXT])) for _ in range(MIN_ROUND_INPUTS + 4)]
        await asyncio.sleep(0)
        batcher.admission.max_wait_s = 1.0
        ticking.passes.clear()
        ticking.gate.set()
        await asyncio.gather(held, *waiting)
        assert ticking.passes == [1, MIN_ROUND_INPUTS, 4]
    finally:
        batcher.close()
