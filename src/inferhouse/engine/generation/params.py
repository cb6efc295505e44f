"""Checking one request's parameters against the endpoint's limits, in TGI's words.

The messages follow text-generation-inference's router (``validation.rs``) so clients that match on
them keep working. Two deliberate differences: ``top_p == 1.0`` is accepted (it means "no nucleus
filter"; OpenAI clients send it by default), and ``temperature == 0`` without ``do_sample`` means
greedy decoding instead of an error (the usual meaning of a zero temperature).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inferhouse.engine.generation.contract import GenerationLimits, GenerationParams
from inferhouse.errors import ValidationFailed

MAX_SEED = 2**64 - 1


MIN_REPETITION_PENALTY = 1e-3


@dataclass(frozen=True)
class Plan:
    """A validated request: the prompt's token ids and every decoding choice made concrete."""

    prompt_ids: tuple[int, ...]
    max_new_tokens: int
    sampling: bool
    temperature: float
    top_k: int | None
    top_p: float | None
    repetition_penalty: float
    stop: tuple[str, ...]
    seed: int | None  # set exactly when sampling


def _is_sampling(params: GenerationParams) -> bool:
    # As TGI: asking for any warper (temperature other than 1, top_k, top_p below 1) turns sampling on.
    if params.temperature == 0 and not params.do_sample:
        return False
    return (
        params.do_sample
        or (params.temperature is not None and params.temperature != 1.0)
        or params.top_k is not None
        or (params.top_p is not None and params.top_p < 1.0)
    )


def check_params(params: GenerationParams, limits: GenerationLimits) -> None:
    """Everything that can be judged without the prompt's tokens."""
    temperature = params.temperature
    if temperature is not None and not (temperature > 0 or (temperature == 0 and not params.do_sample)):
        raise ValidationFailed("`temperature` must be strictly positive")
    if temperature is not None and math.isinf(temperature):
        raise ValidationFailed("`temperature` must be a finite number")
    if params.repetition_penalty is not None and not (0 < params.repetition_penalty < math.inf):
        raise ValidationFailed("`repetition_penalty` must be strictly positive")
    if params.repetition_penalty is not None and params.repetition_penalty < MIN_REPETITION_PENALTY:
        # Dividing a logit by less than this overflows float32 to inf, and sampling fails on it.
        raise ValidationFailed(
            f"`repetition_penalty` must be at least {MIN_REPETITION_PENALTY}. "
            f"Given: {params.repetition_penalty}"
        )
    if params.top_p is not None and not 0.0 < params.top_p <= 1.0:
        raise ValidationFailed("`top_p` must be > 0.0 and <= 1.0")
    if params.top_k is not None and params.top_k <= 0:
        raise ValidationFailed("`top_k` must be strictly positive")
    if params.max_new_tokens is not None and params.max_new_tokens < 1:
        raise ValidationFailed("`max_new_tokens` must be strictly positive")
    if len(params.stop) > limits.max_stop_sequences:
        raise ValidationFailed(
            f"`stop` supports up to {limits.max_stop_sequences} stop sequences. Given: {len(params.stop)}"
        )
    if any(sequence == "" for sequence in params.stop):
        raise ValidationFailed("`stop` sequences must not be empty strings")
    if params.seed is not None and not 0 <= params.seed <= MAX_SEED:
        raise ValidationFailed(f"`seed` must be between 0 and {MAX_SEED}. Given: {params.seed}")
    if params.truncate is not None and not 0 < params.truncate <= limits.max_input_tokens:
        raise ValidationFailed(
            f"`truncate` must be strictly positive and less than {limits.max_input_tokens}. "
            f"Given: {params.truncate}"
        )


def plan_request(
    prompt: str,
    params: GenerationParams,
    limits: GenerationLimits,
    encode: Callable[[str], Sequence[int]],
) -> Plan:
    """Validate ``params`` and the tokenized ``prompt``; :class:`ValidationFailed` in TGI's words."""
    check_params(params, limits)
    if prompt == "":
        raise ValidationFailed("`inputs` cannot be empty")
    ids = tuple(encode(prompt))
    if not ids:
        raise ValidationFailed("`inputs` cannot be empty: it makes no tokens")
    if params.truncate is not None:
        ids = ids[-params.truncate :]
    if len(ids) > limits.max_input_tokens:
        raise ValidationFailed(
            f"`inputs` must have less than {limits.max_input_tokens} tokens. Given: {len(ids)}"
        )
    room = limits.max_total_tokens - len(ids)
    max_new = params.max_new_tokens
    if max_new is None:
        max_new = max(min(limits.default_max_new_tokens, room), 1)
    if len(ids) + max_new > limits.max_total_tokens:
        raise ValidationFailed(
            f"`inputs` tokens + `max_new_tokens` must be <= {limits.max_total_tokens}. "
            f"Given: {len(ids)} `inputs` tokens and {max_new} `max_new_tokens`"
        )
    sampling = _is_sampling(params)
    seed = None
    if sampling:
        # A drawn seed stays below 2**53 so JSON readers in any language keep it exact.
        seed = params.seed if params.seed is not None else secrets.randbelow(2**53)
    return Plan(
        prompt_ids=ids,
        max_new_tokens=max_new,
        sampling=sampling,
        temperature=params.temperature if sampling and params.temperature is not None else 1.0,
        top_k=params.top_k if sampling else None,
        top_p=params.top_p if sampling and params.top_p is not None and params.top_p < 1.0 else None,
        repetition_penalty=params.repetition_penalty if params.repetition_penalty is not None else 1.0,
        stop=tuple(params.stop),
        seed=seed,
    )
