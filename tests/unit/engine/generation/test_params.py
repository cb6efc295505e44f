from __future__ import annotations

import pytest

from inferhouse.engine.generation.contract import GenerationLimits, GenerationParams
from inferhouse.engine.generation.params import plan_request
from inferhouse.errors import ValidationFailed

LIMITS = GenerationLimits(
    max_input_tokens=10, max_total_tokens=20, default_max_new_tokens=100, max_concurrent_requests=4
)


def encode(text: str) -> list[int]:
    return [ord(character) for character in text]  # one token per character keeps lengths obvious


def plan(prompt: str = "hello", **fields: object):  # type: ignore[no-untyped-def]
    return plan_request(prompt, GenerationParams(**fields), LIMITS, encode)  # type: ignore[arg-type]


def test_greedy_by_default_without_a_seed() -> None:
    result = plan()
    assert not result.sampling
    assert result.seed is None
    assert result.max_new_tokens == 15  # the default 100, capped by 20 total - 5 input tokens
    assert result.prompt_ids == tuple(encode("hello"))


@pytest.mark.parametrize(
    "fields",
    [{"do_sample": True}, {"temperature": 0.7}, {"top_k": 5}, {"top_p": 0.9}],
)
def test_sampling_turns_on_as_in_tgi(fields: dict[str, object]) -> None:
    result = plan(**fields)
    assert result.sampling
    assert isinstance(result.seed, int)


@pytest.mark.parametrize(
    "fields",
    [{}, {"temperature": 1.0}, {"top_p": 1.0}, {"temperature": 0.0}, {"temperature": 0.0, "top_k": 3}],
)
def test_no_warper_means_greedy(fields: dict[str, object]) -> None:
    assert not plan(**fields).sampling


def test_a_given_seed_is_kept_and_a_drawn_one_reported() -> None:
    assert plan(do_sample=True, seed=42).seed == 42
    drawn = {plan(do_sample=True).seed for _ in range(5)}
    assert len(drawn) > 1


def test_truncate_keeps_the_last_tokens() -> None:
    result = plan("abcdefghijklmnop", truncate=4)
    assert result.prompt_ids == tuple(encode("mnop"))


@pytest.mark.parametrize(
    ("prompt", "fields", "message"),
    [
        ("hi", {"do_sample": True, "temperature": 0.0}, "`temperature` must be strictly positive"),
        ("hi", {"temperature": -1.0}, "`temperature` must be strictly positive"),
        ("hi", {"temperature": float("nan")}, "`temperature` must be strictly positive"),
        ("hi", {"top_p": 0.0}, r"`top_p` must be > 0.0 and <= 1.0"),
        ("hi", {"top_p": 1.5}, r"`top_p` must be > 0.0 and <= 1.0"),
        ("hi", {"top_k": 0}, "`top_k` must be strictly positive"),
        ("hi", {"repetition_penalty": 0.0}, "`repetition_penalty` must be strictly positive"),
        ("hi", {"repetition_penalty": 1e-300}, "`repetition_penalty` must be at least 0.001"),
        ("hi", {"max_new_tokens": 0}, "`max_new_tokens` must be strictly positive"),
        ("hi", {"stop": ("a", "b", "c", "d", "e")}, "`stop` supports up to 4 stop sequences. Given: 5"),
        ("hi", {"stop": ("",)}, "must not be empty"),
        ("hi", {"seed": -1}, "`seed` must be between 0 and"),
        ("hi", {"truncate": 0}, "`truncate` must be strictly positive and less than 10. Given: 0"),
        ("hi", {"truncate": 11}, "`truncate` must be strictly positive and less than 10. Given: 11"),
        ("", {}, "`inputs` cannot be empty"),
        ("x" * 15, {}, "`inputs` must have less than 10 tokens. Given: 15"),
        (
            "hello",
            {"max_new_tokens": 16},
            "`inputs` tokens \\+ `max_new_tokens` must be <= 20. "
            "Given: 5 `inputs` tokens and 16 `max_new_tokens`",
        ),
    ],
)
def test_bad_parameters_get_tgi_messages(prompt: str, fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        plan(prompt, **fields)


def test_the_limits_are_inclusive() -> None:
    assert plan("x" * 10, max_new_tokens=10).max_new_tokens == 10
