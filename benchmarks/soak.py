"""Soak: the server's resident memory over repeated runs of the overload load, and after it idles.

    python benchmarks/soak.py [--runs 5] [--seconds 60] [--clients 100] [--idle 30] [--limit 1]

One ``inferhouse serve`` (default settings, ``INFERHOUSE_MAX_QUEUE_SECONDS=--limit``) takes ``--runs``
runs of ``overload.py``'s load (half 1-sentence, half 16-sentence requests, distinct sentences); its RSS
(``VmRSS`` of the server process) is read before the first run, after each run, and after ``--idle``
seconds without load at the end. ``--env NAME=VALUE`` (repeatable) passes settings to the server, to
compare backends, allocator or runtime settings. Results go to ``results/soak.json`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.overload import RESULTS, Corpus, inferhouse_target, overload, rss_mb, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--idle", type=float, default=30)
    parser.add_argument("--limit", type=float, default=1.0)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    parser.add_argument("--output", type=Path, default=RESULTS / "soak.json")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    corpus = Corpus()
    runs = []
    with tempfile.TemporaryDirectory(prefix="soak-") as data_dir:
        server = serve(Path(data_dir), args.limit, env)
        pid = server.process.pid
        try:
            started = rss_mb(pid)
            backend = " / ".join(
                line[line.index("backend ") :] for line in server.log().splitlines() if "backend " in line
            )
            print(f"start: {started:.0f} MB; {backend}", flush=True)
            for number in range(1, args.runs + 1):
                load = asyncio.run(overload(inferhouse_target(server), args.clients, args.seconds, corpus))
                rss = rss_mb(pid)
                runs.append({"run": number, "rss_mb": round(rss), **load})
                print(f"run {number}: {rss:.0f} MB  {json.dumps(load)}", flush=True)
            time.sleep(args.idle)
            idle = rss_mb(pid)
            print(f"after {args.idle:.0f} s idle: {idle:.0f} MB", flush=True)
        finally:
            server.stop()
    args.output.parent.mkdir(exist_ok=True)
    report = {
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "env": env,
        "backend": backend,
        "rss_mb_start": round(started),
        "rss_mb_per_run": [run["rss_mb"] for run in runs],
        "rss_mb_after_idle": round(idle),
        "runs": runs,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
