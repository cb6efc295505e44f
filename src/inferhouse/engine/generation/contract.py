"""What a text generator promises the HTTP dialects (TGI, the Inference API, OpenAI chat).

The dialects parse their own bodies into :class:`GenerationParams` and shape their own replies; the
generator validates parameters against its limits, schedules the work and hands back tokens. Every
validation problem raises :class:`~inferhouse.errors.ValidationFailed` (422) before any token is
produced, and a full queue raises :class:`~inferhouse.errors.Overloaded` (429), so a streaming route
can still answer with a JSON error instead of an event stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

FinishReason = Literal["length", "eos_token", "stop_sequence"]


@dataclass(frozen=True)
class GenerationParams:
    """One request's decoding choices; None means the generator's default."""

    max_new_tokens: int | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    do_sample: bool = False
    repetition_penalty: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    truncate: int | None = None  # keep only the last ``truncate`` prompt tokens


@dataclass(frozen=True)
class GenerationLimits:
    """Per-endpoint bounds (TGI's names, settable in the endpoint's env: MAX_INPUT_TOKENS, ...)."""

    max_input_tokens: int
    max_total_tokens: int
    default_max_new_tokens: int
    max_concurrent_requests: int
    max_stop_sequences: int = 4  # MAX_STOP_SEQUENCES; TGI's default


@dataclass(frozen=True)
class GeneratedToken:
    id: int
    text: str  # the text this token adds to the output (incremental detokenization)
    logprob: float
    special: bool


@dataclass(frozen=True)
class GenerationResult:
    text: str  # the generated text only; a dialect prepends the prompt for return_full_text
    finish_reason: FinishReason
    generated_tokens: int
    prompt_tokens: int
    seed: int | None  # the seed sampling used (drawn when none was given); None when decoding greedily
    tokens: tuple[GeneratedToken, ...]


@runtime_checkable
class GenerationStream(Protocol):
    """Yields tokens as they are decided; once iteration ends, ``result`` is set."""

    result: GenerationResult | None

    def __aiter__(self) -> AsyncIterator[GeneratedToken]: ...

    def cancel(self) -> None:
        """Stop generating (the client went away): the sequence leaves the batch at its next step."""
        ...


@runtime_checkable
class TextGenerator(Protocol):
    """A loaded causal (``text-generation``) or encoder-decoder (``text2text-generation``) model."""

    task: str
    model_id: str
    limits: GenerationLimits

    @property
    def has_chat_template(self) -> bool: ...

    def chat_prompt(self, messages: Sequence[Mapping[str, Any]]) -> str:
        """The prompt the tokenizer's chat template makes of ``messages`` (with the generation prompt);
        :class:`ValidationFailed` when the tokenizer has no template or a message is malformed."""
        ...

    def count_tokens(self, text: str) -> int: ...

    async def generate(self, prompt: str, params: GenerationParams) -> GenerationResult:
        """The whole generation; cancelling the awaiting task stops it."""
        ...

    async def stream(self, prompt: str, params: GenerationParams) -> GenerationStream:
        """Validate and queue ``prompt``; the returned stream yields its tokens."""
        ...

    def close(self) -> None:
        """Finish the requests in flight, then free the model."""
        ...
