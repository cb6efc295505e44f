"""The in-memory request history behind the dashboard's charts."""

from __future__ import annotations

from inferhouse.endpoints.history import BUCKET_SECONDS, WINDOW_SECONDS, RequestHistory


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_requests_fall_into_ten_second_buckets_with_errors_and_percentiles() -> None:
    clock = Clock(1_000_000.0)
    history = RequestHistory(clock)
    for _ in range(98):
        history.record("e", 0.010, error=False)
    history.record("e", 2.0, error=True)
    history.record("e", 2.0, error=True)
    clock.now += BUCKET_SECONDS
    history.record("e", 0.5, error=False)
    reply = history.series("e", 60)
    assert reply["bucketSeconds"] == BUCKET_SECONDS
    assert len(reply["series"]) == 6
    earlier, latest = reply["series"][-2], reply["series"][-1]
    assert latest["start"] - earlier["start"] == BUCKET_SECONDS
    assert (earlier["requests"], earlier["errors"]) == (100, 2)
    assert 10 <= earlier["p50Ms"] <= 12  # within one 20 % bin above the true value
    assert 2000 <= earlier["p99Ms"] <= 2400
    assert (latest["requests"], latest["errors"]) == (1, 0)
    assert reply["series"][0] == {
        "start": reply["series"][0]["start"],
        "requests": 0,
        "errors": 0,
        "p50Ms": None,
        "p99Ms": None,
    }
    summary = reply["lastMinute"]
    assert summary["requests"] == 101
    assert summary["errors"] == 2
    assert summary["requestsPerSecond"] == round(101 / 60, 3)


def test_the_history_keeps_one_hour_and_forgets_a_deleted_endpoint() -> None:
    clock = Clock(5_000_000.0)
    history = RequestHistory(clock)
    for _ in range(WINDOW_SECONDS // BUCKET_SECONDS + 50):  # an hour and more of busy buckets
        history.record("e", 0.01, error=False)
        clock.now += BUCKET_SECONDS
    reply = history.series("e", 10**9)
    assert reply["windowSeconds"] == WINDOW_SECONDS
    assert len(reply["series"]) == WINDOW_SECONDS // BUCKET_SECONDS
    assert sum(point["requests"] for point in reply["series"]) == WINDOW_SECONDS // BUCKET_SECONDS - 1
    assert len(history._buckets["e"]) == WINDOW_SECONDS // BUCKET_SECONDS
    assert history.series("e", 60)["lastMinute"]["requests"] == 5
    history.forget("e")
    assert history.series("e")["lastMinute"]["requests"] == 0


def test_a_quiet_minute_has_no_latency() -> None:
    history = RequestHistory(Clock(7_000_000.0))
    summary = history.series("nobody")["lastMinute"]
    assert summary == {"requests": 0, "errors": 0, "requestsPerSecond": 0.0, "p50Ms": None, "p99Ms": None}
