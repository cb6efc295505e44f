"""Native libraries the server loads into one process, each exercised for real in a fresh interpreter.

Each exercise touches the C++ runtime the way the server does (error messages with numbers, formatting,
a model run), so a broken locale shows as a crash, an exception or a garbled message, and the script
exits non-zero.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# What each library must do correctly after the others are loaded.
EXERCISES = {
    "torch": """
        import torch
        assert str(torch.ones(2) * 1.5) == "tensor([1.5000, 1.5000])"
        try:
            torch.zeros(2) + torch.zeros(3)
        except RuntimeError as error:
            # A broken numpunct facet cuts the message at its first number.
            assert "tensor a (2) must match the size of tensor b (3)" in str(error), str(error)
        else:
            raise AssertionError("mismatched shapes added")
    """,
    "onnxruntime": """
        import numpy as np
        import onnx
        import onnxruntime
        from onnx import TensorProto, helper
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
        graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "double", [x], [y])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        assert session.run(None, {"x": np.array([1.5, 2.0], dtype=np.float32)})[0].tolist() == [3.0, 4.0]
        try:
            session.run(None, {"x": np.zeros(3, dtype=np.float32)})
        except Exception as error:
            assert "Got: 3 Expected: 2" in str(error), str(error)
        else:
            raise AssertionError("a wrong shape ran")
    """,
    "usearch": """
        import numpy as np
        from usearch.index import Index
        index = Index(ndim=4, metric="cos")
        vectors = np.eye(4, dtype=np.float32)
        index.add(np.arange(4), vectors)
        assert index.search(vectors[2], count=1).keys.tolist() == [2]
        restored = Index.restore(index.save())
        assert len(restored) == 4
    """,
    "tokenizers": """
        from tokenizers import Tokenizer, models, pre_tokenizers
        vocabulary = {"[UNK]": 0, "whales": 1, "eat": 2, "krill": 3}
        tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="[UNK]"))
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        assert tokenizer.encode("whales eat plankton").ids == [1, 2, 0]
    """,
    "icu": """
        import icu
        formatted = icu.NumberFormat.createInstance(icu.Locale("de_DE")).format(1234567.5)
        assert formatted == "1.234.567,5", formatted
        words = icu.BreakIterator.createWordInstance(icu.Locale("en"))
        words.setText("Whales eat krill.")
        assert list(words) == [6, 7, 10, 11, 16, 17]
    """,
    "sqlite3": """
        import sqlite3
        db = sqlite3.connect(":memory:")
        db.execute("create table t (x real)")
        db.executemany("insert into t values (?)", [(1.5,), (2.25,)])
        assert db.execute("select printf('%.2f', sum(x)) from t").fetchone() == ("3.75",)
    """,
}


def run_exercises(
    libraries: list[str], *, first: str = "import inferhouse"
) -> subprocess.CompletedProcess[str]:
    """Load ``libraries`` in order (after ``first``), then exercise each, in a fresh interpreter."""
    imports = "".join(f"import {'usearch.compiled' if name == 'usearch' else name}\n" for name in libraries)
    bodies = "".join(textwrap.dedent(EXERCISES[name]) for name in libraries)
    return run_python(f"{first}\n{imports}{bodies}")


def run_python(code: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


# Asks each C++ runtime in the process (the shared libstdc++ and usearch's private copy) for the standard
# facets of its classic locale, then numbers a new facet id: with two counters it reuses a taken index.
RUNTIME_PROBE = """
import ctypes
import usearch.compiled

FACETS = ["St5ctypeIcE", "St7codecvtIcc11__mbstate_tE", "St8numpunctIcE", "NSt7__cxx118numpunctIcEE",
          "St7num_getIcSt19istreambuf_iteratorIcSt11char_traitsIcEEE",
          "St7num_putIcSt19ostreambuf_iteratorIcSt11char_traitsIcEEE", "St7collateIcE", "St8messagesIcE",
          "NSt7__cxx117collateIcEE", "St10moneypunctIcLb0EE", "NSt7__cxx1110moneypunctIcLb0EEE"]

def missing(runtime):
    classic = runtime._ZNSt6locale7classicEv
    classic.restype = ctypes.c_void_p
    locale = ctypes.c_void_p(classic())
    absent = []
    for facet in FACETS:
        has_facet = getattr(runtime, f"_ZSt9has_facetI{facet}EbRKSt6locale")
        has_facet.restype, has_facet.argtypes = ctypes.c_bool, [ctypes.c_void_p]
        if not has_facet(locale):
            absent.append(facet)
    return absent

shared = ctypes.CDLL("libstdc++.so.6")
for runtime in (shared, ctypes.CDLL(usearch.compiled.__file__)):
    assert missing(runtime) == [], (runtime, missing(runtime))
def index(facet):  # a locale::id holds its index + 1
    scope = facet[1:-1] if facet.startswith("N") else facet
    return ctypes.c_size_t.in_dll(shared, f"_ZN{scope}2idE").value - 1

taken = {index(facet) for facet in FACETS}
number = shared._ZNKSt6locale2id5_M_idEv
number.restype, number.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
fresh = ctypes.c_size_t(0)
assert number(ctypes.byref(fresh)) > max(taken), "a new facet id is numbered among the standard facets"
"""
