"""inferhouse for ``vector_ops.py``: a real ``inferhouse serve`` process, driven by the ``pinecone`` client.

    python benchmarks/vector_ops_inferhouse.py load|restart N DIR [options]   (see vector_ops_driver.py)
    python benchmarks/vector_ops_inferhouse.py import N DIR --parquet-python PY

The server runs with the embedded vector store, no model endpoint (this measures the index alone) and
``HF_HUB_OFFLINE=1``; memory is the server process's RSS, read from ``/proc``. Loading goes through
the upsert API: ``Index.upsert(vectors, batch_size=500)``, the client's own batching (8 requests in
flight); the dicts it sends are built before the timer starts. After the last upsert, the load waits
until the server is idle (its background work, the ANN graph and SQLite catching up with the journal,
is done). ``import`` is the bulk import: a fresh server, an index, Pinecone's Parquet layout written by
``vector_peers/parquet_layout.py``, then ``start_import`` and ``describe_import`` until it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import requests
from pinecone import ApiError, Pinecone

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import free_port

from benchmarks.vector_ops_driver import Matrix, main, process_rss

INDEX = "ops"
TOKEN = "bench-admin-token"
UPSERT_BATCH = 500
MAX_BODY_BYTES = 8 << 20
TICKS = os.sysconf("SC_CLK_TCK")
IDLE_WINDOW_S = 1.0
IDLE_CPU_S = 0.05  # CPU seconds per window below which the server counts as idle
DONE = {"Completed", "Failed", "Cancelled"}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Server:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("INFERHOUSE_")}
        env.update(
            {
                "HF_HUB_OFFLINE": "1",
                "INFERHOUSE_ADMIN_TOKEN": TOKEN,
                "INFERHOUSE_DEFAULT_ENDPOINT": "false",
                "INFERHOUSE_LOG_LEVEL": "warning",
                # 500 vectors of 384 floats are about 4 MB of JSON, over the default 2 MiB body limit.
                "INFERHOUSE_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            }
        )
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.started = time.time()
        with (data_dir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "inferhouse",
                    "serve",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(data_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.data_dir = data_dir

    def wait_up(self, timeout_s: float = 1800) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.data_dir / "server.log").read_text(errors="replace")[-4000:])
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError("the server did not come up")

    def wait_idle(self) -> float:
        """Seconds until the server's CPU use falls under IDLE_CPU_S per IDLE_WINDOW_S (that last window
        not counted)."""
        began = time.perf_counter()
        while True:
            before = _cpu_seconds(self.process.pid)
            window_start = time.perf_counter()
            time.sleep(IDLE_WINDOW_S)
            if _cpu_seconds(self.process.pid) - before < IDLE_CPU_S:
                return window_start - began

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Inferhouse:
    name = "inferhouse"
    add_batch = 10_000

    def __init__(self) -> None:
        self.server: Server | None = None
        self.client: Pinecone | None = None
        self.index: Any = None

    def settings(self) -> str:
        return "embedded backend as shipped (HNSW M=32, 100 candidates rescored), pinecone client over HTTP"

    def rss_bytes(self) -> int:
        return process_rss(self.server.process.pid) if self.server else 0

    def _connect(self, server: Server) -> None:
        self.client = Pinecone(api_key=TOKEN, host=server.url)
        self.index = self.client.Index(INDEX)

    def start(self, directory: Path) -> None:
        self.server = Server(directory)
        self.server.wait_up()
        self.client = Pinecone(api_key=TOKEN, host=self.server.url)

    def create(self) -> None:
        assert self.server is not None
        assert self.client is not None
        self.client.create_index(INDEX, dimension=384, metric="cosine")
        self._connect(self.server)

    def prepare(self, first_id: int, rows: Matrix, metadata: dict[str, npt.NDArray[np.int16]]) -> Any:
        fields = {name: column.tolist() for name, column in metadata.items()}
        return [
            {"id": str(first_id + i), "values": row, "metadata": {name: fields[name][i] for name in fields}}
            for i, row in enumerate(rows.tolist())
        ]

    def add(self, prepared: Any) -> None:
        reply = self.index.upsert(vectors=prepared, batch_size=UPSERT_BATCH, show_progress=False)
        if getattr(reply, "has_errors", False):
            raise RuntimeError(f"upsert failed: {reply.errors}")

    def finish_load(self) -> dict[str, float]:
        assert self.server is not None
        return {"background_s": round(self.server.wait_idle(), 2)}

    def open(self, directory: Path) -> float | None:
        self.server = Server(directory)
        self.server.wait_up()
        self._connect(self.server)
        return self.server.started

    def query(self, vector: Matrix, field: str | None) -> list[int]:
        spec = {field: {"$eq": 0}} if field else None
        reply = self.index.query(vector=vector.tolist(), top_k=10, filter=spec)
        return [int(match.id) for match in reply.matches]

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.server is not None:
            self.server.stop()


def bulk_import(n: int, directory: Path, parquet_python: Path) -> dict[str, Any]:
    """The bulk import's rate, or why it was skipped."""
    system = Inferhouse()
    system.start(directory / "inferhouse-import")
    system.create()
    assert system.server is not None
    try:
        try:
            list(system.index.list_imports())
        except ApiError as error:
            if error.status_code in (404, 405, 501):
                message = f"skipped: the server has no bulk import route ({error.status_code})"
                print(message, flush=True)
                return {"skipped": message}
            raise
        files = directory / "import-files"
        began = time.perf_counter()
        subprocess.run(
            [
                str(parquet_python),
                str(Path(__file__).parent / "vector_peers" / "parquet_layout.py"),
                str(n),
                str(files),
            ],
            check=True,
        )
        write_s = time.perf_counter() - began
        rss_before = system.rss_bytes()
        began = time.perf_counter()
        started = system.index.start_import(uri=files.as_uri() + "/", error_mode="continue")
        status: Any = None
        while status is None or status.status not in DONE:
            time.sleep(0.1)
            status = system.index.describe_import(started.id)
        import_s = time.perf_counter() - began
        background_s = system.server.wait_idle()
        count = system.index.describe_index_stats().total_vector_count
        return {
            "status": status.status,
            "records_imported": status.records_imported,
            "vector_count": count,
            "parquet_write_s": round(write_s, 2),
            "import_s": round(import_s, 2),
            "imports_per_s": round(n / import_s),
            "background_s": round(background_s, 2),
            "bytes_per_vector": round((system.rss_bytes() - rss_before) / n, 1),
        }
    finally:
        system.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["import"]:
        parser = argparse.ArgumentParser()
        parser.add_argument("phase")
        parser.add_argument("n", type=int)
        parser.add_argument("dir", type=Path)
        parser.add_argument("--parquet-python", type=Path, required=True)
        args = parser.parse_args()
        result = bulk_import(args.n, args.dir, args.parquet_python)
        (args.dir / "inferhouse.import.json").write_text(json.dumps(result, indent=2) + "\n")
    else:
        main(Inferhouse())
