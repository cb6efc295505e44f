"""The Markdown tables ``vector_ops.py`` prints at the end of a run, from its results."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.vector_data import DIMENSION

BUDGET_BYTES = 24 * 2**30
PHASES = ("load", "restart", "import")


def _load_method(system: str, load: dict[str, Any]) -> str:
    if load.get("load_method") == "import":
        return "import"
    return "upsert API" if system.startswith("inferhouse") else "bulk add"


def _fits(per: float) -> str:
    return f"{BUDGET_BYTES / per / 1e6:,.1f}M" if per > 0 else "-"


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def _queries(results: dict[str, Any]) -> list[str]:
    lines = ["| system | kind | queries/s | recall@10 | queries |", "|---|---|---|---|---|"]
    for system, r in results.items():
        kinds = {"unfiltered": r["load"]["unfiltered"], **r["load"].get("filtered", {})}
        for kind, q in kinds.items():
            rate, found = q["queries_per_s"], q["recall_at_10"]
            lines.append(f"| {system} | {kind} | {rate:,.0f} | {found:.3f} | {q['queries']} |")
    return lines


def _search_widths(results: dict[str, Any]) -> list[str]:
    """Queries/s (recall@10) per search width, unfiltered and at each selectivity."""
    lines = ["| system | search width | unfiltered | 1% | 10% | 50% |", "|---|---|---|---|---|---|"]
    for system, r in results.items():
        for width, w in r.get("search_widths", {}).items():
            kinds = [w["unfiltered"], *(w["filtered"][share] for share in ("1%", "10%", "50%"))]
            cells = " | ".join(f"{q['queries_per_s']:,.0f} ({q['recall_at_10']:.3f})" for q in kinds)
            lines.append(f"| {system} | {width} | {cells} |")
    return lines


def _loading(results: dict[str, Any]) -> list[str]:
    lines = [
        "| system | load by | load /s | load + indexing /s | indexing after s |",
        "|---|---|---|---|---|",
    ]
    for system, r in results.items():
        load = r["load"]
        lines.append(
            f"| {system} | {_load_method(system, load)} | {load['adds_per_s']:,} | {load['loaded_per_s']:,} "
            f"| {load['finish_load_s']} |"
        )
    for system, r in results.items():
        if "import" in r["load"]:
            done = r["load"]["import"]
            lines.append(
                f"\n{system} loaded by bulk import: {done['records_imported']:,} records in "
                f"{done['import_s']} s "
                f"(the Parquet files, {done['parquet_bytes'] / 2**30:.2f} GiB, written before in "
                f"{done['parquet_write_s']} s, not counted)"
            )
    return lines


def _memory(results: dict[str, Any]) -> list[str]:
    """Per vector: (after - before) / N, before being the process before the index was created. RssAnon
    is private memory; RssFile is mapped file pages (a peer's mapped data files), which the kernel may
    drop; "24 GiB holds" is the budget over each per-vector figure."""
    lines = [
        "| system | RSS B/vector | RssAnon B/vector | RssFile growth MiB | after queries: RSS / RssAnon "
        "B/vector | 24 GiB holds, by RSS / by RssAnon |",
        "|---|---|---|---|---|---|",
    ]
    for system, r in results.items():
        load = r["load"]
        loaded, queried = load["per_vector"]["loaded"], load["per_vector"]["queried"]
        grown = [
            load[f"memory_{when}"]["file"] - load["memory_before"]["file"] for when in ("loaded", "queried")
        ]
        lines.append(
            f"| {system} | {loaded['rss']:,.0f} | {loaded['anon']:,.0f} | "
            f"{_mib(grown[0])} / {_mib(grown[1])} | "
            f"{queried['rss']:,.0f} / {queried['anon']:,.0f} | "
            f"{_fits(loaded['rss'])} / {_fits(loaded['anon'])} |"
        )
    return lines


def _restarts(results: dict[str, Any]) -> list[str]:
    """Memory after the restart's queries, in all (the interpreter and its libraries included)."""
    lines = [
        "| system | open s | first answer s | full speed s | RSS MiB | RssAnon MiB | RssFile MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for system, r in results.items():
        if "restart" in r:
            s = r["restart"]
            memory = s["memory"]
            lines.append(
                f"| {system} | {s['open_s']} | {s['first_answer_s']} | {s['full_speed_s']} | "
                f"{_mib(memory['rss'])} | {_mib(memory['anon'])} | {_mib(memory['file'])} |"
            )
    return lines


def report(results: dict[str, Any], n: int) -> str:
    lines = [f"{n:,} x {DIMENSION} vectors", "", *_queries(results), "", *_loading(results)]
    if any("search_widths" in r for r in results.values()):
        lines += [
            "",
            "A fresh process over the loaded data, per search width (inferhouse: graph nodes in view; "
            "lancedb: partitions probed): queries/s (recall@10)",
            "",
            *_search_widths(results),
        ]
    lines += [
        "",
        "Memory: RSS = RssAnon + RssFile (+ RssShmem); RssFile growth after loading / after queries",
        "",
    ]
    lines += _memory(results)
    if any("restart" in r for r in results.values()):
        lines += ["", *_restarts(results)]
    for system, r in results.items():
        if "import" in r:
            lines += ["", f"{system} bulk import: {json.dumps(r['import'])}"]
    lines += ["", "| system | " + " | ".join(PHASES) + " |", "|---|---|---|---|"]
    for system, r in results.items():
        wall = r["phase_wall_s"]
        lines.append(f"| {system} | " + " | ".join(str(wall.get(p, "-")) for p in PHASES) + " |")
    widths = {system: r["search_widths"] for system, r in results.items() if "search_widths" in r}
    for system, by_width in widths.items():
        walls = ", ".join(
            f"{w}: {results[system]['phase_wall_s'].get(f'search width {w}')} s" for w in by_width
        )
        lines.append(f"\n{system} requery wall time per search width: {walls}")
    return "\n".join(lines)
