"""Sequence packing: several inputs share one row, so no compute goes to padding.

Each row holds inputs back to back; a block-diagonal attention mask keeps every input to its own tokens
and position ids restart at 0 for each, so the encoder computes exactly what it would for the inputs one
by one. Afterwards the token embeddings are gathered back into the usual (inputs, tokens, hidden) shape
for pooling. Whether a model honours this is checked once, when it loads (see ``probe_packing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import TokenizedText

# Row width: long enough to hold many short inputs, short enough that the attention over a whole row
# (quadratic in its width) stays a small share of the work of a small encoder.
PACK_ROW_TOKENS = 128


@dataclass(frozen=True)
class PackedBatch:
    """Arrays for the encoder, and the index that unpacks its output per input."""

    input_ids: npt.NDArray[np.int64]  # (rows, width)
    token_type_ids: npt.NDArray[np.int64]  # (rows, width)
    position_ids: npt.NDArray[np.int64]  # (rows, width)
    attention_mask: npt.NDArray[np.bool_]  # (rows, 1, width, width), block-diagonal
    gather_index: npt.NDArray[np.int64]  # (inputs, longest) into the flattened output; padding -> a zero row
    input_mask: npt.NDArray[np.int64]  # (inputs, longest), 1 for real tokens


def assign_rows(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """First-fit decreasing: input indices grouped into rows whose lengths sum to at most ``capacity``."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    rows: list[list[int]] = []
    room: list[int] = []
    for index in order:
        for row, free in enumerate(room):
            if lengths[index] <= free:
                rows[row].append(index)
                room[row] -= lengths[index]
                break
        else:
            rows.append([index])
            room.append(max(capacity, lengths[index]) - lengths[index])
    return rows


def pack(batch: Sequence[TokenizedText], pad_id: int, row_tokens: int = PACK_ROW_TOKENS) -> PackedBatch:
    lengths = [len(item.ids) for item in batch]
    rows = assign_rows(lengths, row_tokens)
    width = max(sum(lengths[i] for i in row) for row in rows)
    n_rows = len(rows)
    input_ids = np.full((n_rows, width), pad_id, dtype=np.int64)
    token_type_ids = np.zeros((n_rows, width), dtype=np.int64)
    position_ids = np.zeros((n_rows, width), dtype=np.int64)
    # Padding tokens attend to themselves only, so no row of the mask is empty (that would give NaNs).
    attention_mask = np.zeros((n_rows, 1, width, width), dtype=np.bool_)
    diagonal = np.arange(width)
    attention_mask[:, 0, diagonal, diagonal] = True
    zero_row = n_rows * width
    gather_index = np.full((len(batch), max(lengths)), zero_row, dtype=np.int64)
    input_mask = np.zeros((len(batch), max(lengths)), dtype=np.int64)
    for row, members in enumerate(rows):
        offset = 0
        for index in members:
            item, n = batch[index], lengths[index]
            span = slice(offset, offset + n)
            input_ids[row, span] = item.ids
            token_type_ids[row, span] = item.type_ids
            position_ids[row, span] = diagonal[:n]
            attention_mask[row, 0, span, span] = True
            gather_index[index, :n] = diagonal[:n] + (row * width + offset)
            input_mask[index, :n] = 1
            offset += n
    return PackedBatch(input_ids, token_type_ids, position_ids, attention_mask, gather_index, input_mask)


def unpack(token_embeddings: Any, packed: PackedBatch, torch: Any) -> Any:
    """(rows, width, hidden) -> (inputs, longest, hidden), zeros where an input has no token."""
    hidden = token_embeddings.shape[-1]
    flat = token_embeddings.reshape(-1, hidden)
    flat = torch.cat([flat, flat.new_zeros((1, hidden))])
    return flat[torch.from_numpy(packed.gather_index).to(flat.device)]
