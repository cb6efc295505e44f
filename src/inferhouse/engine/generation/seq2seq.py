"""Running encoder-decoder sequences: each keeps its own encoder output and cache.

Rows are not merged into one tensor (cross-attention over prompts of different lengths would need a
second padding scheme); each step runs one decoder token per row instead. The scheduler still steps
every row in turn, so a long generation never holds up a short one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache, EncoderDecoderCache

from inferhouse.engine.generation.cache_keyword import cache_keyword, returned_cache


@dataclass
class _Row:
    encoder_outputs: Any
    attention_mask: torch.Tensor
    cache: Any


class Seq2SeqRows:
    def __init__(self, model: Any, device: torch.device, decoder_prefix: Sequence[int]) -> None:
        self._model = model
        self._device = device
        self._prefix = list(decoder_prefix)
        self._rows: list[_Row] = []
        self._cache_keyword = cache_keyword(model)

    def __len__(self) -> int:
        return len(self._rows)

    def prefill(self, prompt_ids: Sequence[int]) -> torch.Tensor:
        ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=self._device)
        mask = torch.ones_like(ids)
        encoder_outputs = self._model.get_encoder()(input_ids=ids, attention_mask=mask, return_dict=True)
        decoder_ids = torch.tensor([self._prefix], dtype=torch.long, device=self._device)
        out = self._model(
            encoder_outputs=encoder_outputs,
            attention_mask=mask,
            decoder_input_ids=decoder_ids,
            use_cache=True,
            return_dict=True,
            **{self._cache_keyword: EncoderDecoderCache(DynamicCache(), DynamicCache())},
        )
        self._rows.append(_Row(encoder_outputs, mask, returned_cache(out)))
        logits: torch.Tensor = out.logits[0, -1, :]
        return logits

    def step(self, next_ids: Sequence[int]) -> torch.Tensor:
        logits = []
        for row, token in zip(self._rows, next_ids, strict=True):
            out = self._model(
                encoder_outputs=row.encoder_outputs,
                attention_mask=row.attention_mask,
                decoder_input_ids=torch.tensor([[token]], dtype=torch.long, device=self._device),
                use_cache=True,
                return_dict=True,
                **{self._cache_keyword: row.cache},
            )
            row.cache = returned_cache(out)
            logits.append(out.logits[0, -1, :])
        return torch.stack(logits)

    def keep(self, rows: Sequence[int]) -> None:
        self._rows = [self._rows[index] for index in rows]
