"""The outbound rate limiter, driven by a fake clock: spacing, no bursts, rate changes, shared buckets."""

from __future__ import annotations

import asyncio
import math

import pytest

from inferhouse.inference.rate_limit import DEFAULT_REQUESTS_PER_MINUTE, RateLimiter, RateLimiters
from tests.support.fake_time import FakeTime, FrozenTime


def limiter(per_minute: float, fake: FakeTime) -> RateLimiter:
    return RateLimiter(per_minute, clock=fake.clock, sleep=fake.sleep)


async def test_first_request_goes_at_once_and_the_next_waits_one_interval() -> None:
    fake = FakeTime()
    bucket = limiter(600, fake)
    await bucket.acquire()
    assert fake.sleeps == []
    await bucket.acquire()
    assert fake.sleeps == [pytest.approx(0.1)]


async def test_callers_arriving_together_are_spaced_in_arrival_order() -> None:
    fake = FrozenTime()
    bucket = limiter(120, fake)  # one every 0.5 s
    await asyncio.gather(*(bucket.acquire() for _ in range(5)))
    assert fake.sleeps == pytest.approx([0.5, 1.0, 1.5, 2.0])  # the first went without sleeping


async def test_an_idle_bucket_holds_only_one_token() -> None:
    fake = FrozenTime()
    bucket = limiter(60, fake)  # one per second
    await bucket.acquire()
    fake.now += 3600  # an hour idle must not save up a burst
    for _ in range(3):
        await bucket.acquire()
    assert fake.sleeps == pytest.approx([1.0, 2.0])


async def test_at_most_the_rate_starts_in_any_minute() -> None:
    fake = FakeTime()
    bucket = limiter(30, fake)
    starts = []
    for _ in range(95):
        await bucket.acquire()
        starts.append(fake.now)
    for first in starts:
        assert sum(1 for start in starts if first <= start < first + 60) <= 30


async def test_a_new_rate_applies_from_the_next_reservation() -> None:
    fake = FrozenTime()
    bucket = limiter(60, fake)
    await bucket.acquire()  # at t, next slot t + 1
    await bucket.acquire()  # waits 1 s, next slot t + 2
    bucket.requests_per_minute = 600
    assert bucket.requests_per_minute == 600
    assert bucket.interval == pytest.approx(0.1)
    await bucket.acquire()  # the slot already promised (t + 2), then t + 2.1
    await bucket.acquire()
    assert fake.sleeps == pytest.approx([1.0, 2.0, 2.1])


def test_reserve_reports_the_wait_without_sleeping() -> None:
    fake = FrozenTime()
    bucket = limiter(6, fake)  # one per 10 s
    assert bucket.reserve() == 0
    assert bucket.reserve() == pytest.approx(10.0)
    assert fake.sleeps == []


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf])
def test_rates_must_be_positive_and_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateLimiter(bad)
    bucket = RateLimiter(10)
    with pytest.raises(ValueError, match="requests_per_minute"):
        bucket.requests_per_minute = bad
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateLimiters().for_key("http://upstream", "key", bad)


def test_default_rate_is_elasticsearchs() -> None:
    assert RateLimiter().requests_per_minute == DEFAULT_REQUESTS_PER_MINUTE == 3000


def test_one_bucket_per_url_and_key() -> None:
    limiters = RateLimiters()
    first = limiters.for_key("http://a/embed", "key-1", 100)
    assert limiters.for_key("http://a/embed", "key-1", 100) is first
    assert limiters.for_key("http://a/embed", "key-2", 100) is not first
    assert limiters.for_key("http://b/embed", "key-1", 100) is not first
    assert len(limiters) == 3


def test_the_lowest_rate_wins_for_a_shared_bucket() -> None:
    limiters = RateLimiters()
    first = limiters.for_key("http://a/embed", "key", 250)
    second = limiters.for_key("http://a/embed", "key", 100)
    third = limiters.for_key("http://a/embed", "key", 600)
    assert second is first
    assert third is first
    assert first.requests_per_minute == 100


def test_the_registry_does_not_keep_the_raw_key() -> None:
    limiters = RateLimiters()
    secret = "hf_supersecretvalue"
    bucket = limiters.for_key("http://a/embed", secret, 100)
    assert secret not in repr(limiters._limiters)
    assert secret not in repr(limiters)
    assert secret not in repr(bucket)


async def test_buckets_from_the_registry_use_its_clock() -> None:
    fake = FrozenTime()
    limiters = RateLimiters(clock=fake.clock, sleep=fake.sleep)
    shared = limiters.for_key("http://a/embed", "key", 60)
    await shared.acquire()
    await limiters.for_key("http://a/embed", "key", 60).acquire()
    await limiters.for_key("http://a/embed", "other", 60).acquire()
    assert fake.sleeps == pytest.approx([1.0])  # only the second call on the shared bucket waited
