"""sentence-transformers models executed with torch on the CPU (or a GPU when one is present), in the
precision ``precision.py`` picks."""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import PaddedBatch, TokenizedText, TruncationDirection
from inferhouse.engine.backends.packing import PACK_ROW_TOKENS, pack, unpack
from inferhouse.engine.backends.precision import (
    Precision,
    choose_precision,
    lowest_cosine,
    probe_texts,
)
from inferhouse.engine.planning import should_pack
from inferhouse.errors import BackendFailure

log = logging.getLogger(__name__)

# Fixed cost of one forward pass, in tokens' worth of work; measured for small encoders on CPU
# (about 8 ms per call against 0.14 ms per token) and used to decide when splitting a batch pays.
_FORWARD_OVERHEAD_TOKENS = 64
# On a GPU a token costs about a microsecond while a pass's kernel launches and host work take a few ms:
# an estimate, not yet measured on a GPU machine.
_CUDA_FORWARD_OVERHEAD_TOKENS = 2048


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
        self.loaded_as = "torch"  # the loader says why (engine.backends.choose)
        self._device = model.device
        cuda = self._device.type == "cuda"
        self.batch_overhead_tokens = _CUDA_FORWARD_OVERHEAD_TOKENS if cuda else _FORWARD_OVERHEAD_TOKENS
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
        self._transformer = first
        self._after_transformer = self._modules[1:]
        self._token_output = getattr(first, "module_output_name", None) or "token_embeddings"
        self.packed_token_cost = 0.0
        self.packed_row_tokens = PACK_ROW_TOKENS
        self.concurrency = 1  # torch's intra-op threads already use every core within one pass
        self.max_pass_tokens = 0  # one pass on every core: larger passes split better between threads
        if self._packing_gives_same_vectors():
            # Per layer a token costs ~24*h^2 flops in its linear layers and ~4*w*h in attention over a
            # row of width w: packing pays that wider attention to skip every padding token.
            config = getattr(getattr(first, "auto_model", None), "config", None)
            hidden = int(getattr(config, "hidden_size", None) or self.dimension)
            self.packed_token_cost = 1.0 + PACK_ROW_TOKENS / (6 * hidden)

    @property
    def device(self) -> str:
        """The torch device type the model runs on (``cpu``, ``cuda``, ...)."""
        return str(self._device.type)

    def _make_tokenizer(self, backend: Any, direction: str) -> Any:
        tokenizer = copy.deepcopy(backend)
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_input_length, direction=direction)
        return tokenizer

    @classmethod
    def load(
        cls,
        path: Path,
        device: str | None = None,
        *,
        trust_remote_code: bool = False,
        precision: Precision = "auto",
    ) -> SentenceTransformerBackend:
        """Load the model in float32, then serve it in ``precision`` (see ``precision.py``)."""
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            model = _load_model(path, device, trust_remote_code)
        except (OSError, ValueError) as exc:
            raise BackendFailure(f"Could not load the model at {path.name}: {exc}") from exc
        model.eval()
        # A checkpoint stored in reduced precision loads in it; float32 holds it exactly and is the
        # reference every reduced precision is compared with.
        model.to(_torch_dtype("float32"))
        backend = cls(model)
        backend._serve_in(precision)
        return backend

    def _serve_in(self, asked: Precision) -> None:
        """Cast the float32 model to the precision ``choose_precision`` picks. The float32 vectors of a
        probe batch, and under ``auto`` a host copy of the float32 weights (each candidate is cast from
        them), are taken before the first cast and dropped once it has picked."""
        probe = self.tokenize(probe_texts(self.max_input_length), "right")
        expected: npt.NDArray[np.float32] | None = None
        weights: dict[str, Any] = {}

        def measure(dtype: str) -> float:
            nonlocal expected
            if expected is None:
                expected = self._forward_padded(probe)
                if asked == "auto":  # a candidate may fail: the next is cast from these
                    weights.update(_host_copy(self._model))
            self._cast(dtype, weights)
            return lowest_cosine(expected, self._forward_padded(probe))

        bf16 = self.device == "cuda" and bool(self._torch.cuda.is_bf16_supported())
        choice = choose_precision(asked, self.device, measure, bf16_supported=bf16)
        self._cast(choice.dtype, weights)
        log.info("precision %s", choice.reason)
        if choice.dtype != "float32" and self.packed_token_cost and not self._packing_gives_same_vectors():
            self.packed_token_cost = 0.0

    def _cast(self, dtype: str, float32_weights: dict[str, Any]) -> None:
        """Serve in ``dtype``; from a reduced precision, through the saved float32 weights."""
        torch = self._torch
        if self.dtype == dtype:
            return
        if self.dtype != "float32":
            self._model.to(torch.float32)
            with torch.no_grad():
                for name, tensor in _tensors(self._model):
                    tensor.copy_(float32_weights[name])
        self._model.to(_torch_dtype(dtype))
        self.dtype = dtype

    @property
    def pipeline(self) -> list[Any]:
        """The model's modules before any final Normalize (which ``normalizes`` reports)."""
        return list(self._modules)

    @property
    def pad_id(self) -> int:
        return self._pad_id

    @property
    def encoder(self) -> Any:
        """The transformers model inside the first module (what the ONNX exports rebuild)."""
        return self._transformer.auto_model

    def export_onnx(self, target: Path) -> None:
        """Write the transformer module as an ONNX graph from token ids, attention mask and token type
        ids to token vectors, with batch and sequence dimensions free."""
        torch = self._torch
        encoder = self._transformer.auto_model

        class TokenVectors(torch.nn.Module):  # type: ignore[misc,name-defined]
            # Keyword arguments: the positional order of a model's forward differs between versions.
            def __init__(self) -> None:
                super().__init__()
                self.encoder = encoder

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
                if "token_type_ids" in names:
                    kwargs["token_type_ids"] = token_type_ids
                return self.encoder(**kwargs).last_hidden_state

        names = self._input_names
        sample = self.tokenize(["an export sample", "a second, longer export sample sentence"], "right")
        width = max(len(item.ids) for item in sample)
        ids = torch.full((2, width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((2, width), dtype=torch.long)
        for row, item in enumerate(sample):
            ids[row, : len(item.ids)] = torch.tensor(item.ids)
            mask[row, : len(item.ids)] = 1
        inputs = ["input_ids", "attention_mask", "token_type_ids"]
        free = {name: {0: "batch", 1: "sequence"} for name in [*inputs, "token_vectors"]}
        # The TorchScript exporter: it needs no onnxscript and handles these encoders; its deprecation
        # notice and tracer warnings say nothing the user can act on.
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                TokenVectors().eval(),
                (ids, mask, torch.zeros_like(ids)),
                str(target),
                input_names=inputs,
                output_names=["token_vectors"],
                dynamic_axes=free,
                opset_version=17,
                dynamo=False,
            )

    def tokenize(self, texts: Sequence[str], direction: TruncationDirection) -> list[TokenizedText]:
        encodings = self._tokenizers[direction].encode_batch(list(texts))
        return [TokenizedText(e.ids, e.type_ids, bool(e.overflowing)) for e in encodings]

    def forward(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]:
        if should_pack([len(item.ids) for item in batch], self.packed_token_cost, self.packed_row_tokens):
            return self._forward_packed(batch)
        return self._forward_padded(batch)

    def _forward_packed(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]:
        torch = self._torch
        packed = pack(batch, self._pad_id)

        def tensor(array: Any) -> Any:
            return torch.from_numpy(array).to(self._device)

        features: dict[str, Any] = {
            "input_ids": tensor(packed.input_ids),
            "attention_mask": tensor(packed.attention_mask),
            "position_ids": tensor(packed.position_ids),
            "modality": "text",
        }
        if "token_type_ids" in self._input_names:
            features["token_type_ids"] = tensor(packed.token_type_ids)
        with torch.inference_mode():
            encoded = self._transformer(features)
            features = {
                self._token_output: unpack(encoded[self._token_output], packed, torch),
                "attention_mask": tensor(packed.input_mask),
                "modality": "text",
            }
            for module in self._after_transformer:
                features = module(features)
            vectors = features["sentence_embedding"].float().cpu().numpy()
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _packing_gives_same_vectors(self) -> bool:
        """Pack only models that provably give the padded path's vectors (it needs position ids and
        4-D attention masks, which not every architecture takes)."""
        probe = self.tokenize(
            ["packing probe", "a second, rather longer input that shares the row with the first", "x"],
            "right",
        )
        try:
            packed = self._forward_packed(probe)
        except Exception as exc:  # any failure means this architecture does not take packed rows
            log.info("sequence packing is off for this model: %s", exc)
            return False
        padded = self._forward_padded(probe)
        scale = max(1.0, float(np.abs(padded).max()))
        # Packed and padded rows sum in different orders, so they differ by a few units in the last place
        # of the served dtype: 1e-4 covers float32's; float16 and bfloat16 get 8 of theirs (the bundled model
        # differs by about 1 on the CPU). Whether the architecture packs at all was settled in float32, under
        # 1e-4, before any cast.
        eps = float(self._torch.finfo(_torch_dtype(self.dtype)).eps)
        same = bool(np.abs(packed - padded).max() <= max(1e-4, 8 * eps) * scale)
        if not same:
            log.info("sequence packing is off for this model: its vectors differ from the padded path")
        return same

    def _forward_padded(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]:
        torch = self._torch
        padded = PaddedBatch.of(batch, self._pad_id)
        features: dict[str, Any] = {
            "input_ids": torch.from_numpy(padded.input_ids).to(self._device),
            "attention_mask": torch.from_numpy(padded.attention_mask).to(self._device),
            "modality": "text",
        }
        if "token_type_ids" in self._input_names:
            features["token_type_ids"] = torch.from_numpy(padded.token_type_ids).to(self._device)
        with torch.inference_mode():
            for module in self._modules:
                features = module(features)
            vectors = features["sentence_embedding"].float().cpu().numpy()
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _torch_dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


def _load_model(path: Path, device: str | None, trust_remote_code: bool) -> Any:
    """The model with torch's scaled-dot-product attention asked for by name; an architecture without it
    is loaded again with its own attention (transformers already defaults to SDPA where it can)."""
    from sentence_transformers import SentenceTransformer

    def load(**model_kwargs: Any) -> Any:
        return SentenceTransformer(
            str(path),
            device=device,
            local_files_only=True,
            trust_remote_code=trust_remote_code,
            model_kwargs=model_kwargs or None,
        )

    try:
        return load(attn_implementation="sdpa")
    except (ValueError, ImportError, TypeError) as exc:
        reason = str(exc).split(". ")[0]  # transformers goes on with where to ask for support
        log.info("loading %s again without SDPA attention: %s", path.name, reason)
        return load()


def _host_copy(model: Any) -> dict[str, Any]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in _tensors(model)}


def _tensors(model: Any) -> list[tuple[str, Any]]:
    """Every parameter and buffer by name (casting replaces buffer objects, so look them up again)."""
    return [*model.named_parameters(), *model.named_buffers()]
