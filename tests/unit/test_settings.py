from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from inferhouse.settings import Settings


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERHOUSE_PORT", "9001")
    monkeypatch.setenv("INFERHOUSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INFERHOUSE_MODELS", '{"org/m": "/models/m"}')
    settings = Settings()
    assert settings.port == 9001
    assert settings.data_dir == tmp_path
    assert settings.models == {"org/m": Path("/models/m")}
    assert settings.host == "127.0.0.1"
    assert settings.auth


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_auth_may_be_off_on_loopback(host: str) -> None:
    assert not Settings(host=host, auth=False).auth


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.org"])
def test_auth_must_stay_on_elsewhere(host: str) -> None:
    with pytest.raises(ValidationError, match="only when listening on loopback"):
        Settings(host=host, auth=False)


def test_queue_must_hold_one_full_request() -> None:
    with pytest.raises(ValidationError, match="max_queued_inputs"):
        Settings(max_queued_inputs=10, max_client_batch_size=20)


def test_declared_endpoints_carry_backend_precision_and_accelerator() -> None:
    from inferhouse.app import declared_endpoints

    spec = {
        "name": "gpu-embed",
        "model": "org/m",
        "backend": "torch",
        "precision": "float16",
        "accelerator": "gpu",
    }
    settings = Settings(endpoints=[spec], default_endpoint=False)  # type: ignore[list-item]
    (config,) = declared_endpoints(settings)
    assert config.model.backend == "torch"
    assert config.model.precision == "float16"
    assert config.compute.accelerator == "gpu"
    with pytest.raises(ValidationError, match="precision"):
        Settings(endpoints=[{"name": "e", "model": "m", "precision": "fp8"}])  # type: ignore[list-item]


def test_declared_endpoints_carry_their_scaling_metric_and_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    from inferhouse.app import declared_endpoints
    from inferhouse.endpoints.config import ScalingMetric

    declared = [
        {
            "name": "cpu-bound",
            "model": "m",
            "max_replica": 3,
            "scaling_metric": "hardwareUsage",
            "scaling_threshold": 60,
        },
        {"name": "queued", "model": "m", "scaling_threshold": 4},
        {"name": "plain", "model": "m"},
    ]
    monkeypatch.setenv("INFERHOUSE_ENDPOINTS", json.dumps(declared))
    configs = {config.name: config.compute for config in declared_endpoints(Settings(default_endpoint=False))}
    assert (configs["cpu-bound"].metric, configs["cpu-bound"].threshold) == (ScalingMetric.HARDWARE_USAGE, 60)
    # A threshold alone is pendingRequests', and is stored so (the management API shows the measure).
    assert configs["queued"].measure_json() == {"pendingRequests": 4.0}
    assert configs["plain"].measure_json() is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"scaling_metric": "gpuTemperature"}, "pendingRequests"),
        ({"scaling_threshold": 0}, "greater than 0"),
        ({"scaling_threshold": "inf"}, "finite"),
        ({"scaling_metric": "hardwareUsage", "scaling_threshold": 150}, "at most 100, got 150"),
    ],
)
def test_a_bad_declared_scaling_setting_stops_the_settings(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(endpoints=[{"name": "e", "model": "m", **spec}])  # type: ignore[list-item]


def test_pgvector_needs_a_database_url(tmp_path: Path) -> None:
    with pytest.raises(
        ValidationError, match="pgvector keeps vectors in PostgreSQL: set INFERHOUSE_DATABASE_URL"
    ):
        Settings(data_dir=tmp_path, vector_store="pgvector")
    chosen = Settings(data_dir=tmp_path, vector_store="pgvector", database_url="postgresql://db.example/x")
    assert chosen.vector_store == "pgvector"
