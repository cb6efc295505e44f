from __future__ import annotations

import pytest

from inferhouse.engine.generation.limits import settings_from_env
from inferhouse.errors import ValidationFailed


def test_defaults_follow_the_model_positions_capped_at_4096() -> None:
    small = settings_from_env({}, 1024)
    assert small.limits.max_total_tokens == 1024
    assert small.limits.max_input_tokens == 1023
    assert small.limits.default_max_new_tokens == 100
    assert small.limits.max_concurrent_requests == 128
    assert small.limits.max_stop_sequences == 4
    assert small.max_batch_size == 16
    big = settings_from_env({}, 131072)
    assert (big.limits.max_input_tokens, big.limits.max_total_tokens) == (4095, 4096)
    unknown = settings_from_env({}, None)
    assert unknown.limits.max_total_tokens == 2048


def test_env_names_of_tgi_are_read() -> None:
    env = {
        "MAX_INPUT_TOKENS": "100",
        "MAX_TOTAL_TOKENS": "300",
        "MAX_CONCURRENT_REQUESTS": "7",
        "MAX_BATCH_SIZE": "3",
        "MAX_STOP_SEQUENCES": "2",
        "DEFAULT_MAX_NEW_TOKENS": "20",
    }
    settings = settings_from_env(env, 512)
    limits = settings.limits
    assert (limits.max_input_tokens, limits.max_total_tokens) == (100, 300)
    assert limits.max_concurrent_requests == 7
    assert limits.max_stop_sequences == 2
    assert limits.default_max_new_tokens == 20
    assert settings.max_batch_size == 3
    assert settings_from_env({"MAX_INPUT_LENGTH": "50"}, 512).limits.max_input_tokens == 50


def test_a_large_input_limit_raises_the_total_default() -> None:
    limits = settings_from_env({"MAX_INPUT_TOKENS": "2000"}, None).limits
    assert limits.max_total_tokens == 2048
    assert settings_from_env({"MAX_INPUT_TOKENS": "3000"}, None).limits.max_total_tokens == 3001


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAX_INPUT_TOKENS": "lots"}, "MAX_INPUT_TOKENS must be a whole number"),
        ({"MAX_TOTAL_TOKENS": "0"}, "MAX_TOTAL_TOKENS must be at least 1"),
        ({"MAX_TOTAL_TOKENS": "600"}, "more than the model's 512 positions"),
        ({"MAX_INPUT_TOKENS": "512"}, "leaves no room to generate"),
        ({"MAX_INPUT_TOKENS": "300", "MAX_TOTAL_TOKENS": "300"}, "must be less than MAX_TOTAL_TOKENS"),
        ({"MAX_INPUT_TOKENS": "10", "MAX_INPUT_LENGTH": "20"}, "disagree"),
        ({"MAX_BATCH_SIZE": "-1"}, "MAX_BATCH_SIZE must be at least 1"),
        ({"MAX_CONCURRENT_REQUESTS": "1.5"}, "MAX_CONCURRENT_REQUESTS must be a whole number"),
        ({"MAX_STOP_SEQUENCES": "-2"}, "MAX_STOP_SEQUENCES must be 0 or more"),
    ],
)
def test_bad_env_values_say_what_to_fix(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        settings_from_env(env, 512)
