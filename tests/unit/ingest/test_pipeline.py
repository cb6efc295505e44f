"""The ingest loop against a fake client: batches, index creation, bad rows, crashes and resumes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from inferhouse.client import InferhouseAPIError
from inferhouse.ingest import BadRow, IngestError, Ingestion, IngestPlan, checkpoint_path
from inferhouse.ingest.checkpoint import load_checkpoint


class FakeClient:
    def __init__(self, fail_on_upsert: int | None = None) -> None:
        self.indexes: dict[str, int] = {}
        self.upserts: list[list[str]] = []
        self.fail_on_upsert = fail_on_upsert

    def embed(self, texts: list[str], *, endpoint: str) -> list[list[float]]:
        return [[float(len(text)), 1.0, 0.0] for text in texts]

    def describe_index(self, name: str) -> object:
        if name not in self.indexes:
            raise InferhouseAPIError(404, f"Resource {name} not found", "NOT_FOUND")
        return name

    def create_index(self, name: str, dimension: int) -> object:
        self.indexes[name] = dimension
        return name

    def upsert(self, index: str, vectors: Iterable[Mapping[str, Any]], namespace: str = "") -> int:
        if len(self.upserts) == self.fail_on_upsert:
            raise InferhouseAPIError(503, "unavailable", "unhealthy")
        ids = [vector["id"] for vector in vectors]
        self.upserts.append(ids)
        return len(ids)

    def ids(self) -> list[str]:
        return [vector_id for batch in self.upserts for vector_id in batch]


def _write(path: Path, n: int, bad_lines: frozenset[int] = frozenset()) -> Path:
    rows = [{"id": f"d{i}", "text": f"text {i}"} if i not in bad_lines else {"id": f"d{i}"} for i in range(n)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


PLAN = IngestPlan(index="idx", endpoint="e", batch_size=4)


def test_a_full_run_creates_the_index_and_reports_bad_rows(tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", 10, frozenset({3}))
    client, bad, batches = FakeClient(), list[BadRow](), list[int]()
    report = Ingestion(source, PLAN, checkpoint_path(source)).run(
        client, on_batch=batches.append, on_bad_row=bad.append
    )
    assert client.indexes == {"idx": 3}
    assert client.ids() == [f"d{i}" for i in range(10) if i != 3]
    assert batches == [4, 4, 2]
    assert bad == [BadRow(4, "no 'text' field")]
    assert (report.rows_done, report.upserted, report.bad_rows, report.created_index) == (10, 9, 1, True)
    saved = load_checkpoint(checkpoint_path(source))
    assert saved is not None
    assert (saved.rows_done, saved.bad_rows) == (10, 1)


def test_a_crash_resumes_after_the_last_acknowledged_batch(tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", 10)
    crashing = FakeClient(fail_on_upsert=1)
    with pytest.raises(InferhouseAPIError):
        Ingestion(source, PLAN, checkpoint_path(source)).run(crashing)
    assert crashing.ids() == ["d0", "d1", "d2", "d3"]

    client = FakeClient()
    client.indexes["idx"] = 3
    ingestion = Ingestion(source, PLAN, checkpoint_path(source))
    assert (ingestion.resumed_at, ingestion.restart_reason) == (4, None)
    report = ingestion.run(client)
    assert client.ids() == [f"d{i}" for i in range(4, 10)]
    assert (report.resumed_at, report.rows_done, report.upserted, report.created_index) == (4, 10, 6, False)


def test_limit_then_resume_then_append(tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", 6)
    client = FakeClient()
    first = Ingestion(
        source, IngestPlan(index="idx", endpoint="e", batch_size=4, limit=5), checkpoint_path(source)
    )
    assert first.run(client).rows_done == 5
    assert client.upserts == [["d0", "d1", "d2", "d3"], ["d4"]]
    assert Ingestion(source, PLAN, checkpoint_path(source)).run(client).upserted == 1
    assert Ingestion(source, PLAN, checkpoint_path(source)).run(client).upserted == 0
    with source.open("a") as handle:
        handle.write(json.dumps({"id": "d6", "text": "appended"}) + "\n")
    assert Ingestion(source, PLAN, checkpoint_path(source)).run(client).upserted == 1
    assert client.ids() == [f"d{i}" for i in range(7)]


def test_an_edited_file_or_another_index_starts_over(tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", 6)
    Ingestion(source, PLAN, checkpoint_path(source)).run(FakeClient())
    other = Ingestion(source, IngestPlan(index="other", endpoint="e"), checkpoint_path(source))
    assert other.resumed_at == 0
    assert other.restart_reason is not None
    source.write_text(source.read_text().replace("text 1", "edited"))
    edited = Ingestion(source, PLAN, checkpoint_path(source))
    assert (edited.resumed_at, edited.restart_reason) == (0, "the first 6 rows changed since the checkpoint")


def test_a_corrupt_checkpoint_starts_over(tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", 2)
    checkpoint_path(source).write_text("{")
    ingestion = Ingestion(source, PLAN, checkpoint_path(source))
    assert ingestion.resumed_at == 0
    assert ingestion.restart_reason is not None
    assert ingestion.run(FakeClient()).upserted == 2


def test_no_create_refuses_a_missing_index(tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", 2)
    client = FakeClient()
    plan = IngestPlan(index="idx", endpoint="e", create=False)
    with pytest.raises(IngestError, match="does not exist"):
        Ingestion(source, plan, checkpoint_path(source)).run(client)
    assert client.upserts == []
    assert load_checkpoint(checkpoint_path(source)) is None
