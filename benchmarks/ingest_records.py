"""Ingesting long documents: an integrated index against doing the same by hand with the SDK.

Both sides take the same documents (Python's own pydoc topic help: real prose, cut into documents)
through the same steps with the same chunking (sentence chunks of up to ``--max-chunk-size`` words, one
sentence of overlap) and the same model (the bundled all-MiniLM-L6-v2 endpoint), each with a rich
progress bar drawn as on a terminal:

* **integrated**: ``inferhouse ingest docs.jsonl --inference-id all-minilm-l6-v2 ...`` creates an index
  for the model and sends the documents as text records; the server chunks, embeds and stores them.
  Timed as the whole command, interpreter start included.
* **by hand**: this process chunks each document with ``inferhouse.chunking``, embeds the chunks with
  ``Client.embed`` (64 per call) and upserts the vectors with their text with ``Client.upsert``.

Rounds alternate the two, each into a fresh index; the server's embedding cache is off, so neither
side gains from the chunks the other embedded. The target (issue 5) is integrated throughput within
10% of by hand (a ratio of at least 0.9).

    .venv/bin/python benchmarks/ingest_records.py [--documents 48] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import RunningServer, start_server

from inferhouse.chunking import chunk_text, parse_chunking_settings
from inferhouse.client import Client

RESULTS = Path(__file__).parent / "results" / "ingest_records.json"
ENDPOINT = "all-minilm-l6-v2"
EMBED_BATCH = 64
ROWS_PER_REQUEST = 16


def documents(count: int, chars: int) -> list[dict[str, Any]]:
    """Long prose documents of about ``chars`` characters: the pydoc topics' prose (code blocks left
    out) run together and cut at sentence ends, so a document may span two topics, as a page would."""
    from pydoc_data.topics import topics

    prose = []
    for name in sorted(topics):
        paragraphs = [
            p for p in topics[name].split("\n\n") if not p.startswith((" ", "\t")) and ">>>" not in p
        ]
        prose.append(" ".join(" ".join(paragraphs).split()))
    stream = " ".join(prose)
    found: list[dict[str, Any]] = []
    at = 0
    while len(found) < count and at < len(stream):
        end = stream.find(". ", at + chars)
        end = len(stream) if end < 0 else end + 1
        found.append({"id": f"doc-{len(found)}", "text": stream[at:end], "part": len(found) % 7})
        at = end + 1
    return found


def integrated(server: RunningServer, path: Path, index: str, chunking: dict[str, Any]) -> float:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INFERHOUSE_")}
    # TTY_COMPATIBLE makes rich draw its live progress bar into the pipe as it would on a terminal.
    env |= {"HF_HUB_OFFLINE": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "120"}
    command = [
        sys.executable, "-m", "inferhouse", "ingest", str(path), "--index", index,
        "--inference-id", ENDPOINT, "--chunking-strategy", chunking["strategy"],
        "--max-chunk-size", str(chunking["max_chunk_size"]),
        "--sentence-overlap", str(chunking["sentence_overlap"]),
        "--batch-size", str(ROWS_PER_REQUEST), "--url", server.url, "--token", server.token or "",
    ]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    assert "\x1b[" in done.stderr, "the progress bar was not drawn"
    return elapsed


def by_hand(server: RunningServer, docs: list[dict[str, Any]], index: str, chunking: dict[str, Any]) -> float:
    settings = parse_chunking_settings(chunking)
    console = Console(file=open(os.devnull, "w"), force_terminal=True, width=120)  # noqa: SIM115
    progress = Progress(
        TextColumn("by hand"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    )
    began = time.perf_counter()
    with Client(server.url, token=server.token) as client, progress:
        task = progress.add_task("docs", total=len(docs))
        client.create_index(index, 384)
        for start in range(0, len(docs), ROWS_PER_REQUEST):
            batch = docs[start : start + ROWS_PER_REQUEST]
            pending: list[dict[str, Any]] = []
            for doc in batch:
                for number, chunk in enumerate(chunk_text(doc["text"], settings)):
                    metadata = {"text": chunk.text, "part": doc["part"], "record": doc["id"]}
                    pending.append({"id": f"{doc['id']}#{number}", "metadata": metadata})
            for at in range(0, len(pending), EMBED_BATCH):
                group = pending[at : at + EMBED_BATCH]
                vectors = client.embed([item["metadata"]["text"] for item in group], endpoint=ENDPOINT)
                for item, vector in zip(group, vectors, strict=True):
                    item["values"] = vector
            client.upsert(index, pending)
            progress.advance(task, len(batch))
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=48)
    parser.add_argument("--chars", type=int, default=5000, help="Characters per document")
    parser.add_argument("--max-chunk-size", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    chunking = {"strategy": "sentence", "max_chunk_size": args.max_chunk_size, "sentence_overlap": 1}
    docs = documents(args.documents, args.chars)
    settings = parse_chunking_settings(chunking)
    chunks = sum(len(chunk_text(doc["text"], settings)) for doc in docs)
    words = sum(len(doc["text"].split()) for doc in docs)
    print(f"{len(docs)} documents, {words} words, {chunks} chunks", flush=True)

    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "docs.jsonl"
        path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
        # No embedding cache: the second side would otherwise find every chunk the first one embedded.
        server = start_server(
            Path(scratch) / "data", env={"INFERHOUSE_CACHE_BYTES": "0", "INFERHOUSE_BACKEND": "auto"}
        )
        try:
            with Client(server.url, token=server.token) as client:
                client.embed(["warm up"] * 8, endpoint=ENDPOINT)
            for number in range(args.rounds):
                hand_s = by_hand(server, docs, f"hand-{number}", chunking)
                integrated_s = integrated(server, path, f"integrated-{number}", chunking)
                with Client(server.url, token=server.token) as client:
                    stored = client.index_stats(f"integrated-{number}").total_vector_count
                    by_hand_stored = client.index_stats(f"hand-{number}").total_vector_count
                assert stored == by_hand_stored == chunks, (stored, by_hand_stored, chunks)
                rounds.append({"by_hand_s": hand_s, "integrated_s": integrated_s})
                print(
                    f"round {number + 1}: by hand {hand_s:.2f}s ({len(docs) / hand_s:.2f} docs/s), "
                    f"integrated {integrated_s:.2f}s ({len(docs) / integrated_s:.2f} docs/s)",
                    flush=True,
                )
        finally:
            server.stop()

    hand = statistics.median(r["by_hand_s"] for r in rounds)
    served = statistics.median(r["integrated_s"] for r in rounds)
    summary = {
        "documents": len(docs),
        "words": words,
        "chunks": chunks,
        "by_hand_docs_per_s": len(docs) / hand,
        "integrated_docs_per_s": len(docs) / served,
        "by_hand_chunks_per_s": chunks / hand,
        "integrated_chunks_per_s": chunks / served,
        "ratio": hand / served,
    }
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "chunking": chunking,
        "rounds": rounds,
        "median": summary,
        "target": "integrated throughput >= 0.9 x by hand",
        "met": summary["ratio"] >= 0.9,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2), "\ntarget met:", result["met"])


if __name__ == "__main__":
    main()
