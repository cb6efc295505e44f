"""Every ordered pair of the native libraries the server loads together works in one process.

Each pair loads in a fresh interpreter after ``import inferhouse``, as in the server, and both libraries
then do real work that touches their C++ runtime (README, Native libraries).
"""

from __future__ import annotations

import itertools

import pytest

from tests.support.native import EXERCISES, run_exercises

PAIRS = list(itertools.permutations(EXERCISES, 2))


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}-then-{b}" for a, b in PAIRS])
def test_a_pair_loads_and_works_in_either_order(first: str, second: str) -> None:
    done = run_exercises([first, second])
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stderr}"
