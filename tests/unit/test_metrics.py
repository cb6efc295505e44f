"""The Prometheus text the metrics render: per-replica counters and the server's description."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from inferhouse._version import __version__
from inferhouse.engine.roster import ReplicaWork
from inferhouse.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the rendered text, by name and sorted labels (parsed as a scraper would)."""
    text = metrics.render().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _replica(name: str, endpoint: str, replica: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, (("endpoint", endpoint), ("replica", replica))


def test_replica_reports_add_up_per_endpoint_and_slot() -> None:
    metrics = Metrics()
    metrics.observe_replica("embed", ReplicaWork(0))  # a replica starting: its series, at zero
    metrics.observe_replica("embed", ReplicaWork(1))
    assert _samples(metrics)[_replica("inferhouse_replica_calls_total", "embed", "1")] == 0
    metrics.observe_replica("embed", ReplicaWork(0, calls=2, busy_seconds=0.001))
    metrics.observe_replica("embed", ReplicaWork(0, inputs=5, busy_seconds=0.25))
    metrics.observe_replica("embed", ReplicaWork(1, calls=1, inputs=1, busy_seconds=0.5))
    metrics.observe_replica("rank", ReplicaWork(0, calls=1, inputs=1, busy_seconds=0.125))
    samples = _samples(metrics)
    expected = {
        ("embed", "0"): (2, 5, 0.251),
        ("embed", "1"): (1, 1, 0.5),
        ("rank", "0"): (1, 1, 0.125),
    }
    for (endpoint, replica), (calls, inputs, busy) in expected.items():
        assert samples[_replica("inferhouse_replica_calls_total", endpoint, replica)] == calls
        assert samples[_replica("inferhouse_replica_inputs_total", endpoint, replica)] == inputs
        assert (
            abs(samples[_replica("inferhouse_replica_busy_seconds_total", endpoint, replica)] - busy) < 1e-9
        )
    assert not any(
        name.startswith("inferhouse_replica") and ("replica", "2") in labels for name, labels in samples
    )


def test_the_server_describes_itself_in_one_info_series() -> None:
    metrics = Metrics()
    metrics.describe_server(
        runtime="ray", database="postgresql", vector_store="pgvector", version=__version__
    )
    text = metrics.render().decode()
    assert "# TYPE inferhouse_server_info gauge" in text
    labels = (
        ("database", "postgresql"),
        ("runtime", "ray"),
        ("vector_store", "pgvector"),
        ("version", __version__),
    )
    assert _samples(metrics)[("inferhouse_server_info", labels)] == 1
