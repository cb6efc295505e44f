"""An encoder's forward pass over unpadded tokens: a batch's inputs laid end to end in one sequence.

Everything in a BERT-style encoder but attention works token by token (embeddings, the projections,
the feed-forward block, layer norms), so those run on the batch's real tokens only. Attention gathers
each input's tokens into a padded block, attends within it, and scatters the result back. A pass of
mixed lengths then costs about its tokens instead of its size times its longest input, which is what
one-sentence requests arriving together need: they cannot be sorted by length before they arrive.

Exported to ONNX by :func:`export_unpadded`; fed by :func:`unpadded_feeds`; pooled by
:func:`pool_segments`. Encoders of another shape keep the padded graph (:func:`unsupported_reason`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import TokenizedText

# The encoders whose modules this graph rebuilds: BERT's layer layout with absolute positions.
_SUPPORTED = {"BertModel": False, "RobertaModel": True, "XLMRobertaModel": True}  # name: positions offset
_MASKED = -1e4  # added to attention scores of padding: exp() of it is 0 in float32
INPUTS = ("token_ids", "token_type_ids", "position_ids", "gather_index", "scatter_index", "key_bias")


def unsupported_reason(encoder: Any) -> str | None:
    """Why ``encoder`` (a transformers model) cannot run unpadded, or None when it can."""
    name = type(encoder).__name__
    if name not in _SUPPORTED:
        return f"{name} is not a BERT-style encoder"
    config = encoder.config
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return f"{name} is configured as a decoder"
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return f"{name} uses {config.position_embedding_type} position embeddings"
    return None


def position_offset(encoder: Any) -> int:
    """The first position id: 0 for BERT; RoBERTa counts from its padding id plus one."""
    if _SUPPORTED.get(type(encoder).__name__):
        return int(encoder.config.pad_token_id) + 1
    return 0


def unpadded_feeds(batch: Sequence[TokenizedText], offset: int) -> dict[str, npt.NDArray[Any]]:
    """The graph's inputs for ``batch``: its tokens end to end, and the indices that move them into a
    padded block for attention (``gather_index``; the row past the last token is zeros) and back
    (``scatter_index``)."""
    lengths = np.fromiter((len(item.ids) for item in batch), dtype=np.int64, count=len(batch))
    total, width = int(lengths.sum()), int(lengths.max())
    starts = np.cumsum(lengths) - lengths
    columns = np.arange(width, dtype=np.int64)
    real = columns[None, :] < lengths[:, None]
    ids = (token for item in batch for token in item.ids)
    types = (kind for item in batch for kind in item.type_ids)
    return {
        "token_ids": np.fromiter(ids, dtype=np.int64, count=total),
        "token_type_ids": np.fromiter(types, dtype=np.int64, count=total),
        "position_ids": np.arange(total, dtype=np.int64) - np.repeat(starts, lengths) + offset,
        "gather_index": np.where(real, starts[:, None] + columns[None, :], total),
        "scatter_index": (np.arange(len(batch), dtype=np.int64)[:, None] * width + columns)[real],
        "key_bias": np.where(real, np.float32(0), np.float32(_MASKED))[:, None, None, :],
    }


def pool_segments(
    tokens: npt.NDArray[np.float32], lengths: Sequence[int], mode: str
) -> npt.NDArray[np.float32]:
    """One vector per input from its run of rows in ``tokens``, as sentence-transformers pools them."""
    counts = np.asarray(lengths, dtype=np.int64)
    pooled = np.zeros((len(counts), tokens.shape[1]), dtype=np.float32)  # an input of no tokens: zeros
    present = counts > 0
    if not present.any():
        return pooled
    kept = counts[present]
    starts = np.cumsum(kept) - kept
    if mode == "cls":
        pooled[present] = tokens[starts]
    elif mode == "max":
        pooled[present] = np.maximum.reduceat(tokens, starts, axis=0)
    else:
        pooled[present] = np.add.reduceat(tokens, starts, axis=0) / kept[:, None].astype(np.float32)
    return pooled


def export_unpadded(encoder: Any, sample: Sequence[TokenizedText], target: Path) -> None:
    """Write ``encoder`` as an ONNX graph from :func:`unpadded_feeds` to one vector per token."""
    import torch

    module = _unpadded_module(encoder).eval()
    feeds = unpadded_feeds(sample, position_offset(encoder))
    free = {
        "token_ids": {0: "tokens"},
        "token_type_ids": {0: "tokens"},
        "position_ids": {0: "tokens"},
        "gather_index": {0: "batch", 1: "width"},
        "scatter_index": {0: "tokens"},
        "key_bias": {0: "batch", 3: "width"},
        "token_vectors": {0: "tokens"},
    }
    # The TorchScript exporter, as for the padded graph; its deprecation and tracer warnings say
    # nothing a user can act on.
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            tuple(torch.from_numpy(feeds[name]) for name in INPUTS),
            str(target),
            input_names=list(INPUTS),
            output_names=["token_vectors"],
            dynamic_axes=free,
            opset_version=17,
            dynamo=False,
        )


def _unpadded_module(encoder: Any) -> Any:
    import torch

    def transposed(linear: Any) -> tuple[Any, Any]:
        # Weights as (in, out) constants feeding MatMul, which int8 dynamic quantization rewrites.
        return torch.nn.Parameter(linear.weight.detach().t().contiguous()), linear.bias

    class Layer(torch.nn.Module):
        def __init__(self, layer: Any) -> None:
            super().__init__()
            attention = layer.attention.self
            self.heads = attention.num_attention_heads
            self.head_size = attention.attention_head_size
            fused = torch.cat([attention.query.weight, attention.key.weight, attention.value.weight])
            self.qkv_weight = torch.nn.Parameter(fused.detach().t().contiguous())
            self.qkv_bias = torch.nn.Parameter(
                torch.cat([attention.query.bias, attention.key.bias, attention.value.bias]).detach()
            )
            self.out_weight, self.out_bias = transposed(layer.attention.output.dense)
            self.attention_norm = layer.attention.output.LayerNorm
            self.up_weight, self.up_bias = transposed(layer.intermediate.dense)
            self.activation = layer.intermediate.intermediate_act_fn
            self.down_weight, self.down_bias = transposed(layer.output.dense)
            self.output_norm = layer.output.LayerNorm

        def forward(self, x: Any, gather: Any, scatter: Any, key_bias: Any) -> Any:
            batch, width = gather.shape
            qkv = x @ self.qkv_weight + self.qkv_bias
            padded = torch.cat([qkv, qkv.new_zeros(1, qkv.shape[1])])[gather]
            q, k, v = padded.reshape(batch, width, 3, self.heads, self.head_size).permute(2, 0, 3, 1, 4)
            scores = (q @ k.transpose(-1, -2)) * self.head_size**-0.5 + key_bias
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch * width, -1)[scatter]
            x = self.attention_norm(context @ self.out_weight + self.out_bias + x)
            hidden = self.activation(x @ self.up_weight + self.up_bias)
            return self.output_norm(hidden @ self.down_weight + self.down_bias + x)

    class Unpadded(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = encoder.embeddings
            self.layers = torch.nn.ModuleList(Layer(layer) for layer in encoder.encoder.layer)

        def forward(
            self, ids: Any, types: Any, positions: Any, gather: Any, scatter: Any, key_bias: Any
        ) -> Any:
            embeddings = self.embeddings
            x = embeddings.word_embeddings(ids) + embeddings.token_type_embeddings(types)
            x = embeddings.LayerNorm(x + embeddings.position_embeddings(positions))
            for layer in self.layers:
                x = layer(x, gather, scatter, key_bias)
            return x

    return Unpadded()
