"""How the embedded backend answers a filtered query: which rows it scores exactly.

The metadata columns give the filter's mask over every row in about a millisecond per million rows, so
the planner knows the exact number of matching rows (no estimate to get wrong) and weighs two plans:

- **exact**: score every matching row. Its cost grows with the matches: cheap for a selective filter,
  a near full scan for one that keeps half the namespace.
- **graph**: ask the ANN graph for the nearest ``want / share`` rows (``share`` being the filter's share
  of the namespace, and never fewer than an unfiltered query asks for), keep those the filter keeps,
  and score them exactly; about ``want`` of them match. A filtered query's top ``top_k`` lie about
  ``top_k / share`` deep in the graph's order, and a graph asked for a few times that depth places them
  well: ``want`` is a fifth of the candidates an unfiltered query rescores (20 of 100), at least
  ``2 * top_k``. When fewer than half of ``want`` match (the query's neighbourhood matches less often
  than the namespace does), the search widens, four times as many each round, and gives up for the
  exact plan once it would ask for a quarter of the namespace. Its cost grows with ``want / share``:
  cheap for an unselective filter.

The graph costs :data:`GRAPH_CANDIDATE_COST` exact row scores per candidate it returns, so the
planner picks it when ``GRAPH_CANDIDATE_COST * want / share`` is below the number of matches, that is
when ``share`` is above ``sqrt(GRAPH_CANDIDATE_COST * want / rows)``: with ``want`` 20, above about 3%
at 200,000 rows and about 1.4% at a million. Measured at 200,000 x 384 (benchmarks/filter_plan_costs.py,
results in benchmarks/README.md): exact scoring about 1 µs a row, the graph 8-10 µs a candidate for
1,000 to 10,000 candidates. At a million rows keeping 10%, ``want`` 25-30 recalled the exact filtered
top 10 as fully as 100 did (1.000 over 100 queries) in under a quarter of the graph's time (0.8 ms
against 3.4 ms: a search grows faster than its candidates beyond about 500). Through the whole planner
at a million rows (benchmarks/filter_want.py), ``want`` 20 against 30 took 1.5 ms against 3.6 at 5%,
3.3 against 5.7 at 3% and 7.7 against 11.8 at 2%, recall@10 0.9995, 0.997 and 0.979 against 1.000,
0.999 and 0.984; at 10% and above both recall as an unfiltered query does. Rows the graph does not
hold yet are scored exactly when they match, as for an unfiltered query, so every acknowledged write is
seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.namespace import Namespace

Rows = npt.NDArray[np.intp]
# A search of the graph for k candidates costs about this many exact row scores per candidate.
GRAPH_CANDIDATE_COST = 10.0
_WIDEN = 4
# The share of an unfiltered query's candidates that a filtered one wants among its matches.
FILTERED_WANT_SHARE = 0.2


def filtered_rows(
    found: Namespace,
    graph_search: Callable[[int], npt.NDArray[np.uint64]] | None,
    settings: AnnSettings,
    top_k: int,
    keep: npt.NDArray[np.bool_],
) -> Rows:
    """The rows to score exactly for a query that keeps ``keep``'s rows; ``graph_search(count)``
    returns the keys of the ``count`` rows the graph finds nearest the query (None: no graph)."""
    matching = int(np.count_nonzero(keep))
    if graph_search is None or matching == 0:
        return np.flatnonzero(keep)
    want = max(math.ceil(FILTERED_WANT_SHARE * settings.candidates), 2 * top_k)
    count = max(settings.candidates, 2 * top_k, math.ceil(want * len(found) / matching))
    if GRAPH_CANDIDATE_COST * count >= matching:
        return np.flatnonzero(keep)
    unindexed = found.unindexed_rows()
    unindexed = unindexed[keep[unindexed]]
    while count < len(found) // 4:
        proposed = found.rows_of_keys(graph_search(count))
        proposed = proposed[keep[proposed]]
        if len(proposed) + len(unindexed) >= min(max(top_k, want // 2), matching):
            return np.unique(np.concatenate([proposed, unindexed]))
        count *= _WIDEN
    return np.flatnonzero(keep)
