"""Prometheus metrics, one registry per app so several servers can live in one process (tests)."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class BatchFacts(Protocol):
    """What one forward pass reports (the engine's ``BatchStats``); a Protocol, so this base module
    imports nothing from the engine above it."""

    @property
    def size(self) -> int: ...
    @property
    def computed_tokens(self) -> int: ...
    @property
    def queued_inputs(self) -> int: ...


class ReplicaFacts(Protocol):
    """What one replica reports having done (the engine's ``ReplicaWork``)."""

    @property
    def slot(self) -> int: ...
    @property
    def calls(self) -> int: ...
    @property
    def inputs(self) -> int: ...
    @property
    def busy_seconds(self) -> float: ...


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.server = Info(
            "inferhouse_server",
            "This server's runtime, database, vector store and version (to tell API servers apart)",
            registry=self.registry,
        )
        self.requests = Counter(
            "inferhouse_requests", "HTTP requests answered", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "inferhouse_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "inferhouse_batch_size",
            "Inputs per forward pass",
            ["model"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_tokens = Counter(
            "inferhouse_batch_computed_tokens",
            "Tokens computed, padding included",
            ["model"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "inferhouse_queue_depth", "Inputs waiting for a forward pass", ["model"], registry=self.registry
        )
        self.cache_hits = Counter(
            "inferhouse_cache_hits", "Embeddings served from the cache", ["model"], registry=self.registry
        )
        self.cache_misses = Counter(
            "inferhouse_cache_misses", "Embeddings computed", ["model"], registry=self.registry
        )
        self.model_load_seconds = Histogram(
            "inferhouse_model_load_seconds",
            "Time to load a model",
            registry=self.registry,
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120),
        )

        self.endpoint_requests = Counter(
            "inferhouse_endpoint_requests",
            "Requests to an endpoint, by outcome (ok or the error kind)",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.endpoint_latency = Histogram(
            "inferhouse_endpoint_request_seconds",
            "Latency of an endpoint's requests, waiting for a cold start included",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.endpoint_replicas = Gauge(
            "inferhouse_endpoint_replicas",
            "Replicas loaded and serving",
            ["endpoint"],
            registry=self.registry,
        )
        self.endpoint_target_replicas = Gauge(
            "inferhouse_endpoint_target_replicas",
            "Replicas the autoscaler is heading for (the replicas serving when no scale is under way)",
            ["endpoint"],
            registry=self.registry,
        )
        self.endpoint_state = Gauge(
            "inferhouse_endpoint_state",
            "1 for the endpoint's current lifecycle state, 0 for the others",
            ["endpoint", "state"],
            registry=self.registry,
        )

        # Per replica of the in-process runtimes; ``replica`` is the replica's slot (0 .. replicas - 1; a
        # replacement takes the slot of the one it replaces), so the label's values stay few.
        self.replica_calls = Counter(
            "inferhouse_replica_calls",
            "Requests a replica took",
            ["endpoint", "replica"],
            registry=self.registry,
        )
        self.replica_inputs = Counter(
            "inferhouse_replica_inputs",
            "Inputs a replica computed (texts embedded, bodies answered)",
            ["endpoint", "replica"],
            registry=self.registry,
        )
        self.replica_busy = Counter(
            "inferhouse_replica_busy_seconds",
            "Seconds a replica's threads spent on work (tokenizing, forward passes, calls)",
            ["endpoint", "replica"],
            registry=self.registry,
        )

    def describe_server(self, *, runtime: str, database: str, vector_store: str, version: str) -> None:
        self.server.info(
            {"runtime": runtime, "database": database, "vector_store": vector_store, "version": version}
        )

    def observe_replica(self, endpoint: str, work: ReplicaFacts) -> None:
        """Count what a replica of ``endpoint`` did; a report of nothing makes its series, at zero."""
        replica = str(work.slot)
        self.replica_calls.labels(endpoint, replica).inc(work.calls)
        self.replica_inputs.labels(endpoint, replica).inc(work.inputs)
        self.replica_busy.labels(endpoint, replica).inc(work.busy_seconds)

    def observe_batch(self, model: str, stats: BatchFacts) -> None:
        self.batch_size.labels(model).observe(stats.size)
        self.batch_tokens.labels(model).inc(stats.computed_tokens)
        self.queue_depth.labels(model).set(stats.queued_inputs)

    def observe_cache(self, model: str, hits: int, misses: int) -> None:
        if hits:
            self.cache_hits.labels(model).inc(hits)
        if misses:
            self.cache_misses.labels(model).inc(misses)

    def render(self) -> bytes:
        return generate_latest(self.registry)
