"""usearch's private C++ runtime and the shared one agree, whatever loads first (README, Native libraries)."""

from __future__ import annotations

import sys

import pytest

from tests.support.native import RUNTIME_PROBE, run_exercises, run_python

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="GNU unique symbols are ELF's")

NATIVE = ("usearch", "onnxruntime", "torch", "icu", "tokenizers", "numpy")
ENTRY_POINTS = {
    "package": "import inferhouse",
    "console script": "import inferhouse.cli",
    "app": "import inferhouse.app",
    "vector index": "import inferhouse.vectors.ann",
    "python -m inferhouse": "import runpy, sys\nsys.argv = ['inferhouse', '--help']\n"
    "try:\n    runpy.run_module('inferhouse', run_name='__main__')\nexcept SystemExit as done:\n"
    "    assert done.code == 0, done.code",
}


@linux_only
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=list(ENTRY_POINTS))
def test_every_entry_point_shares_the_runtime_before_any_native_library(entry: str) -> None:
    code = f"""
import sys
loaded = []
sys.addaudithook(lambda event, args: loaded.append(args[0]) if event == "import" else None)
{ENTRY_POINTS[entry]}
from inferhouse import _native
assert _native.SHARED
natives = [i for i, name in enumerate(loaded) if name.split(".")[0] in {NATIVE!r}]
first_native = min(natives, default=len(loaded))
assert loaded.index("inferhouse._native") < first_native, loaded[:first_native + 1]
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr


@linux_only
def test_onnxruntime_and_torch_work_after_an_ann_graph_is_built() -> None:
    """The restart that crashed: the graph is rebuilt (usearch loads) before an endpoint loads ONNX."""
    graph = """
import numpy as np
from inferhouse.vectors.ann import AnnGraph, AnnSettings
from inferhouse.vectors.scoring import Metric
graph = AnnGraph(4, Metric.COSINE, AnnSettings())
graph.add(np.arange(8, dtype=np.uint64), np.random.default_rng(0).standard_normal((8, 4), dtype=np.float32))
assert len(graph) == 8
"""
    done = run_exercises(["onnxruntime", "torch"], first=graph)
    assert done.returncode == 0, done.stderr


@linux_only
def test_both_cpp_runtimes_hand_out_the_right_facets() -> None:
    done = run_python("import inferhouse\n" + RUNTIME_PROBE)
    assert done.returncode == 0, done.stderr


@linux_only
@pytest.mark.xfail(
    strict=True,
    reason="usearch 2.26 exports its static libstdc++: loaded first, without inferhouse, it breaks "
    "onnxruntime. When this passes, the wheel is fixed and inferhouse._native may go.",
)
def test_usearch_then_onnxruntime_without_inferhouse() -> None:
    done = run_exercises(["usearch", "onnxruntime"], first="")
    assert done.returncode == 0, done.stderr


@linux_only
def test_usearch_imported_before_inferhouse_is_warned_about() -> None:
    done = run_python("import usearch.compiled\nimport inferhouse")
    assert done.returncode == 0, done.stderr
    assert "usearch.compiled was imported before inferhouse; import inferhouse first" in done.stderr
