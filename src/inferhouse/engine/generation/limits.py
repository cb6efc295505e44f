"""An endpoint's generation limits, read from its env under TGI's variable names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inferhouse.engine.generation.contract import GenerationLimits
from inferhouse.errors import ValidationFailed

# TGI caps its defaults at 4096 total tokens whatever the model's positions allow; so do we.
_DEFAULT_TOTAL_CAP = 4096
# Models with relative positions (T5) state no maximum; this is what we assume for them.
_FALLBACK_POSITIONS = 2048
DEFAULT_MAX_NEW_TOKENS = 100
DEFAULT_MAX_CONCURRENT_REQUESTS = 128
# Sequences decoded together on one step; on CPU more rows stop paying off around here.
DEFAULT_MAX_BATCH_SIZE = 16
DEFAULT_MAX_STOP_SEQUENCES = 4


@dataclass(frozen=True)
class EngineSettings:
    limits: GenerationLimits
    max_batch_size: int


def _positive_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValidationFailed(f"{name} must be a whole number of tokens; got {raw!r}") from None
    if value < 1:
        raise ValidationFailed(f"{name} must be at least 1; got {value}")
    return value


def model_positions(config: object, tokenizer_max_length: int | None) -> int | None:
    """How many positions the model was built for, when its config says (None when unbounded)."""
    for field in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, field, None)
        if isinstance(value, int) and value > 0:
            return value
    # Tokenizers without a limit report a huge sentinel (1e30); only a plausible value counts.
    if tokenizer_max_length is not None and 0 < tokenizer_max_length <= 1_000_000:
        return tokenizer_max_length
    return None


def settings_from_env(env: Mapping[str, str], positions: int | None) -> EngineSettings:
    """Limits from MAX_INPUT_TOKENS (or MAX_INPUT_LENGTH), MAX_TOTAL_TOKENS, MAX_CONCURRENT_REQUESTS,
    MAX_BATCH_SIZE, MAX_STOP_SEQUENCES and DEFAULT_MAX_NEW_TOKENS; defaults follow the model's positions."""
    max_input = _positive_int(env, "MAX_INPUT_TOKENS")
    legacy_input = _positive_int(env, "MAX_INPUT_LENGTH")
    if max_input is not None and legacy_input is not None and max_input != legacy_input:
        raise ValidationFailed(
            f"MAX_INPUT_TOKENS ({max_input}) and its older name MAX_INPUT_LENGTH ({legacy_input}) disagree;"
            " set only one"
        )
    max_input = max_input if max_input is not None else legacy_input
    max_total = _positive_int(env, "MAX_TOTAL_TOKENS")

    if positions is not None and max_total is not None and max_total > positions:
        raise ValidationFailed(
            f"MAX_TOTAL_TOKENS ({max_total}) is more than the model's {positions} positions; "
            f"set it to {positions} or less"
        )
    if max_total is None:
        ceiling = min(positions or _FALLBACK_POSITIONS, _DEFAULT_TOTAL_CAP)
        max_total = max(ceiling, max_input + 1) if max_input is not None else ceiling
        if positions is not None and max_total > positions:
            raise ValidationFailed(
                f"MAX_INPUT_TOKENS ({max_input}) leaves no room to generate within the model's "
                f"{positions} positions; set it below {positions}"
            )
    if max_input is None:
        max_input = max(max_total - 1, 1)
    if max_total < 2:
        raise ValidationFailed(f"MAX_TOTAL_TOKENS must be at least 2; got {max_total}")
    if max_input >= max_total:
        raise ValidationFailed(
            f"MAX_INPUT_TOKENS ({max_input}) must be less than MAX_TOTAL_TOKENS ({max_total}), "
            "so that at least one token can be generated"
        )

    default_new = _positive_int(env, "DEFAULT_MAX_NEW_TOKENS") or DEFAULT_MAX_NEW_TOKENS
    concurrent = _positive_int(env, "MAX_CONCURRENT_REQUESTS") or DEFAULT_MAX_CONCURRENT_REQUESTS
    batch_size = _positive_int(env, "MAX_BATCH_SIZE") or DEFAULT_MAX_BATCH_SIZE
    raw_stops = env.get("MAX_STOP_SEQUENCES")
    stops = DEFAULT_MAX_STOP_SEQUENCES
    if raw_stops is not None and raw_stops.strip() != "":
        try:
            stops = int(raw_stops.strip())
        except ValueError:
            raise ValidationFailed(f"MAX_STOP_SEQUENCES must be a whole number; got {raw_stops!r}") from None
        if stops < 0:
            raise ValidationFailed(f"MAX_STOP_SEQUENCES must be 0 or more; got {stops}")
    limits = GenerationLimits(
        max_input_tokens=max_input,
        max_total_tokens=max_total,
        default_max_new_tokens=default_new,
        max_concurrent_requests=concurrent,
        max_stop_sequences=stops,
    )
    return EngineSettings(limits=limits, max_batch_size=batch_size)
