"""``inferhouse index`` and ``inferhouse ingest`` run as commands against a real server."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inferhouse.client import Client
from inferhouse.ingest import checkpoint_path
from inferhouse.ingest.checkpoint import load_checkpoint
from tests.support.server import RunningServer, index_name_for

ENDPOINT = "all-minilm-l6-v2"
ANIMALS = ["otter", "falcon", "tortoise", "jellyfish", "badger", "heron", "lynx", "walrus", "gecko", "moose"]
PLACES = ["river", "desert", "glacier", "reef", "forest", "marsh", "canyon", "tundra", "jungle", "harbour"]
ROWS = 150


def _env(server: RunningServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INFERHOUSE_")}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "COLUMNS": "200",  # rich tables wider than a pipe's default 80 columns
            "INFERHOUSE_URL": server.url,
            "INFERHOUSE_TOKEN": server.token or "",
            "INFERHOUSE_DATA_DIR": str(tmp_path / "no-data-dir"),
        }
    )
    env.update(extra)
    return env


def _run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "inferhouse", *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _json(env: dict[str, str], *args: str) -> Any:
    return json.loads(_run(env, *args, "--json").stdout)


def _sentence(i: int) -> str:
    return f"Note {i}: the {ANIMALS[i % 10]} was seen near the {PLACES[(i // 10) % 10]} in year {1900 + i}."


@pytest.fixture
def env(server: RunningServer, tmp_path: Path) -> dict[str, str]:
    return _env(server, tmp_path)


@pytest.fixture
def index(server: RunningServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = index_name_for(request.node.name, "cli")
    yield name
    with Client(server.url, token=server.token) as client:
        if name in [found.name for found in client.list_indexes()]:
            client.delete_index(name)


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    rows: list[dict[str, Any]] = [
        {"id": f"doc-{i}", "text": _sentence(i), "year": 1900 + i, "animal": ANIMALS[i % 10]}
        for i in range(ROWS)
    ]
    rows[10] = {"id": "doc-10", "title": "no text field"}
    rows[20] = {"id": "doc-20", "text": "   "}
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_index_commands(env: dict[str, str], index: str) -> None:
    created = _json(env, "index", "create", index, "--dimension", "384")
    assert (created["name"], created["dimension"], created["metric"]) == (index, 384, "cosine")
    assert index in [found["name"] for found in _json(env, "index", "list")]
    assert index in _run(env, "index", "list").stdout
    assert _json(env, "index", "describe", index)["dimension"] == 384
    with Client(env["INFERHOUSE_URL"], token=env["INFERHOUSE_TOKEN"]) as client:
        texts = ["a happy dog", "tax law [for] small [/firms]", "a joyful puppy"]
        vectors = client.embed(texts)
        client.upsert(
            index,
            [
                {"id": f"t{i}", "values": v, "metadata": {"text": t}}
                for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
            ],
        )
    stats = _json(env, "index", "stats", index)
    assert (stats["total_vector_count"], stats["namespaces"]) == (3, {"": 3})
    assert re.search(r"\ball\W+3\b", _run(env, "index", "stats", index).stdout)

    found = _json(
        env, "index", "query", index, "--text", "a cheerful puppy", "--endpoint", ENDPOINT, "--top-k", "2"
    )
    assert [match["id"] for match in found] == ["t2", "t0"]
    table = _run(env, "index", "query", index, "--id", "t1", "--top-k", "1").stdout
    assert "t1" in table
    assert "tax law [for] small [/firms]" in table
    filtered = _json(
        env, "index", "query", index, "--id", "t0", "--filter", '{"text": {"$ne": "a happy dog"}}'
    )
    assert "t0" not in [match["id"] for match in filtered]

    assert _run(env, "index", "delete", index).stdout.strip() == f"deleted index {index}"
    missing = _run(env, "index", "describe", index, check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: 404 NOT_FOUND")


def test_query_needs_one_target(env: dict[str, str]) -> None:
    both = _run(env, "index", "query", "x", "--text", "t", "--id", "i", check=False)
    assert (both.returncode, both.stderr.strip()) == (2, "error: give exactly one of --text or --id")
    no_endpoint = _run(env, "index", "query", "x", "--text", "t", check=False)
    assert no_endpoint.returncode == 2
    assert "--endpoint" in no_endpoint.stderr


def test_token_from_the_data_dir_and_refusals(server: RunningServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "admin-token").write_text((server.token or "") + "\n")
    env = _env(server, tmp_path)
    del env["INFERHOUSE_TOKEN"]
    assert isinstance(_json(env, "index", "list", "--data-dir", str(data_dir)), list)
    refused = _run(env, "index", "list", "--token", "wrong", check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: 401")
    unreachable = _run(env, "index", "list", "--url", "http://127.0.0.1:9", check=False)
    assert unreachable.returncode == 1
    assert "cannot talk to" in unreachable.stderr


def test_ingest_jsonl_then_query_by_text(env: dict[str, str], index: str, jsonl: Path) -> None:
    summary = _json(env, "ingest", str(jsonl), "--index", index, "--endpoint", ENDPOINT)
    assert summary["created_index"] is True
    assert (summary["rows"], summary["rows_done"], summary["upserted"], summary["bad_rows"]) == (
        ROWS,
        ROWS,
        ROWS - 2,
        2,
    )
    assert _json(env, "index", "stats", index)["total_vector_count"] == ROWS - 2
    assert _json(env, "index", "describe", index)["dimension"] == 384

    found = _json(
        env, "index", "query", index, "--text", _sentence(77), "--endpoint", ENDPOINT, "--top-k", "3"
    )
    assert found[0]["id"] == "doc-77"
    assert found[0]["metadata"] == {"text": _sentence(77), "year": 1977, "animal": ANIMALS[7]}
    table = _run(
        env, "index", "query", index, "--text", _sentence(77), "--endpoint", ENDPOINT, "--top-k", "1"
    ).stdout
    assert "doc-77" in table
    assert _sentence(77) in table

    again = _run(env, "ingest", str(jsonl), "--index", index, "--endpoint", ENDPOINT)
    assert "skipped line 11: no 'text' field" not in again.stderr  # nothing left to do, nothing re-read
    assert f"{ROWS} of {ROWS} rows done (resumed after {ROWS}): 0 vectors upserted" in again.stdout


def test_ingest_reports_bad_rows(env: dict[str, str], index: str, jsonl: Path) -> None:
    result = _run(env, "ingest", str(jsonl), "--index", index, "--endpoint", ENDPOINT)
    assert "skipped line 11: no 'text' field" in result.stderr
    assert "skipped line 21: field 'text' is empty" in result.stderr
    assert (
        f"{ROWS} of {ROWS} rows done: {ROWS - 2} vectors upserted into {index}, bad rows skipped: 2"
        in result.stdout
    )


def test_ingest_csv_without_ids_into_a_namespace(env: dict[str, str], index: str, tmp_path: Path) -> None:
    path = tmp_path / "facts.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["body", "source"])
        writer.writerows([[_sentence(i), f"book {i}"] for i in range(40)])
    _run(env, "index", "create", index, "--dimension", "384")
    summary = _json(
        env,
        "ingest",
        str(path),
        "--index",
        index,
        "--endpoint",
        ENDPOINT,
        "--text-field",
        "body",
        "--namespace",
        "csv",
        "--no-create",
    )
    assert (summary["upserted"], summary["created_index"]) == (40, False)
    found = _json(
        env, "index", "query", index, "--text", _sentence(12), "--endpoint", ENDPOINT, "--namespace", "csv"
    )
    assert found[0]["id"] == "facts-14"  # <file stem>-<line>: the header is line 1
    assert found[0]["metadata"] == {"body": _sentence(12), "source": "book 12"}


def test_ingest_no_create_and_unknown_format(
    env: dict[str, str], index: str, jsonl: Path, tmp_path: Path
) -> None:
    refused = _run(
        env, "ingest", str(jsonl), "--index", index, "--endpoint", ENDPOINT, "--no-create", check=False
    )
    assert refused.returncode == 1
    assert "does not exist" in refused.stderr
    other = tmp_path / "notes.parquet"
    other.write_bytes(b"PAR1")
    unknown = _run(env, "ingest", str(other), "--index", index, "--endpoint", ENDPOINT, check=False)
    assert unknown.returncode == 2
    assert "expected one of .jsonl" in unknown.stderr


def test_ingest_resumes_after_a_limit_without_resending_done_rows(
    env: dict[str, str], index: str, jsonl: Path
) -> None:
    first = _json(
        env,
        "ingest",
        str(jsonl),
        "--index",
        index,
        "--endpoint",
        ENDPOINT,
        "--batch-size",
        "32",
        "--limit",
        "64",
    )
    assert (first["rows_done"], first["upserted"]) == (64, 62)
    saved = load_checkpoint(checkpoint_path(jsonl))
    assert saved is not None
    assert (saved.index, saved.rows_done, saved.bad_rows) == (index, 64, 2)
    # Deleting rows the checkpoint calls done proves the resumed run does not send them again.
    with Client(env["INFERHOUSE_URL"], token=env["INFERHOUSE_TOKEN"]) as client:
        client.delete(index, ids=["doc-0", "doc-1"])
    second = _json(env, "ingest", str(jsonl), "--index", index, "--endpoint", ENDPOINT, "--batch-size", "32")
    assert (second["resumed_at"], second["rows_done"], second["upserted"]) == (64, ROWS, ROWS - 64)
    assert _json(env, "index", "stats", index)["total_vector_count"] == ROWS - 2 - 2

    checkpoint_path(jsonl).unlink()  # starting over is safe: upserts are idempotent by id
    third = _json(env, "ingest", str(jsonl), "--index", index, "--endpoint", ENDPOINT)
    assert (third["resumed_at"], third["upserted"]) == (0, ROWS - 2)
    assert _json(env, "index", "stats", index)["total_vector_count"] == ROWS - 2


def test_ingest_resumes_after_being_killed(env: dict[str, str], index: str, jsonl: Path) -> None:
    progress = checkpoint_path(jsonl)
    command = [
        sys.executable,
        "-m",
        "inferhouse",
        "ingest",
        str(jsonl),
        "--index",
        index,
        "--endpoint",
        ENDPOINT,
    ]
    process = subprocess.Popen(
        [*command, "--batch-size", "4"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not progress.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = load_checkpoint(progress)
    assert saved is not None
    done = saved.rows_done
    assert 0 < done <= ROWS

    resumed = _json(env, "ingest", str(jsonl), "--index", index, "--endpoint", ENDPOINT)
    assert (resumed["resumed_at"], resumed["rows_done"]) == (done, ROWS)
    assert resumed["upserted"] + resumed["bad_rows"] == ROWS - done
    assert _json(env, "index", "stats", index)["total_vector_count"] == ROWS - 2


def _story(i: int) -> str:
    """A document of several sentences whose one distinctive sentence sits in the middle."""
    filler = " ".join(f"Paragraph {i}.{n} repeats ordinary words about weather and roads." for n in range(6))
    return f"{filler} The {ANIMALS[i % 10]} crossed the {PLACES[i % 10]} at dawn. {filler}"


def test_ingest_into_an_integrated_index_with_chunking(
    env: dict[str, str], server: RunningServer, index: str, tmp_path: Path
) -> None:
    path = tmp_path / "stories.jsonl"
    rows = [{"id": f"story-{i}", "text": _story(i), "shelf": i % 3} for i in range(12)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    summary = _json(
        env,
        "ingest",
        str(path),
        "--index",
        index,
        "--inference-id",
        ENDPOINT,
        "--chunking-strategy",
        "word",
        "--max-chunk-size",
        "12",
        "--overlap",
        "2",
    )
    assert (summary["created_index"], summary["upserted"], summary["bad_rows"]) == (True, 12, 0)
    with Client(server.url, token=server.token) as client:
        stats = client.index_stats(index)
        assert stats.total_vector_count > 12 * 5  # every long story became many chunks
        hits = client.search_records(index, f"the {ANIMALS[4]} crossed the {PLACES[4]}", top_k=3)
    assert hits[0].id == "story-4"
    best = hits[0]
    assert best.fields["text"] == _story(4)[best.start_offset : best.end_offset]
    assert ANIMALS[4] in best.fields["text"]
    assert best.fields["shelf"] == 1

    bad = _run(
        env,
        "ingest",
        str(path),
        "--index",
        index,
        "--inference-id",
        ENDPOINT,
        "--max-chunk-size",
        "5",
        check=False,
    )
    assert bad.returncode == 2
    assert "[max_chunk_size] must be a greater than or equal to [20.0]" in bad.stderr
    both = _run(
        env, "ingest", str(path), "--index", index, "--endpoint", ENDPOINT, "--inference-id", "x", check=False
    )
    assert both.returncode == 2


def test_index_create_with_quantization(env: dict[str, str], index: str) -> None:
    created = _json(env, "index", "create", index, "--dimension", "8", "--quantization", "binary")
    assert (created["quantization"], created["tags"]) == ("binary", {"inferhouse-quantization": "binary"})
    assert _json(env, "index", "describe", index)["quantization"] == "binary"
    assert re.search(rf"{index}\W+8\W+cosine\W+binary\b", _run(env, "index", "list").stdout)
    assert re.search(r"quantization\W+binary", _run(env, "index", "describe", index).stdout)

    refused = _run(env, "index", "create", "other", "--dimension", "8", "--quantization", "int4", check=False)
    assert refused.returncode == 2
    assert "int4" in refused.stderr
