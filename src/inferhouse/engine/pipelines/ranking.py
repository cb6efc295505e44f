"""Cross-encoders for ``sentence-ranking`` / ``text-ranking``, through ``sentence_transformers.CrossEncoder``.

Two scoring conventions meet here. The toolkit's body answers with what ``CrossEncoder.predict`` gives by
default: the model's own activation, a sigmoid for a one-logit model unless its configuration names
another (many MS MARCO rerankers ship with the identity). TEI's ``/rerank`` instead gives a sigmoid of
the logit unless ``raw_scores`` asks for the logit itself; ``rank`` follows TEI whatever the model's own
activation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.engine.pipelines.body import split_body
from inferhouse.engine.pipelines.fit import model_label
from inferhouse.errors import BackendFailure, EmptyInput, InputTooLong, ValidationFailed

RANKING_TASKS = frozenset({"sentence-ranking", "text-ranking"})
_SHAPE = '[[a, b], ...], a single pair [a, b], or {"query": str, "texts": [str], "return_documents": bool}'


class CrossEncoderRanker:
    """Scores (query, text) pairs with one cross-encoder."""

    def __init__(self, model: Any, task: str) -> None:
        import torch

        self.task = task
        self._model = model
        self._identity = torch.nn.Identity()

    @classmethod
    def load(
        cls, path: Path, task: str, *, trust_remote_code: bool = False, device: str = "cpu"
    ) -> CrossEncoderRanker:
        from sentence_transformers import CrossEncoder

        try:
            model = CrossEncoder(
                str(path), device=device, local_files_only=True, trust_remote_code=trust_remote_code
            )
        except (OSError, ValueError) as exc:
            raise BackendFailure(f"Could not load the cross-encoder at {model_label(path)}: {exc}") from exc
        return cls(model, task)

    def __call__(self, body: Mapping[str, Any]) -> Any:
        # The toolkit gives sentence-transformers tasks no parameters, so they are ignored here too.
        inputs, _ = split_body(body, self.task, _SHAPE)
        if isinstance(inputs, Mapping):
            return self._rank_body(inputs)
        pairs = self._pairs(inputs)
        return {"scores": self._predict(pairs, raw=False).tolist()}

    def rank(
        self, query: str, texts: Sequence[str], *, raw_scores: bool, return_text: bool, truncate: bool
    ) -> list[dict[str, Any]]:
        self._check_query(query, texts)
        self._need_one_score()
        if not truncate:
            self._check_lengths(query, texts)
        logits = self._predict([[query, text] for text in texts], raw=True)
        scores = logits if raw_scores else 1.0 / (1.0 + np.exp(-logits))
        return _ranked(scores, texts, return_text)

    def _rank_body(self, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        query, texts = inputs.get("query"), inputs.get("texts")
        return_documents = inputs.get("return_documents", False)
        if (
            not isinstance(query, str)
            or not isinstance(texts, list)
            or not all(isinstance(text, str) for text in texts)
            or not isinstance(return_documents, bool)
        ):
            raise ValidationFailed(f"Task {self.task} takes inputs as {_SHAPE}")
        self._check_query(query, texts)
        self._need_one_score()
        return _ranked(self._predict([[query, text] for text in texts], raw=False), texts, return_documents)

    def _pairs(self, inputs: Any) -> list[list[str]]:
        if not isinstance(inputs, list):
            raise ValidationFailed(f"Task {self.task} takes inputs as {_SHAPE}")
        if not inputs:
            raise EmptyInput(f"Task {self.task} got an empty list of pairs")
        if len(inputs) == 2 and all(isinstance(text, str) for text in inputs):
            return [list(inputs)]
        if not all(_is_pair(pair) for pair in inputs):
            raise ValidationFailed(f"Task {self.task} takes inputs as {_SHAPE}")
        return [list(pair) for pair in inputs]

    def _check_query(self, query: str, texts: Sequence[str]) -> None:
        if not query:
            raise EmptyInput(f"Task {self.task} got an empty query")
        if not texts:
            raise EmptyInput(f"Task {self.task} got no texts to rank")

    def _need_one_score(self) -> None:
        labels = int(self._model.num_labels)
        if labels != 1:
            raise ValidationFailed(
                f"Ranking a query needs a model with one score per pair; this one gives {labels}. "
                "Send [[a, b], ...] pairs instead"
            )

    def _check_lengths(self, query: str, texts: Sequence[str]) -> None:
        limit = self._model.max_seq_length
        if limit is None:
            return
        encoded = self._model.tokenizer([query] * len(texts), list(texts))["input_ids"]
        for position, length in enumerate(len(ids) for ids in encoded):
            if length > limit:
                raise InputTooLong(
                    f"Text {position} makes a pair of {length} tokens with the query; the model takes at "
                    f"most {limit}. Set truncate to true to cut it"
                )

    def _predict(self, pairs: list[list[str]], *, raw: bool) -> npt.NDArray[np.float32]:
        activation = {"activation_fn": self._identity} if raw else {}
        scores = self._model.predict(pairs, show_progress_bar=False, convert_to_numpy=True, **activation)
        return np.asarray(scores, dtype=np.float32)


def _is_pair(pair: Any) -> bool:
    return isinstance(pair, list) and len(pair) == 2 and all(isinstance(text, str) for text in pair)


def _ranked(
    scores: npt.NDArray[np.floating[Any]], texts: Sequence[str], with_text: bool
) -> list[dict[str, Any]]:
    # A stable sort: equal scores keep the order the texts came in.
    order = sorted(range(len(texts)), key=lambda index: -float(scores[index]))
    ranked: list[dict[str, Any]] = []
    for index in order:
        entry: dict[str, Any] = {"index": index, "score": float(scores[index])}
        if with_text:
            entry["text"] = texts[index]
        ranked.append(entry)
    return ranked
