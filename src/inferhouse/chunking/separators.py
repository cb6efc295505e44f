"""The named separator groups of the recursive strategy (``separator_group``).

Each group is an ordered list of regular expressions, tried coarse to fine: the recursive chunker
splits on the first and only goes on to the next inside pieces that are still too long. Separators
are Java regular expressions, as Elasticsearch takes them; :func:`compile_separator` makes Python's
``re`` match them the same way.
"""

from __future__ import annotations

import re
from functools import lru_cache

from inferhouse.chunking._java import java_regex

__all__ = ["SEPARATOR_GROUPS", "compile_separator"]

SEPARATOR_GROUPS: dict[str, tuple[str, ...]] = {
    # A blank line that is exactly one empty line (paragraphs), then a single line break.
    "plaintext": (r"(?<!\n)\n\n(?!\n)", r"(?<!\n)\n(?!\n)"),
    # ATX headings from level 1 down to 6, then setext headings (a text line underlined with - or =).
    "markdown": (
        "\n# ",
        "\n## ",
        "\n### ",
        "\n#### ",
        "\n##### ",
        "\n###### ",
        r"\n^(?!\s*$).*\n-{1,}\n",
        r"\n^(?!\s*$).*\n={1,}\n",
    ),
}


@lru_cache(maxsize=256)
def compile_separator(separator: str) -> re.Pattern[str]:
    """A separator (a Java regular expression, as Elasticsearch takes it) compiled for Python.

    Elasticsearch matches in MULTILINE mode with Java's line ends and its ASCII-only ``\\s``, ``\\w``
    and ``\\d``; :func:`~inferhouse.chunking._java.java_regex` and ``re.ASCII`` give the same.
    """
    return re.compile(java_regex(separator), re.ASCII)
