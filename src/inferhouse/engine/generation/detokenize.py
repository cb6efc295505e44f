"""Incremental detokenization and stop-sequence matching for one generated sequence.

Decoding token by token goes wrong in two ways: byte-level BPE pieces that only form a character
together decode to U+FFFD alone, and SentencePiece tokenizers drop a word's leading space when it is
the first token decoded. So each step decodes a short window that starts a few tokens back (seeded
with the prompt's last tokens) and hands out only the text past what was already handed out, holding
it back while it still ends in an incomplete character.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_REPLACEMENT = "\ufffd"
_PROMPT_CONTEXT = 4  # prompt tokens kept in front so the first generated token decodes in context


class IncrementalText:
    def __init__(self, tokenizer: Any, prompt_ids: Sequence[int], special_ids: frozenset[int]) -> None:
        self._tokenizer = tokenizer
        self._special = special_ids
        context = [token for token in prompt_ids[-_PROMPT_CONTEXT:] if token not in special_ids]
        self._ids: list[int] = list(context)
        self._prefix = 0  # window start
        self._read = len(context)  # first token whose text has not been handed out

    def _decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False))

    def add(self, token: int, *, final: bool = False) -> str:
        """The text ``token`` adds; empty while it ends mid-character, unless ``final`` flushes it."""
        if token in self._special:
            return self.flush() if final else ""
        self._ids.append(token)
        return self._take(final)

    def flush(self) -> str:
        return self._take(final=True)

    def _take(self, final: bool) -> str:
        if self._read >= len(self._ids):
            return ""
        before = self._decode(self._ids[self._prefix : self._read])
        after = self._decode(self._ids[self._prefix :])
        if not final and (len(after) <= len(before) or after.endswith(_REPLACEMENT)):
            return ""
        # Text past what ``before`` covered is new (tokenizers only ever append to a window's text).
        delta = after[len(before) :]
        self._prefix = self._read
        self._read = len(self._ids)
        return delta


class StopMatcher:
    """Finds the first stop sequence in the output; only the new text (plus an overlap) is searched."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stops)
        self._overlap = max((len(stop) for stop in self._stops), default=1) - 1
        self._text = ""

    def feed(self, delta: str) -> bool:
        if not self._stops or not delta:
            return False
        start = max(len(self._text) - self._overlap, 0)
        self._text += delta
        window = self._text[start:]
        found = any(stop in window for stop in self._stops)
        # Only the tail can still complete a stop; keep the buffer short for long generations.
        if len(self._text) > 4 * (self._overlap + 1) + 256:
            self._text = self._text[-(self._overlap + 1) :]
        return found
