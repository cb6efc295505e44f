"""The running batch of a causal LM: one key/value cache shared by every sequence being decoded.

Sequences join at any step. A newcomer is prefilled alone, then its cache is merged into the batch by
left-padding whichever side is shorter to the common length; the 2-D attention mask has zeros at the
pads and each row gets explicit ``position_ids`` (its count of real tokens), so absolute-position
models (GPT-2) and rotary ones (Llama) see the same positions as when decoding alone. When rows
leave, columns that are padding in every remaining row are trimmed away.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from transformers import DynamicCache

from inferhouse.engine.generation.cache_keyword import cache_keyword, returned_cache


class CausalRows:
    def __init__(self, model: Any, device: torch.device) -> None:
        self._model = model
        self._device = device
        parameters = inspect.signature(model.forward).parameters
        self._logits_to_keep = "logits_to_keep" in parameters
        self._cache_keyword = cache_keyword(model)
        self._cache: Any = None
        self._mask = torch.zeros((0, 0), dtype=torch.long, device=device)
        self._lengths = torch.zeros((0,), dtype=torch.long, device=device)

    def __len__(self) -> int:
        return int(self._mask.shape[0])

    @property
    def width(self) -> int:
        """Cached columns (real tokens of the longest row plus pads); for tests and metrics."""
        return int(self._mask.shape[1])

    def _forward(self, cache: Any, **inputs: Any) -> Any:
        if self._logits_to_keep:
            inputs["logits_to_keep"] = 1
        inputs[self._cache_keyword] = cache
        return self._model(use_cache=True, return_dict=True, **inputs)

    def prefill(self, prompt_ids: Sequence[int]) -> torch.Tensor:
        """Run the prompt alone, add it as the last row, and return its next-token logits."""
        ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=self._device)
        length = ids.shape[1]
        positions = torch.arange(length, device=self._device)[None, :]
        out = self._forward(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            position_ids=positions,
            cache=DynamicCache(),
        )
        self._merge(returned_cache(out), length)
        logits: torch.Tensor = out.logits[0, -1, :]
        return logits

    def _merge(self, cache: Any, length: int) -> None:
        if len(self) == 0:
            self._cache = cache
            self._mask = torch.ones((1, length), dtype=torch.long, device=self._device)
            self._lengths = torch.tensor([length], dtype=torch.long, device=self._device)
            return
        width = self.width
        common = max(width, length)
        for old, new in zip(self._cache.layers, cache.layers, strict=True):
            old.keys = torch.cat([_left_pad(old.keys, common - width), _left_pad(new.keys, common - length)])
            old.values = torch.cat(
                [_left_pad(old.values, common - width), _left_pad(new.values, common - length)]
            )
        row_mask = torch.ones((1, length), dtype=torch.long, device=self._device)
        self._mask = torch.cat(
            [F.pad(self._mask, (common - width, 0)), F.pad(row_mask, (common - length, 0))]
        )
        self._lengths = torch.cat(
            [self._lengths, torch.tensor([length], dtype=torch.long, device=self._device)]
        )

    def step(self, next_ids: Sequence[int]) -> torch.Tensor:
        """Feed each row its latest token; return the next-token logits, one row per sequence."""
        ids = torch.tensor(list(next_ids), dtype=torch.long, device=self._device)[:, None]
        mask = torch.cat([self._mask, torch.ones_like(ids)], dim=1)
        out = self._forward(
            input_ids=ids,
            attention_mask=mask,
            position_ids=self._lengths[:, None],
            cache=self._cache,
        )
        self._cache = returned_cache(out)
        self._mask = mask
        self._lengths = self._lengths + 1
        logits: torch.Tensor = out.logits[:, -1, :]
        return logits

    def keep(self, rows: Sequence[int]) -> None:
        """Keep only ``rows`` (indices in the current order), then trim columns that are all padding."""
        if len(rows) == len(self) and list(rows) == list(range(len(self))):
            return
        if not rows:
            self._cache = None
            self._mask = torch.zeros((0, 0), dtype=torch.long, device=self._device)
            self._lengths = torch.zeros((0,), dtype=torch.long, device=self._device)
            return
        index = torch.tensor(list(rows), dtype=torch.long, device=self._device)
        mask = self._mask.index_select(0, index)
        start = int(torch.nonzero(mask.any(dim=0))[0, 0])
        for layer in self._cache.layers:
            layer.keys = layer.keys.index_select(0, index)[:, :, start:, :]
            layer.values = layer.values.index_select(0, index)[:, :, start:, :]
        self._mask = mask[:, start:]
        self._lengths = self._lengths.index_select(0, index)


def _left_pad(states: torch.Tensor, columns: int) -> torch.Tensor:
    # [batch, heads, seq, dim]: zeros in front of the sequence axis.
    return F.pad(states, (0, 0, columns, 0)) if columns else states
