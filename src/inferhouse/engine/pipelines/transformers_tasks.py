"""Task models backed by ``transformers`` pipelines: text, token and zero-shot classification, fill-mask.

As in the toolkit, the body's ``parameters`` go to the pipeline call, here after checking them and the
inputs' shape. Replies are the pipeline's output in plain JSON types, reshaped only where
``huggingface_hub.InferenceClient`` could not read it otherwise (noted per task).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from inferhouse.engine.pipelines.body import TEXT_OR_TEXTS, split_body, text_or_texts, to_plain
from inferhouse.engine.pipelines.fit import model_label
from inferhouse.engine.pipelines.params import (
    BOOLEAN,
    LABELS,
    STRINGS,
    TARGETS,
    TEMPLATE,
    Param,
    check_parameters,
    integer,
    one_of,
)
from inferhouse.errors import BackendFailure, InputTooLong, ValidationFailed

AUTO_CLASSES = {
    "text-classification": "AutoModelForSequenceClassification",
    "zero-shot-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "fill-mask": "AutoModelForMaskedLM",
    "question-answering": "AutoModelForQuestionAnswering",
}

# Tokenizers without a configured limit report a huge model_max_length; beyond this it means "unset".
_UNSET_LIMIT = 1_000_000


def load_head(path: Path, task: str, *, trust_remote_code: bool, device: str) -> tuple[Any, Any]:
    """The model with ``task``'s head, on ``device`` in eval mode, and its tokenizer; read from disk only."""
    import transformers
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    auto_class = getattr(transformers, AUTO_CLASSES[task])
    # Always explicit: left unset, transformers asks on stdin whether to run a model's own code.
    options = {"local_files_only": True, "trust_remote_code": trust_remote_code}
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), **options)
        model = auto_class.from_pretrained(str(path), **options)
    except (OSError, ValueError) as exc:
        raise BackendFailure(f"Could not load the {task} model at {model_label(path)}: {exc}") from exc
    model.to(device)
    model.eval()
    return model, tokenizer


