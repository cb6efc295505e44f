from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from inferhouse.engine.generation.detokenize import IncrementalText, StopMatcher


@pytest.mark.parametrize(
    "text", ["Café naïve 🙂🚀 done", "Hello world! How are you?", "déjà vu 🙂", " leading space and 42"]
)
def test_pieces_join_to_the_decoded_text(gpt2_dir: Path, text: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gpt2_dir, local_files_only=True)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert any("\ufffd" in tokenizer.decode([token]) for token in ids) or "🙂" not in text
    prompt = tokenizer("The prompt:", add_special_tokens=False)["input_ids"]
    incremental = IncrementalText(tokenizer, prompt, frozenset(tokenizer.all_special_ids))
    pieces = [incremental.add(token) for token in ids]
    assert all("\ufffd" not in piece for piece in pieces)
    assert "".join(pieces) + incremental.flush() == text


def test_special_tokens_add_no_text_and_a_final_token_flushes(gpt2_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gpt2_dir, local_files_only=True)
    ids = tokenizer("🙂", add_special_tokens=False)["input_ids"]
    assert len(ids) > 1
    incremental = IncrementalText(tokenizer, [], frozenset(tokenizer.all_special_ids))
    assert incremental.add(ids[0]) == ""  # an incomplete character is held back
    assert incremental.add(tokenizer.eos_token_id, final=True) == tokenizer.decode(ids[:1])


def test_stop_sequences_are_found_across_pieces() -> None:
    matcher = StopMatcher(["world!", "xyz"])
    assert not matcher.feed("hello wo")
    assert not matcher.feed("rld")
    assert matcher.feed("! and more")
    assert not StopMatcher([]).feed("anything")
    long = StopMatcher(["end"])
    assert not long.feed("a" * 5000)
    assert long.feed("en" + "d")
