"""How an index keeps its vectors in memory, chosen when it is created.

``none`` keeps every vector as float32 in memory, beside the ANN graph. ``int8`` and ``binary`` keep
only the graph's quantized copy in memory (8 bits or 1 bit a dimension) and move the float32 vectors to
a file, read through the page cache to rescore the graph's candidates exactly. Scores stay exact;
memory drops to the graph plus ids and metadata (benchmarks/README.md has the measured bytes a vector).

The Pinecone API has no field for this, so it travels as a tag, which every client can set at create
time unchanged: ``tags={"inferhouse-quantization": "binary"}``. It cannot change later, since the
in-memory layout and the saved graph are built for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from inferhouse.errors import BadRequest

QUANTIZATION_TAG = "inferhouse-quantization"


class Quantization(StrEnum):
    NONE = "none"
    INT8 = "int8"
    BINARY = "binary"

    @property
    def in_memory_vectors(self) -> bool:
        return self is Quantization.NONE


def quantization_of(tags: Mapping[str, str]) -> Quantization:
    """The quantization a create request's tags ask for; a 400 for a value we do not know."""
    value = tags.get(QUANTIZATION_TAG, Quantization.NONE.value)
    try:
        return Quantization(value)
    except ValueError:
        choices = ", ".join(q.value for q in Quantization)
        raise BadRequest(f"Tag {QUANTIZATION_TAG} must be one of {choices}; got {value!r:.40}") from None


def check_unchanged(current: Mapping[str, str], update: Mapping[str, str]) -> None:
    """A configure request may repeat the quantization tag but not change or remove it."""
    if QUANTIZATION_TAG not in update:
        return
    before = quantization_of(current)
    after = Quantization.NONE if update[QUANTIZATION_TAG] == "" else quantization_of(update)
    if after is not before:
        raise BadRequest(
            f"Tag {QUANTIZATION_TAG} is fixed when an index is created (it is {before.value}); create a new "
            "index, or restore a backup into one, to change it"
        )
