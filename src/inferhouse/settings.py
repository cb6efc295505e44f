"""Typed settings, read from ``INFERHOUSE_*`` environment variables once at start-up and passed down."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ENDPOINT_NAME = "all-minilm-l6-v2"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("inferhouse", appauthor=False))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ENDPOINT_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"


class EndpointSpec(BaseModel):
    """An endpoint created on the first start, as given in ``INFERHOUSE_ENDPOINTS``; afterwards it is
    managed like any other (its stored state wins, except that a new model here replaces the old)."""

    name: str = Field(pattern=ENDPOINT_NAME_PATTERN)
    model: str
    task: str | None = "sentence-embeddings"
    revision: str | None = None
    type: Literal["public", "protected", "authenticated", "private"] = "protected"
    min_replica: int = Field(1, ge=0)
    max_replica: int = Field(1, ge=1)
    scale_to_zero_timeout: int | None = Field(None, ge=1)
    # What the autoscaler watches and the level that adds a replica (a threshold alone: pendingRequests').
    scaling_metric: Literal["pendingRequests", "hardwareUsage"] | None = None
    scaling_threshold: float | None = Field(None, gt=0, allow_inf_nan=False)
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] | None = None
    precision: Literal["auto", "float32", "float16", "bfloat16"] | None = None
    accelerator: Literal["cpu", "gpu"] = "cpu"

    @model_validator(mode="after")
    def _cpu_percent_at_most_100(self) -> EndpointSpec:
        if self.scaling_metric == "hardwareUsage" and (self.scaling_threshold or 0) > 100:
            raise ValueError(
                f"endpoint {self.name}: the scaling threshold of hardwareUsage is a CPU percentage, at most "
                f"100, got {self.scaling_threshold:g}"
            )
        return self


class Settings(BaseSettings):
    """Everything the server can be told; each field is also ``INFERHOUSE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="INFERHOUSE_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, ge=0, le=65535, description="Port.")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Database, admin token, index files, ONNX exports; default `~/.local/share/inferhouse`.",
    )

    database_url: str | None = Field(
        None,
        description="PostgreSQL for endpoints, tokens, inference configs and the index catalog "
        "(`postgresql://user:password@host:5432/db`), which several servers can share; unset: SQLite in "
        "the data dir.",
    )

    auth: bool = Field(True, description="Check tokens; `false` is accepted only on a loopback address.")
    admin_token: str | None = Field(
        None,
        description="The admin token (held in memory only); unset: generated on the first start and saved "
        "in `<data dir>/admin-token`.",
    )

    default_endpoint: bool = Field(True, description="Serve the bundled model as endpoint all-minilm-l6-v2.")
    endpoints: list[EndpointSpec] = Field(
        default_factory=list,
        description="JSON list of endpoints to create on the first start: "
        '`[{"name": "sim", "model": "<model id or directory>", "task": "sentence-similarity"}]`; also '
        "`revision`, `type`, `min_replica`, `max_replica`, `scale_to_zero_timeout`, `scaling_metric` "
        "(`pendingRequests` or `hardwareUsage`), `scaling_threshold`, `backend`, `precision`, "
        "`accelerator` (`cpu` or `gpu`).",
    )
    models: dict[str, Path] = Field(
        default_factory=dict, description="JSON object: model id to local directory, for `/models/{id}`."
    )
    model_roots: list[Path] = Field(
        default_factory=list,
        description="Directories in which non-admin tokens may name local model directories for endpoints "
        "(JSON list); an admin token may name any directory.",
    )
    max_loaded_models: int = Field(
        2, ge=1, description="Serverless models kept in memory at once, of every task together."
    )
    namespace: str = Field(
        "local", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="The management API's one namespace."
    )
    max_replicas: int = Field(8, ge=1, description="Most replicas one endpoint may ask for.")
    endpoint_memory_bytes: int | None = Field(
        None, ge=0, description="Memory all endpoints' models may take; unset: what the machine has free."
    )
    idle_check_seconds: float = Field(
        15.0, gt=0, description="How often endpoints idle past their scaleToZeroTimeout are unloaded."
    )
    autoscale_interval_seconds: float = Field(
        5.0, gt=0, description="How often the autoscaler compares each endpoint's load with its threshold."
    )
    scale_up_seconds: float = Field(
        10.0,
        ge=0,
        description="How long an endpoint's load stays above its scaling threshold before replicas are added "
        "(up to maxReplica).",
    )
    scale_down_seconds: float = Field(
        300.0,
        ge=0,
        description="How long an endpoint's load stays under its scaling threshold before replicas are "
        "removed (down to max(1, minReplica)).",
    )

    max_batch_tokens: int = Field(16384, ge=64, description="Padded tokens in one forward pass.")
    max_batch_size: int = Field(64, ge=1, description="Inputs in one forward pass.")
    max_batch_wait_ms: float = Field(
        5.0, ge=0, description="How long a round waits for the callers the last round answered."
    )
    max_client_batch_size: int = Field(256, ge=1, description="Inputs accepted in one request.")
    max_queued_inputs: int = Field(4096, ge=1, description="Inputs waiting per model before 429.")
    max_queue_seconds: float = Field(
        1.0,
        ge=0,
        description="Estimated wait past which an embedding model answers 429 (Retry-After); 0: no limit; "
        'per endpoint `"env": {"INFERHOUSE_MAX_QUEUE_SECONDS": ...}`.',
    )
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="Request body limit.")
    cache_bytes: int = Field(
        64 * 1024 * 1024, ge=0, description="Memory for cached embeddings, per model; 0 turns it off."
    )
    torch_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads for a model: torch's threads, or ONNX Runtime's workers; unset: all cores.",
    )
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto",
        description="CPU endpoints' encoder backend: `auto` (ONNX Runtime where measured faster and exact), "
        "`torch`, `onnx`, `onnx-int8`.",
    )
    precision: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto",
        description="Encoder precision: auto keeps float32 on the CPU and, on a GPU, takes float16 or "
        "bfloat16 where its vectors match float32's.",
    )

    vector_store: Literal["embedded", "pgvector"] = Field(
        "embedded",
        description=(
            "Where indexes keep their vectors: embedded (a SQLite file per index in the data directory, "
            "served from memory) or pgvector (a table per index in the INFERHOUSE_DATABASE_URL database, "
            "shared by every API replica on it)."
        ),
    )
    runtime: Literal["inprocess", "ray"] = Field(
        "inprocess",
        description=(
            "Where endpoint replicas run: inprocess (threads of this server) or ray (a Ray Serve "
            "deployment per endpoint, on the cluster at INFERHOUSE_RAY_ADDRESS; needs inferhouse[ray])."
        ),
    )
    ray_address: str = Field(
        "auto",
        description="The Ray cluster the ray runtime joins: auto (the one on this host), ray://host:10001, "
        "or local (start one in this process, for a single machine).",
    )
    ray_replica_cpus: float = Field(
        1.0, ge=0, description="CPUs each endpoint replica asks of Ray (the ray runtime places it by them)."
    )
    ann_min_vectors: int = Field(
        20_000, ge=1, description="Vectors a namespace needs before an ANN graph accelerates its queries."
    )
    ann_candidates: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Candidates the ANN graph proposes per query for exact rescoring (at least twice top_k; "
        "binary indexes rescore four times as many): more is higher recall and slower queries.",
    )
    ann_search_width: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Nodes the ANN graph's search keeps in view (HNSW's ef; at least the candidates): wider "
        "finds more of the true neighbours in a large, dense namespace for more graph time, and rescores "
        "no more rows.",
    )
    ann_segment_vectors: int = Field(
        1_000_000,
        ge=1_000,
        description="Vectors one ANN graph segment holds before a namespace's graph starts another: a query "
        "searches every segment, so fewer, larger segments are faster to search and smaller ones recall "
        "more in a dense namespace and build faster.",
    )

    secret_key: str | None = Field(
        None,
        description="Encrypts the API keys of remote inference services (a Fernet key, or any passphrase); "
        "unset: `<data dir>/secret.key`.",
    )

    log_level: str = Field("info", description="Log level.")

    @property
    def database_kind(self) -> str:
        """Which database keeps the state, ``postgresql`` or ``sqlite``: the kind only, never its URL."""
        return "postgresql" if self.database_url else "sqlite"

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgresql(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("the database URL must be postgresql://user:password@host:5432/database")
        return url

    @model_validator(mode="after")
    def _auth_off_only_on_loopback(self) -> Settings:
        if not self.auth and not is_loopback(self.host):
            raise ValueError(
                f"INFERHOUSE_AUTH=false is allowed only when listening on loopback, not on {self.host}"
            )
        return self

    @model_validator(mode="after")
    def _endpoint_names_unique(self) -> Settings:
        names = [spec.name for spec in self.endpoints]
        if self.default_endpoint:
            names.append(DEFAULT_ENDPOINT_NAME)
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"endpoint names must be unique: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _pgvector_needs_the_database(self) -> Settings:
        if self.vector_store == "pgvector" and not self.database_url:
            raise ValueError(
                "INFERHOUSE_VECTOR_STORE=pgvector keeps vectors in PostgreSQL: "
                "set INFERHOUSE_DATABASE_URL too"
            )
        return self

    @model_validator(mode="after")
    def _queue_holds_a_request(self) -> Settings:
        # Else a full-size request could never be queued, and a 429 would tell its caller to retry forever.
        if self.max_queued_inputs < self.max_client_batch_size:
            raise ValueError("max_queued_inputs must be at least max_client_batch_size")
        return self
