"""Loading a model directory as a :class:`TextGenerator` (``text-generation`` or ``text2text-generation``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inferhouse.engine.generation.contract import TextGenerator
from inferhouse.engine.generation.limits import model_positions, settings_from_env
from inferhouse.errors import BackendFailure, TaskMismatch, ValidationFailed

GENERATION_AUTO_CLASSES = {
    "text-generation": "AutoModelForCausalLM",
    "text2text-generation": "AutoModelForSeq2SeqLM",
}


def _ids(value: object) -> set[int]:
    if isinstance(value, int):
        return {value}
    if isinstance(value, list | tuple):
        return {item for item in value if isinstance(item, int)}
    return set()


def _check_head(path: Path, task: str, options: Mapping[str, Any]) -> None:
    """A checkpoint saved with another head (a classifier, a bare encoder) would load with a random
    language-model head and babble; say so instead."""
    import transformers
    from transformers.models.auto import modeling_auto

    try:
        config = transformers.AutoConfig.from_pretrained(str(path), **options)
    except (OSError, ValueError) as exc:
        raise BackendFailure(f"Could not read the config of the model at {path.name}: {exc}") from exc
    architectures = getattr(config, "architectures", None) or []
    if not architectures or getattr(config, "auto_map", None):
        return  # nothing to judge by, or the model's own code decides
    mapping = (
        modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        if task == "text-generation"
        else modeling_auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES
    )
    known: set[str] = set()
    for names in mapping.values():
        known.update([names] if isinstance(names, str) else names)
    if not known.intersection(architectures):
        kind = "causal language model" if task == "text-generation" else "encoder-decoder model"
        raise TaskMismatch(
            f"The model at {path.name} ({', '.join(architectures)}) is not a {kind}; it cannot serve {task}"
        )


def load_tokenizer(path: Path, trust_remote_code: bool) -> Any:
    """The tokenizer of the generation model at ``path`` (alone, for a model that runs elsewhere)."""
    import transformers

    options = {"local_files_only": True, "trust_remote_code": trust_remote_code}
    try:
        return transformers.AutoTokenizer.from_pretrained(str(path), **options)
    except (OSError, ValueError) as exc:
        raise BackendFailure(f"Could not load the tokenizer of the model at {path.name}: {exc}") from exc


def _load(path: Path, task: str, trust_remote_code: bool) -> tuple[Any, Any]:
    import transformers
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    options = {"local_files_only": True, "trust_remote_code": trust_remote_code}
    _check_head(path, task, options)
    auto_class = getattr(transformers, GENERATION_AUTO_CLASSES[task])
    tokenizer = load_tokenizer(path, trust_remote_code)
    try:
        model = auto_class.from_pretrained(str(path), **options)
    except ValueError as exc:
        if "Unrecognized configuration class" in str(exc):
            kind = "causal language model" if task == "text-generation" else "encoder-decoder model"
            raise TaskMismatch(
                f"The model at {path.name} is not a {kind}, so it cannot serve {task}: {exc}"
            ) from exc
        raise BackendFailure(f"Could not load the {task} model at {path.name}: {exc}") from exc
    except OSError as exc:
        raise BackendFailure(f"Could not load the {task} model at {path.name}: {exc}") from exc
    return model, tokenizer


def load_text_generator(
    path: Path,
    task: str,
    *,
    name: str,
    env: Mapping[str, str],
    device: str = "cpu",
    trust_remote_code: bool = False,
    close_grace_s: float = 10.0,
) -> TextGenerator:
    """The model at ``path`` behind a continuous-batching loop; limits come from ``env`` (TGI's names)."""
    import torch

    from inferhouse.engine.generation.causal import CausalRows
    from inferhouse.engine.generation.generator import TorchTextGenerator
    from inferhouse.engine.generation.scheduler import Rows, Vocabulary
    from inferhouse.engine.generation.seq2seq import Seq2SeqRows

    if task not in GENERATION_AUTO_CLASSES:
        raise ValidationFailed(
            f"Task {task} is not a text generation task; use one of {sorted(GENERATION_AUTO_CLASSES)}"
        )
    model, tokenizer = _load(path, task, trust_remote_code)
    torch_device = torch.device(device)
    model.to(torch_device)
    model.eval()

    positions = model_positions(model.config, getattr(tokenizer, "model_max_length", None))
    settings = settings_from_env(env, positions)

    generation_config = getattr(model, "generation_config", None)
    eos_ids = _ids(getattr(generation_config, "eos_token_id", None)) | _ids(tokenizer.eos_token_id)
    eos_ids |= _ids(getattr(model.config, "eos_token_id", None))
    vocabulary = Vocabulary(
        tokenizer=tokenizer,
        eos_ids=frozenset(eos_ids),
        special_ids=frozenset(int(token) for token in tokenizer.all_special_ids),
    )
    rows: Rows
    if task == "text-generation":
        rows = CausalRows(model, torch_device)
    else:
        rows = Seq2SeqRows(model, torch_device, _decoder_prefix(model, tokenizer))
    return TorchTextGenerator(
        task=task,
        model_id=name,
        limits=settings.limits,
        tokenizer=tokenizer,
        rows=rows,
        vocabulary=vocabulary,
        max_batch_size=settings.max_batch_size,
        model=model,
        close_grace_s=close_grace_s,
    )


def _decoder_prefix(model: Any, tokenizer: Any) -> list[int]:
    """The tokens an encoder-decoder's output starts from (its decoder start, then a forced BOS)."""
    generation_config = getattr(model, "generation_config", None)
    start = getattr(generation_config, "decoder_start_token_id", None)
    if start is None:
        start = getattr(model.config, "decoder_start_token_id", None)
    if start is None:
        start = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.bos_token_id
    if start is None:
        raise BackendFailure("This encoder-decoder model names no decoder start token in its config")
    prefix = [int(start)]
    forced = getattr(generation_config, "forced_bos_token_id", None)
    if isinstance(forced, int):
        prefix.append(forced)
    return prefix
