"""Extractive question answering: the span of the context most likely to answer the question.

transformers 5 dropped its ``question-answering`` pipeline, so the span search is done here, with the
same parameters, defaults and reply shape that pipeline had: ``{"score", "start", "end", "answer"}``,
or a list of them when ``top_k`` asks for several answers and several are found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.engine.pipelines.body import split_body
from inferhouse.engine.pipelines.params import BOOLEAN, Param, check_parameters, integer
from inferhouse.engine.pipelines.transformers_tasks import input_limit, load_head
from inferhouse.errors import BackendFailure, EmptyInput, ValidationFailed

TASK = "question-answering"
_SHAPE = '{"question": str, "context": str}'

PARAMETERS: Mapping[str, Param] = {
    "top_k": integer(1),
    "doc_stride": integer(0),
    "max_answer_len": integer(1),
    "max_seq_len": integer(8),
    "max_question_len": integer(1),
    "handle_impossible_answer": BOOLEAN,
    "align_to_words": BOOLEAN,
}


@dataclass(frozen=True, slots=True)
class Options:
    """The search's knobs, with the defaults of the transformers pipeline."""

    top_k: int = 1
    doc_stride: int = 128
    max_answer_len: int = 15
    max_seq_len: int = 384
    max_question_len: int = 64
    handle_impossible_answer: bool = False
    align_to_words: bool = True


