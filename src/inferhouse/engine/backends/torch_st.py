"""sentence-transformers models executed with torch on the CPU (or a GPU when one is present)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import TokenizedText, TruncationDirection
from inferhouse.errors import BackendFailure

# Fixed cost of one forward pass, in tokens' worth of work; measured for small encoders on CPU
# (about 8 ms per call against 0.14 ms per token) and used to decide when splitting a batch pays.
_FORWARD_OVERHEAD_TOKENS = 64


class SentenceTransformerBackend:
    """Wraps a ``SentenceTransformer`` and runs its modules on batches we tokenized ourselves."""

    def __init__(self, model: Any) -> None:
        import torch
        from sentence_transformers.base.modules import Normalize

        self._torch = torch
        self._model = model
        modules = list(model)
        self.normalizes = bool(modules) and isinstance(modules[-1], Normalize)
        self._modules = modules[:-1] if self.normalizes else modules
        dimension_of = (
            getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension_of())
        self.max_input_length = int(model.max_seq_length)
        self.prompts: Mapping[str, str] = dict(model.prompts or {})
        self.dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
        self.batch_overhead_tokens = _FORWARD_OVERHEAD_TOKENS
        self._device = model.device
        first = modules[0]
        hf_tokenizer = getattr(first, "tokenizer", None)
        backend = getattr(hf_tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise BackendFailure("Only models with a fast (tokenizers) tokenizer are supported")
        self._input_names = set(getattr(hf_tokenizer, "model_input_names", ["input_ids", "attention_mask"]))
        self._pad_id = int(getattr(hf_tokenizer, "pad_token_id", None) or 0)
        self._tokenizers = {
            direction: self._make_tokenizer(backend, direction) for direction in ("right", "left")
        }

    def _make_tokenizer(self, backend: Any, direction: str) -> Any:
        tokenizer = copy.deepcopy(backend)
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_input_length, direction=direction)
        return tokenizer

    @classmethod
    def load(cls, path: Path, device: str | None = None) -> SentenceTransformerBackend:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        try:
            model = SentenceTransformer(str(path), device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise BackendFailure(f"Could not load the model at {path.name}: {exc}") from exc
        model.eval()
        return cls(model)

    def tokenize(self, texts: Sequence[str], direction: TruncationDirection) -> list[TokenizedText]:
        encodings = self._tokenizers[direction].encode_batch(list(texts))
        return [TokenizedText(e.ids, e.type_ids, bool(e.overflowing)) for e in encodings]

    def forward(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]:
        torch = self._torch
        width = max(len(item.ids) for item in batch)
        ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros((len(batch), width), dtype=np.int64)
        for row, item in enumerate(batch):
            n = len(item.ids)
            ids[row, :n] = item.ids
            mask[row, :n] = 1
            types[row, :n] = item.type_ids
        features: dict[str, Any] = {
            "input_ids": torch.from_numpy(ids).to(self._device),
            "attention_mask": torch.from_numpy(mask).to(self._device),
            "modality": "text",
        }
        if "token_type_ids" in self._input_names:
            features["token_type_ids"] = torch.from_numpy(types).to(self._device)
        with torch.inference_mode():
            for module in self._modules:
                features = module(features)
            vectors = features["sentence_embedding"].float().cpu().numpy()
        return np.ascontiguousarray(vectors, dtype=np.float32)
