"""Reading a ``hugging_face`` upstream's 2xx replies, per task. A body that is not what the task needs is
:class:`UpstreamMalformed`, with a message that says what was expected and what came instead."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

from inferhouse.errors import UpstreamMalformed
from inferhouse.inference.upstream import snippet


@dataclass(frozen=True, slots=True)
class RankedText:
    """One reranked input: its position in the request, its score and, when asked for, its text."""

    index: int
    score: float
    text: str | None = None


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(key) for key in value)[:10])
        return f"an object with fields [{keys}]"
    return type(value).__name__


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ReplyParser:
    """Parses the replies for one inference configuration; ``redact`` masks its API key in messages."""

    def __init__(self, inference_id: str, redact: Callable[[str], str]) -> None:
        self.inference_id = inference_id
        self._redact = redact

    def malformed(self, task: str, problem: str) -> UpstreamMalformed:
        return UpstreamMalformed(
            self._redact(
                f"Failed to parse the Hugging Face {task} response for request from inference entity id "
                f"[{self.inference_id}]: {problem}"
            )
        )

    def _load(self, content: bytes, task: str) -> Any:
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            text = content.decode("utf-8", errors="replace")
            received = f"[{snippet(text, 200)}]" if text.strip() else "an empty body"
            raise self.malformed(task, f"expected JSON but received {received}") from None

    def embeddings(self, content: bytes, batch: Sequence[str]) -> list[list[float]]:
        task = "embeddings"
        parsed = self._load(content, task)
        if isinstance(parsed, dict):
            if "embeddings" not in parsed:
                raise self.malformed(
                    task,
                    f"Failed to find required field [embeddings]; received {type_name(parsed)}",
                )
            parsed = parsed["embeddings"]
        if not isinstance(parsed, list):
            raise self.malformed(
                task,
                "expected an array with one embedding (an array of numbers) per input, or an object with "
                f"an [embeddings] field, but received {type_name(parsed)}",
            )
        vectors: list[list[float]] = []
        for position, entry in enumerate(parsed):
            if not isinstance(entry, list):
                what = "an array of numbers (a single embedding)" if is_number(entry) else type_name(entry)
                raise self.malformed(
                    task,
                    f"expected an array of embeddings (one array of numbers per input) but entry "
                    f"{position} is {what}",
                )
            if entry and all(isinstance(value, list) for value in entry):
                raise self.malformed(
                    task,
                    f"expected one embedding (an array of numbers) per input but entry {position} is an "
                    "array of arrays, which looks like one embedding per token; configure the upstream to "
                    "return pooled sentence embeddings",
                )
            if not entry:
                raise self.malformed(task, f"embedding {position} is empty")
            for value in entry:
                if not is_number(value):
                    raise self.malformed(
                        task, f"embedding {position} holds {type_name(value)} where numbers are expected"
                    )
            vectors.append([float(value) for value in entry])
        if len(vectors) != len(batch):
            raise self.malformed(
                task, f"expected {len(batch)} embeddings (one per input) but received {len(vectors)}"
            )
        dimensions = len(vectors[0]) if vectors else 0
        for position, vector in enumerate(vectors):
            if len(vector) != dimensions:
                raise self.malformed(
                    task,
                    f"embeddings have different lengths: embedding 0 has {dimensions} values but "
                    f"embedding {position} has {len(vector)}",
                )
        return vectors

    def rerank(
        self, content: bytes, batch: Sequence[tuple[int, str]], return_documents: bool
    ) -> list[RankedText]:
        task = "rerank"
        parsed = self._load(content, task)
        if not isinstance(parsed, list):
            raise self.malformed(
                task, f"expected an array of {{index, score}} objects but received {type_name(parsed)}"
            )
        ranked: list[RankedText] = []
        seen: set[int] = set()
        for position, entry in enumerate(parsed):
            if not isinstance(entry, dict):
                raise self.malformed(
                    task,
                    f"expected an array of {{index, score}} objects but entry {position} is "
                    f"{type_name(entry)}",
                )
            index = entry.get("index")
            score = entry.get("score", entry.get("relevance_score"))
            if not isinstance(index, int) or isinstance(index, bool):
                raise self.malformed(task, f"entry {position} has no integer [index]")
            if not is_number(score):
                raise self.malformed(task, f"entry {position} has no numeric [score]")
            if not 0 <= index < len(batch):
                raise self.malformed(
                    task, f"entry {position} has index [{index}] but the request held {len(batch)} texts"
                )
            if index in seen:
                raise self.malformed(task, f"index [{index}] appears more than once")
            seen.add(index)
            original, text = batch[index]
            if return_documents:
                returned = entry.get("text")
                text = returned if isinstance(returned, str) else text
                ranked.append(RankedText(original, float(score), text))
            else:
                ranked.append(RankedText(original, float(score)))
        return ranked

    def completion(self, content: bytes) -> str:
        task = "chat completion"
        parsed = self._load(content, task)
        choices = parsed.get("choices") if isinstance(parsed, dict) else None
        if not isinstance(choices, list) or not choices:
            raise self.malformed(
                task, f"Failed to find required field [choices]; received {type_name(parsed)}"
            )
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(text, str):
            raise self.malformed(
                task, f"choices[0].message.content should be a string but is {type_name(text)}"
            )
        return text
