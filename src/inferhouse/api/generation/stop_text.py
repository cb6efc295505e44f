"""Generated text with its stop sequence cut off, released as it streams (OpenAI never shows the stop)."""

from __future__ import annotations

from collections.abc import Sequence


class StopTrimmer:
    """Feed it the text as it is generated; it gives back what is safe to show.

    A tail that could still grow into a stop sequence is held back until the next piece settles it;
    once a stop sequence appears, nothing from its first character on is ever released.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [stop for stop in stops if stop]
        self._text = ""
        self._sent = 0
        self._cut: int | None = None

    @property
    def stopped(self) -> bool:
        """Whether a stop sequence turned up in the text."""
        return self._cut is not None

    def push(self, piece: str) -> str:
        if self._cut is not None:
            return ""
        self._text += piece
        self._cut = self._find_stop()
        end = self._cut if self._cut is not None else len(self._text) - self._held()
        return self._release(end)

    def finish(self) -> str:
        """Everything not yet released, up to a stop sequence if one appeared."""
        return self._release(self._cut if self._cut is not None else len(self._text))

    def _release(self, end: int) -> str:
        if end <= self._sent:
            return ""
        released = self._text[self._sent : end]
        self._sent = end
        return released

    def _find_stop(self) -> int | None:
        # A stop cannot straddle what was released: any tail that began one was held back.
        found = [index for stop in self._stops if (index := self._text.find(stop, self._sent)) >= 0]
        return min(found) if found else None

    def _held(self) -> int:
        """Length of the longest tail that is the start of some stop sequence."""
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._text) - self._sent), longest, -1):
                if self._text.endswith(stop[:size]):
                    longest = size
                    break
        return longest
