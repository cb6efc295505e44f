"""Real English text that ships with Python: the pydoc topic help (no download needed)."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def pydoc_sentences(limit: int, min_chars: int = 30, max_chars: int = 240) -> list[str]:
    """Prose sentences from ``pydoc_data.topics`` in a fixed order, skipping code and tables."""
    from pydoc_data.topics import topics

    sentences: list[str] = []
    for name in sorted(topics):
        for paragraph in topics[name].split("\n\n"):
            if paragraph.startswith((" ", "\t")) or "|" in paragraph or ">>>" in paragraph:
                continue
            text = " ".join(paragraph.split())
            for sentence in _SENTENCE_END.split(text):
                if min_chars <= len(sentence) <= max_chars and sentence not in sentences:
                    sentences.append(sentence)
                    if len(sentences) == limit:
                        return sentences
    return sentences
