"""The real pinecone client (10.x, the test dependency) through the tutorial's index flow, and 7.x, in
its own virtual environment, through the same flow and every namespace, backup, restore-job and
bulk-import call it has."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pinecone import Index, Pinecone
from pinecone.errors import ForbiddenError, NotFoundError, PineconeError

from tests.support.parquet_layout import write_namespace
from tests.support.server import RunningServer, index_name_for

ROOT = Path(__file__).resolve().parents[2]
PINECONE7_ENV = ROOT / ".venv-pinecone7"
PINECONE7_FLOW = Path(__file__).parent / "pinecone7" / "flow.py"


@pytest.fixture
def index_name(pc: Pinecone, request: pytest.FixtureRequest) -> Iterator[str]:
    name = index_name_for(request.node.name, "t")
    yield name
    if pc.has_index(name):
        pc.configure_index(name, deletion_protection="disabled")
        pc.delete_index(name)


@pytest.fixture
def open_index(pc: Pinecone) -> Iterator[Callable[[str], Index]]:
    """``pc.Index`` whose connections are closed after the test (each index client has its own pool)."""
    opened: list[Index] = []

    def opener(name: str) -> Index:
        opened.append(pc.Index(name))
        return opened[-1]

    yield opener
    for index in opened:
        index.close()


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_tutorial_flow(pc: Pinecone, index_name: str, open_index: Callable[[str], Index]) -> None:
    pc.create_index(index_name, dimension=384, metric="cosine")
    assert index_name in pc.list_indexes().names()
    index = open_index(index_name)
    vectors = _unit(np.random.default_rng(0), 200, 384)
    for start in range(0, 200, 64):  # batches of 64, as the tutorial does
        batch = [
            (str(i), vectors[i].tolist(), {"text": f"passage {i}"})
            for i in range(start, min(start + 64, 200))
        ]
        assert index.upsert(vectors=batch).upserted_count == len(batch)
    stats = index.describe_index_stats()
    assert stats.dimension == 384
    assert stats.total_vector_count == 200
    assert stats.namespaces[""].vector_count == 200
    result = index.query(vector=vectors[7].tolist(), top_k=5, include_metadata=True)
    assert result.matches[0].id == "7"
    assert result.matches[0].score == pytest.approx(1.0, abs=1e-5)
    assert result.matches[0].metadata == {"text": "passage 7"}
    scores = [m.score for m in result.matches]
    assert scores == sorted(scores, reverse=True)
    pc.delete_index(index_name)
    assert not pc.has_index(index_name)


def test_records_and_namespaces(pc: Pinecone, index_name: str, open_index: Callable[[str], Index]) -> None:
    pc.create_index(index_name, dimension=3, metric="dotproduct")
    index = open_index(index_name)
    index.upsert(
        vectors=[
            {"id": "a", "values": [1, 0, 0], "metadata": {"genre": "drama", "year": 2020}},
            {"id": "b", "values": [0, 1, 0], "metadata": {"genre": ["comedy", "drama"], "year": 2021}},
            {"id": "c", "values": [0, 0, 1], "sparse_values": {"indices": [7], "values": [2.0]}},
        ],
        namespace="films",
    )
    fetched = index.fetch(ids=["a", "c", "zzz"], namespace="films").vectors
    assert sorted(fetched) == ["a", "c"]
    assert fetched["c"].sparse_values.indices == [7]
    hits = index.query(vector=[1, 1, 1], top_k=10, filter={"genre": "drama"}, namespace="films")
    assert sorted(m.id for m in hits.matches) == ["a", "b"]
    hybrid = index.query(
        vector=[0, 0, 1], sparse_vector={"indices": [7], "values": [1.5]}, top_k=1, namespace="films"
    )
    assert hybrid.matches[0].id == "c"
    assert hybrid.matches[0].score == pytest.approx(1.0 + 3.0)
    index.update(id="a", set_metadata={"year": 1999}, namespace="films")
    assert index.fetch(ids=["a"], namespace="films").vectors["a"].metadata == {"genre": "drama", "year": 1999}
    by_id = index.query(id="b", top_k=1, namespace="films")
    assert by_id.matches[0].id == "b"
    page = index.list_paginated(namespace="films", limit=2)
    assert [v.id for v in page.vectors] == ["a", "b"]
    rest = index.list_paginated(namespace="films", limit=2, pagination_token=page.pagination.next)
    assert [v.id for v in rest.vectors] == ["c"]
    assert index.describe_index_stats(filter={"year": {"$gte": 2000}}).total_vector_count == 1
    index.delete(filter={"year": {"$lt": 2000}}, namespace="films")
    index.delete(ids=["c"], namespace="films")
    assert sorted(index.fetch(ids=["a", "b", "c"], namespace="films").vectors) == ["b"]
    index.delete(delete_all=True, namespace="films")
    assert index.describe_index_stats().total_vector_count == 0


def test_control_plane_errors(pc: Pinecone, index_name: str) -> None:
    pc.create_index(
        index_name, dimension=8, metric="euclidean", deletion_protection="enabled", tags={"team": "a"}
    )
    with pytest.raises(PineconeError) as exists:
        pc.create_index(index_name, dimension=8, metric="euclidean")
    assert "already exists" in str(exists.value)
    with pytest.raises(ForbiddenError):
        pc.delete_index(index_name)
    described = pc.describe_index(index_name)
    assert described.deletion_protection == "enabled"
    assert described.tags == {"team": "a"}
    pc.configure_index(index_name, deletion_protection="disabled", tags={"team": "", "env": "test"})
    assert pc.describe_index(index_name).tags == {"env": "test"}
    with pytest.raises(NotFoundError):
        pc.describe_index("no-such-index")


def test_dimension_mismatch_writes_nothing(
    pc: Pinecone, index_name: str, open_index: Callable[[str], Index]
) -> None:
    pc.create_index(index_name, dimension=4, metric="cosine")
    index = open_index(index_name)
    with pytest.raises(PineconeError) as caught:
        index.upsert(vectors=[("ok", [1, 2, 3, 4]), ("bad", [1, 2, 3])])
    assert "Vector dimension 3 does not match the dimension of the index 4" in str(caught.value)
    assert index.describe_index_stats().total_vector_count == 0


@pytest.fixture(scope="session")
def pinecone7_python() -> Path:
    """A virtual environment with the 7.x client, made once and kept (it only needs the package index)."""
    python = PINECONE7_ENV / "bin" / "python"
    pins = ROOT / "requirements" / "pinecone7.txt"
    # The stamp is written last, so an install that was cut short is redone rather than trusted.
    stamp = PINECONE7_ENV / ".installed"
    if not stamp.exists() or stamp.read_text() != pins.read_text():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PINECONE7_ENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(pins)], check=True)
        stamp.write_text(pins.read_text())
    return python


def _run_pinecone7(python: Path, script: str, *args: str) -> str:
    """Run ``pinecone7/<script>`` with the 7.x client; its output, once it exits cleanly."""
    result = subprocess.run(
        [str(python), str(Path(__file__).parent / "pinecone7" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_pinecone7_client_flow(server: RunningServer, pinecone7_python: Path) -> None:
    output = _run_pinecone7(pinecone7_python, PINECONE7_FLOW.name, server.url, server.token or "")
    assert "pinecone 7.3.0 flow ok" in output


def test_pinecone7_namespaces(server: RunningServer, pinecone7_python: Path) -> None:
    output = _run_pinecone7(pinecone7_python, "namespaces_flow.py", server.url, server.token or "")
    assert "pinecone 7.3.0 namespaces ok" in output


def test_pinecone7_backups_and_restore_jobs(server: RunningServer, pinecone7_python: Path) -> None:
    output = _run_pinecone7(pinecone7_python, "backups_flow.py", server.url, server.token or "")
    assert "pinecone 7.3.0 backups ok" in output


def test_pinecone7_quantized_index(server: RunningServer, pinecone7_python: Path) -> None:
    output = _run_pinecone7(pinecone7_python, "quantized_flow.py", server.url, server.token or "")
    assert "pinecone 7.3.0 quantized ok" in output


def test_pinecone7_bulk_imports(server: RunningServer, pinecone7_python: Path, tmp_path: Path) -> None:
    # The sources imports_flow.py imports and checks (the 7.x environment has no pyarrow to write them).
    rows = range(20)
    write_namespace(
        tmp_path / "src",
        "",
        [f"r{i}" for i in rows],
        [[float(i), 1.0, -1.0, 0.5] for i in rows],
        metadata=[{"i": i} if i % 2 == 0 else None for i in rows],
    )
    films = range(10)
    write_namespace(
        tmp_path / "src",
        "films",
        [f"f{i}" for i in films],
        [[0.0, float(i), 0.0, 1.0] for i in films],
        sparse=[{"indices": [i, i + 7], "values": [0.5, 0.25]} for i in films],
    )
    write_namespace(
        tmp_path / "bad", "checked", ["ok-1", "short", "ok-2"], [[1, 2, 3, 4], [1, 2], [4, 3, 2, 1]]
    )
    for part in range(4):  # 400,000 records in many batches, so a cancel lands while they load
        vectors = np.random.default_rng(part).normal(size=(100_000, 4)).astype(np.float32)
        ids = [f"v{part}-{i}" for i in range(100_000)]
        write_namespace(tmp_path / "large", "bulk", ids, vectors, file_name=f"{part}.parquet")
    output = _run_pinecone7(
        pinecone7_python, "imports_flow.py", server.url, server.token or "", str(tmp_path)
    )
    assert "pinecone 7.3.0 imports ok" in output
