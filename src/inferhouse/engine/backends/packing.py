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

from inferhouse.engine.backends.base import TokenizedText

# Row width: long enough to hold many short inputs, short enough that the attention over a whole row
# (quadratic in its width) stays a small share of the work of a small encoder.
PACK_ROW_TOKENS = 128


@dataclass(frozen=True)
class PackedBatch:
    """Tensors for the encoder, and the index that unpacks its output per input."""

    input_ids: Any  # (rows, width) int64
    token_type_ids: Any  # (rows, width) int64
    position_ids: Any  # (rows, width) int64
    attention_mask: Any  # (rows, 1, width, width) bool, block-diagonal
    gather_index: Any  # (inputs, longest) int64 into the flattened output; padding points at a zero row
    input_mask: Any  # (inputs, longest) int64, 1 for real tokens


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


def pack(batch: Sequence[TokenizedText], pad_id: int, torch: Any) -> PackedBatch:
    lengths = [len(item.ids) for item in batch]
    rows = assign_rows(lengths, PACK_ROW_TOKENS)
    width = max(sum(lengths[i] for i in row) for row in rows)
    longest = max(lengths)
    n_rows = len(rows)
    input_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    token_type_ids = torch.zeros((n_rows, width), dtype=torch.long)
    position_ids = torch.zeros((n_rows, width), dtype=torch.long)
    # Padding tokens attend to themselves only, so no row of the mask is empty (that would give NaNs).
    attention_mask = torch.eye(width, dtype=torch.bool).repeat(n_rows, 1, 1, 1)
    zero_row = n_rows * width
    gather_index = torch.full((len(batch), longest), zero_row, dtype=torch.long)
    input_mask = torch.zeros((len(batch), longest), dtype=torch.long)
    for row, members in enumerate(rows):
        offset = 0
        for index in members:
            item, n = batch[index], lengths[index]
            span = slice(offset, offset + n)
            input_ids[row, span] = torch.tensor(item.ids)
            token_type_ids[row, span] = torch.tensor(item.type_ids)
            position_ids[row, span] = torch.arange(n)
            attention_mask[row, 0, span, span] = True
            gather_index[index, :n] = torch.arange(row * width + offset, row * width + offset + n)
            input_mask[index, :n] = 1
            offset += n
    return PackedBatch(input_ids, token_type_ids, position_ids, attention_mask, gather_index, input_mask)


def unpack(token_embeddings: Any, packed: PackedBatch, torch: Any) -> Any:
    """(rows, width, hidden) -> (inputs, longest, hidden), zeros where an input has no token."""
    hidden = token_embeddings.shape[-1]
    flat = token_embeddings.reshape(-1, hidden)
    flat = torch.cat([flat, flat.new_zeros((1, hidden))])
    return flat[packed.gather_index]