def input_limit(model: Any, tokenizer: Any) -> int | None:
    """The most tokens one input may have: the tokenizer's limit, capped by the model's positions."""
    limits = [int(tokenizer.model_max_length)]
    positions = getattr(model.config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    limit = min(limits)
    return limit if limit < _UNSET_LIMIT else None


class PipelineTaskModel:
    """One transformers pipeline behind the toolkit's body; subclasses say what their task takes.

    Each text goes through the pipeline on its own (the pipelines run a list one item at a time anyway),
    so every answer has the pipeline's single-input shape whatever the batch.
    """

    task: str
    parameters: ClassVar[Mapping[str, Param]] = {}
    # A string input gets its answer alone; a list gets one answer per input.
    unwrap_single: ClassVar[bool] = True

    def __init__(self, pipe: Any, task: str) -> None:
        self.task = task
        self._pipe = pipe
        self._limit = input_limit(pipe.model, pipe.tokenizer)

    def __call__(self, body: Mapping[str, Any]) -> Any:
        inputs, parameters = split_body(body, self.task, TEXT_OR_TEXTS)
        texts = text_or_texts(inputs, self.task)
        batch = [texts] if isinstance(texts, str) else texts
        checked = check_parameters(self.task, parameters, self.parameters)
        self.prepare(batch, checked)
        answers = [self.answer(text, checked) for text in batch]
        single = isinstance(texts, str) and self.unwrap_single
        return to_plain(answers[0] if single else answers)

    def prepare(self, texts: list[str], parameters: dict[str, Any]) -> None:
        """Check the request as a whole before any text runs; may adjust ``parameters``."""

    def answer(self, text: str, parameters: dict[str, Any]) -> Any:
        return self._pipe(text, **parameters)

    def check_lengths(self, texts: list[str], advice: str) -> None:
        """Raise ``InputTooLong`` before the model overruns its position table on a long input."""
        if self._limit is None:
            return
        for position, ids in enumerate(self._pipe.tokenizer(texts)["input_ids"]):
            if len(ids) > self._limit:
                raise InputTooLong(
                    f"Input {position} is {len(ids)} tokens; the model takes at most {self._limit}. {advice}"
                )


class TextClassification(PipelineTaskModel):
    """Reply: one list of ``{"label", "score"}`` per input, also for a single string (``[[...]]``).

    The pipeline gives a bare ``[{...}]`` for a string, which ``InferenceClient.text_classification``
    reads as one element instead of a list. By default only the top label, as the toolkit does;
    ``top_k`` (null for all) asks for more.
    """

    parameters: ClassVar[Mapping[str, Param]] = {
        "top_k": integer(1, nullable=True),
        "function_to_apply": one_of("sigmoid", "softmax", "none"),
        "truncation": BOOLEAN,
    }
    unwrap_single = False

    def prepare(self, texts: list[str], parameters: dict[str, Any]) -> None:
        if parameters.pop("truncation", False):
            parameters.update(truncation=True, max_length=self._limit)
        else:
            self.check_lengths(texts, "Set parameters.truncation to true to cut it")


class TokenClassification(PipelineTaskModel):
    """Reply: the pipeline's entities (``entity`` or ``entity_group``, ``score``, ``word``, ``start``,
    ``end``), a list for a string, one list per input for a list. Long inputs are truncated by the
    pipeline unless ``stride`` asks for overlapping windows."""

    parameters: ClassVar[Mapping[str, Param]] = {
        "aggregation_strategy": one_of("none", "simple", "first", "average", "max"),
        "ignore_labels": STRINGS,
        "stride": integer(0),
    }

    def prepare(self, texts: list[str], parameters: dict[str, Any]) -> None:
        if "stride" not in parameters:
            return
        if parameters.get("aggregation_strategy", "none") == "none":
            raise ValidationFailed(
                "Parameter stride of task token-classification needs an aggregation_strategy other than none"
            )
        if self._limit is not None and parameters["stride"] >= self._limit:
            limit = self._limit
            raise ValidationFailed(f"Parameter stride of task token-classification must be below {limit}")


class ZeroShotClassification(PipelineTaskModel):
    """Reply: ``[{"label", "score"}]`` best first, one such list per input for a list of inputs.

    The pipeline gives ``{"sequence", "labels", "scores"}``; ``InferenceClient.zero_shot_classification``
    (huggingface_hub 1.x and later) reads a list of label/score pairs instead.
    """

    parameters: ClassVar[Mapping[str, Param]] = {
        "candidate_labels": LABELS,
        "multi_label": BOOLEAN,
        "hypothesis_template": TEMPLATE,
    }

    def prepare(self, texts: list[str], parameters: dict[str, Any]) -> None:
        if "candidate_labels" not in parameters:
            raise ValidationFailed(
                'Task zero-shot-classification takes {"inputs": str, "parameters": {"candidate_labels": '
                '[str], "multi_label": bool}}: candidate_labels is missing'
            )

    def answer(self, text: str, parameters: dict[str, Any]) -> Any:
        result = self._pipe(text, **parameters)
        pairs = zip(result["labels"], result["scores"], strict=True)
        return [{"label": label, "score": score} for label, score in pairs]


class FillMask(PipelineTaskModel):
    """Reply: the pipeline's ``{"score", "token", "token_str", "sequence"}`` candidates: a list for a
    string with one mask, a list per mask for several, and one such reply per input for a list."""

    parameters: ClassVar[Mapping[str, Param]] = {"top_k": integer(1), "targets": TARGETS}

    def prepare(self, texts: list[str], parameters: dict[str, Any]) -> None:
        mask = self._pipe.tokenizer.mask_token
        for position, text in enumerate(texts):
            if mask not in text:
                where = "the input" if len(texts) == 1 else f"input {position}"
                raise ValidationFailed(f"No {mask} token in {where}: task fill-mask fills in {mask}")
        self.check_lengths(texts, "Shorten it")


PIPELINE_MODELS: dict[str, type[PipelineTaskModel]] = {
    "text-classification": TextClassification,
    "token-classification": TokenClassification,
    "zero-shot-classification": ZeroShotClassification,
    "fill-mask": FillMask,
}


def load_pipeline_model(
    path: Path, task: str, *, trust_remote_code: bool = False, device: str = "cpu"
) -> PipelineTaskModel:
    import transformers

    model, tokenizer = load_head(path, task, trust_remote_code=trust_remote_code, device=device)
    # Typed loosely on purpose: the overloads of ``pipeline`` want the task as a literal.
    build: Any = transformers.pipeline
    pipe = build(task, model=model, tokenizer=tokenizer, device=device)
    return PIPELINE_MODELS[task](pipe, task)
