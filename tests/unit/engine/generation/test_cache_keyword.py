from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inferhouse.engine.generation.cache_keyword import cache_keyword, returned_cache


class CurrentModel:
    def forward(self, input_ids: Any = None, cache: Any = None, **kwargs: Any) -> None: ...


class LegacyModel:
    def forward(self, input_ids: Any = None, past_key_values: Any = None, **kwargs: Any) -> None: ...


@dataclass
class CurrentOutput:
    logits: Any = None
    cache: Any = None


@dataclass
class LegacyOutput:
    logits: Any = None
    past_key_values: Any = None


def test_a_model_that_takes_cache_gets_it_under_that_name() -> None:
    assert cache_keyword(CurrentModel()) == "cache"


def test_a_model_of_an_older_release_gets_past_key_values() -> None:
    assert cache_keyword(LegacyModel()) == "past_key_values"


def test_the_returned_cache_is_read_from_the_field_the_output_declares() -> None:
    assert returned_cache(CurrentOutput(cache="new")) == "new"
    assert returned_cache(LegacyOutput(past_key_values="old")) == "old"