class ExtractiveQuestionAnswering:
    """Scores every context span of every window the context is cut into and keeps the best."""

    task = TASK

    def __init__(self, model: Any, tokenizer: Any) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise BackendFailure("Task question-answering needs a fast tokenizer (a tokenizer.json)")
        self._model = model
        self._tokenizer = tokenizer
        self._limit = input_limit(model, tokenizer)
        # Models padded on the left (XLNet and kin) read the context first.
        self._question_first = tokenizer.padding_side == "right"

    @classmethod
    def load(
        cls, path: Path, *, trust_remote_code: bool = False, device: str = "cpu"
    ) -> ExtractiveQuestionAnswering:
        model, tokenizer = load_head(path, TASK, trust_remote_code=trust_remote_code, device=device)
        return cls(model, tokenizer)

    def __call__(self, body: Mapping[str, Any]) -> Any:
        if isinstance(body, Mapping) and "inputs" not in body and {"question", "context"} <= body.keys():
            # The toolkit also takes the question and context at the top level of the body.
            body = {"inputs": {"question": body["question"], "context": body["context"]}, **body}
        inputs, parameters = split_body(body, TASK, _SHAPE)
        question, context = _question_and_context(inputs)
        options = Options(**check_parameters(TASK, parameters, PARAMETERS))
        answers = self.answer(question, context, options)
        return answers[0] if len(answers) == 1 else answers

    def answer(self, question: str, context: str, options: Options) -> list[dict[str, Any]]:
        question = self._cut_question(question, options.max_question_len)
        encoded = self._encode(question, context, options)
        start_logits, end_logits = self._logits(encoded)
        spans: dict[tuple[int, int], float] = {}
        null_scores: list[float] = []
        for window in range(len(encoded["input_ids"])):
            null, found = self._best_spans(encoded, window, start_logits[window], end_logits[window], options)
            if null is not None:
                null_scores.append(null)
            for span, score in found:
                spans[span] = max(score, spans.get(span, 0.0))
        answers: list[dict[str, Any]] = [
            {"score": score, "start": start, "end": end, "answer": context[start:end]}
            for (start, end), score in spans.items()
        ]
        if options.handle_impossible_answer and null_scores:
            answers.append({"score": min(null_scores), "start": 0, "end": 0, "answer": ""})
        answers.sort(key=lambda answer: -answer["score"])
        return answers[: options.top_k]

    def _cut_question(self, question: str, max_tokens: int) -> str:
        offsets = self._tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
        return question if len(offsets) <= max_tokens else question[: offsets[max_tokens - 1][1]]

    def _encode(self, question: str, context: str, options: Options) -> Any:
        tokenizer = self._tokenizer
        max_len = min(options.max_seq_len, self._limit or options.max_seq_len)
        question_tokens = len(tokenizer(question, add_special_tokens=False)["input_ids"])
        room = max_len - question_tokens - tokenizer.num_special_tokens_to_add(pair=True)
        if room < 1:
            raise ValidationFailed(
                f"The question leaves no room for the context in {max_len} tokens: shorten the question, "
                "lower max_question_len or raise max_seq_len"
            )
        pair = (question, context) if self._question_first else (context, question)
        return tokenizer(
            *pair,
            truncation="only_second" if self._question_first else "only_first",
            max_length=max_len,
            # Windows must overlap by less than the room they have, or the cutting never advances.
            stride=min(options.doc_stride, room // 2),
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=True,
            return_tensors="pt",
        )

    def _logits(self, encoded: Any) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        import torch

        names = [name for name in self._tokenizer.model_input_names if name in encoded]
        features = {name: encoded[name].to(self._model.device) for name in names}
        with torch.inference_mode():
            output = self._model(**features)
        return output.start_logits.float().cpu().numpy(), output.end_logits.float().cpu().numpy()

    def _best_spans(
        self,
        encoded: Any,
        window: int,
        start_logits: npt.NDArray[np.float32],
        end_logits: npt.NDArray[np.float32],
        options: Options,
    ) -> tuple[float | None, list[tuple[tuple[int, int], float]]]:
        """The window's no-answer score (when it has a CLS token) and its best ``top_k`` spans as
        character offsets into the context."""
        context_id = 1 if self._question_first else 0
        in_context = np.array([sid == context_id for sid in encoded.sequence_ids(window)])
        ids = encoded["input_ids"][window].tolist()
        cls_id = self._tokenizer.cls_token_id
        cls = ids.index(cls_id) if cls_id is not None and cls_id in ids else None
        # Probabilities over the context tokens, plus CLS, which stands for "no answer".
        allowed = in_context.copy()
        if cls is not None:
            allowed[cls] = True
        start = _softmax(np.where(allowed, start_logits, -np.inf))
        end = _softmax(np.where(allowed, end_logits, -np.inf))
        null = float(start[cls] * end[cls]) if cls is not None else None
        scores = np.triu(np.outer(start * in_context, end * in_context))
        scores = np.tril(scores, options.max_answer_len - 1)
        flat = scores.ravel()
        count = min(options.top_k, int(np.count_nonzero(flat)))
        best = np.argpartition(-flat, count - 1)[:count] if count else np.array([], dtype=np.int64)
        offsets = encoded["offset_mapping"][window].tolist()
        spans = []
        for index in best.tolist():
            first, last = divmod(index, scores.shape[1])
            span = self._char_span(encoded, window, first, last, offsets, options.align_to_words)
            spans.append((span, float(flat[index])))
        return null, spans

    def _char_span(
        self, encoded: Any, window: int, first: int, last: int, offsets: list[list[int]], to_words: bool
    ) -> tuple[int, int]:
        start, end = int(offsets[first][0]), int(offsets[last][1])
        if not to_words:
            return start, end
        # Widen to whole words, so an answer never starts or stops inside one.
        words = encoded.word_ids(window)
        context_id = 1 if self._question_first else 0
        if words[first] is not None:
            start = encoded.word_to_chars(window, words[first], sequence_index=context_id).start
        if words[last] is not None:
            end = encoded.word_to_chars(window, words[last], sequence_index=context_id).end
        return start, end


def _question_and_context(inputs: Any) -> tuple[str, str]:
    if not isinstance(inputs, Mapping):
        raise ValidationFailed(f"Task {TASK} takes inputs as {_SHAPE}")
    question, context = inputs.get("question"), inputs.get("context")
    if not isinstance(question, str) or not isinstance(context, str):
        raise ValidationFailed(f"Task {TASK} takes inputs as {_SHAPE}")
    if not question.strip() or not context.strip():
        raise EmptyInput(f"Task {TASK} got an empty {'question' if not question.strip() else 'context'}")
    return question, context


def _softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    shifted = np.exp(logits - np.max(logits))
    return np.asarray(shifted / shifted.sum(), dtype=np.float64)
