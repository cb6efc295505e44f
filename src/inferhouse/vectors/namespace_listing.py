"""What exists in an index's namespaces, as the namespaces API and the index statistics report them.

A namespace exists while it holds records or once it is created by name (until it is deleted); the
default namespace (``""``) always exists. Both backends answer the two questions this needs (records per
namespace, namespaces created by name), so the answer is put together here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferhouse.errors import NotFound
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.filters import Predicate
from inferhouse.vectors.rows import Metadata


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    name: str
    record_count: int
    schema: Metadata | None = None


def all_namespaces(index: SearchIndex) -> list[NamespaceInfo]:
    """Every namespace that holds records or was created by name, by name."""
    counts = index.namespace_counts()
    declared = index.declared_namespaces()
    names = sorted(set(counts) | set(declared))
    return [NamespaceInfo(name, counts.get(name, 0), declared.get(name)) for name in names]


def one_namespace(index: SearchIndex, name: str) -> NamespaceInfo:
    declared = index.declared_namespaces()
    count = index.size(name)
    if name and name not in declared and not count:
        raise NotFound(f"Namespace {name!r} not found in index {index.config.name!r}")
    return NamespaceInfo(name, count, declared.get(name))


def namespace_counts(index: SearchIndex, predicate: Predicate | None = None) -> dict[str, int]:
    """Records per namespace (those the predicate keeps), a namespace created by name and empty at 0."""
    counts = index.namespace_counts(predicate)
    return {name: counts.get(name, 0) for name in sorted(set(counts) | set(index.declared_namespaces()))}
