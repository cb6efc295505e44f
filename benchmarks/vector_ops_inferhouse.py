"""inferhouse for ``vector_ops.py``: a real ``inferhouse serve`` process, driven by the ``pinecone`` client.

    python benchmarks/vector_ops_inferhouse.py load|restart|requery N DIR [options] [--quantization Q]
                                                                              [--parquet-python PY]
    python benchmarks/vector_ops_inferhouse.py import N DIR [--quantization Q] [--parquet-python PY]

``load``'s, ``restart``'s and ``requery``'s options are ``vector_ops_driver.py``'s. ``--quantization``
(none, int8, binary) creates the index with ``tags={"inferhouse-quantization": Q}``; the system is then
named ``inferhouse-Q`` (its data in ``DIR/inferhouse-Q/``, its results in ``DIR/inferhouse-Q.<phase>.json``).

The server runs with the embedded vector store, no model endpoint (this measures the index alone) and
``HF_HUB_OFFLINE=1``; memory is the server process's, read from ``/proc``. Loading goes through
the upsert API: ``Index.upsert(vectors, batch_size=500)``, the client's own batching (8 requests in
flight); the dicts it sends are built before the timer starts. With ``--load import`` it is the bulk
import instead: Pinecone's Parquet layout written by ``vector_peers/parquet_layout.py`` (with
``--parquet-python``, a Python that has pyarrow; not timed), then ``start_import`` and
``describe_import`` until it completes (timed), and the files are deleted. After either, the load waits
until the server is idle (its background work, the ANN graph and SQLite catching up, is done).
``import`` is the same bulk import into a fresh server and index, beside an upsert load. ``requery``
waits for the fresh server to be idle (graph loaded, rows file written) before it queries, with the
graph search settings this process's environment gives (``vector_ops.py --search-widths`` sweeps
``INFERHOUSE_ANN_SEARCH_WIDTH`` so).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

from benchmarks.vector_ops_driver import (
    Matrix,
    Memory,
    main,
    per_vector,
    process_memory,
)
from inferhouse.vectors.quantization import QUANTIZATION_TAG, Quantization

INDEX = "ops"
TOKEN = "bench-admin-token"
UPSERT_BATCH = 500
MAX_BODY_BYTES = 8 << 20
TICKS = os.sysconf("SC_CLK_TCK")
IDLE_WINDOW_S = 1.0
IDLE_CPU_S = 0.05  # CPU seconds per window below which the server counts as idle
DONE = {"Completed", "Failed", "Cancelled"}
TUNABLE = ("INFERHOUSE_ANN_CANDIDATES", "INFERHOUSE_ANN_SEARCH_WIDTH", "INFERHOUSE_ANN_SEGMENT_VECTORS")


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
        env.update(tuned_search())
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


SETTINGS = {
    Quantization.NONE: "float32 vectors in memory, a graph of 32 links, 100 candidates rescored",
    Quantization.INT8: "int8 codes in a graph of 16 links, 100 candidates rescored from float32 rows in "
    "a file",
    Quantization.BINARY: "sign bits (Hamming) in a graph of 16 links, 400 candidates rescored from float32 "
    "rows in a file",
}


def tuned_search() -> dict[str, str]:
    """The server settings a run may vary (the graph search's candidates and width), as this process's
    environment sets them."""
    return {name: os.environ[name] for name in TUNABLE if name in os.environ}


def system_name(quantization: Quantization) -> str:
    return "inferhouse" if quantization is Quantization.NONE else f"inferhouse-{quantization.value}"


class Inferhouse:
    add_batch = 10_000

    def __init__(self, quantization: Quantization, parquet_python: Path) -> None:
        self.quantization = quantization
        self.name = system_name(quantization)
        self.parquet_python = parquet_python
        self.server: Server | None = None
        self.client: Pinecone | None = None
        self.index: Any = None

    def settings(self) -> str:
        return (
            f"embedded backend as shipped, quantization {self.quantization.value}: "
            f"{SETTINGS[self.quantization]}, graph segments of 1M vectors; pinecone client over HTTP"
            + "".join(f"; {name}={value}" for name, value in tuned_search().items())
        )

    def memory(self) -> Memory:
        return process_memory(self.server.process.pid) if self.server else process_memory("self")

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
        tags = None if self.quantization is Quantization.NONE else {QUANTIZATION_TAG: self.quantization.value}
        self.client.create_index(INDEX, dimension=384, metric="cosine", tags=tags)
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

    def bulk_import(self, n: int) -> dict[str, Any]:
        """Writes the N rows as Parquet beside the server's data (not timed), imports them (timed) and
        deletes the files; raises unless all N were imported."""
        assert self.server is not None
        files = self.server.data_dir.parent / f"{self.name}-parquet"
        script = Path(__file__).parent / "vector_peers" / "parquet_layout.py"
        shutil.rmtree(files, ignore_errors=True)  # a crashed run's files would be imported twice
        try:
            began = time.perf_counter()
            subprocess.run([str(self.parquet_python), str(script), str(n), str(files)], check=True)
            write_s = time.perf_counter() - began
            parquet_bytes = sum(path.stat().st_size for path in files.rglob("*.parquet"))
            began = time.perf_counter()
            started = self.index.start_import(uri=files.as_uri() + "/", error_mode="abort")
            status: Any = None
            while status is None or status.status not in DONE:
                time.sleep(0.1)
                status = self.index.describe_import(started.id)
            import_s = time.perf_counter() - began
        finally:
            shutil.rmtree(files, ignore_errors=True)
        if status.status != "Completed" or status.records_imported != n:
            raise RuntimeError(f"import {status.status}: {status.records_imported} of {n} ({status.error})")
        return {
            "status": status.status,
            "records_imported": status.records_imported,
            "parquet_write_s": round(write_s, 2),
            "parquet_bytes": parquet_bytes,
            "import_s": round(import_s, 2),
            "imports_per_s": round(n / import_s),
        }

    def finish_load(self) -> dict[str, float]:
        assert self.server is not None
        background_s = round(self.server.wait_idle(), 2)
        return {
            "background_s": background_s,
            "vector_count": self.index.describe_index_stats().total_vector_count,
        }

    def open(self, directory: Path) -> float | None:
        self.server = Server(directory)
        self.server.wait_up()
        self._connect(self.server)
        return self.server.started

    def settle(self) -> float:
        assert self.server is not None
        return self.server.wait_idle()

    def query(self, vector: Matrix, field: str | None) -> list[int]:
        spec = {field: {"$eq": 0}} if field else None
        reply = self.index.query(vector=vector.tolist(), top_k=10, filter=spec)
        return [int(match.id) for match in reply.matches]

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.server is not None:
            self.server.stop()


def import_phase(system: Inferhouse, n: int, directory: Path) -> dict[str, Any]:
    """The bulk import into a fresh server and index, or why it was skipped."""
    system.start(directory / f"{system.name}-import")
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
        before = system.memory()
        result = system.bulk_import(n)
        finished = system.finish_load()
        after = system.memory()
        return {
            **result,
            **finished,
            "bytes_per_vector": round((after["rss"] - before["rss"]) / n, 1),
            "per_vector": per_vector(after, before, n),
        }
    finally:
        system.close()


def run() -> None:
    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--quantization", type=Quantization, default=Quantization.NONE)
    own.add_argument("--parquet-python", type=Path, default=Path(sys.executable))
    options, rest = own.parse_known_args()
    system = Inferhouse(options.quantization, options.parquet_python)
    if rest[:1] != ["import"]:
        main(system, rest)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("phase")
    parser.add_argument("n", type=int)
    parser.add_argument("dir", type=Path)
    args = parser.parse_args(rest)
    result = import_phase(system, args.n, args.dir)
    (args.dir / f"{system.name}.{args.phase}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    run()
