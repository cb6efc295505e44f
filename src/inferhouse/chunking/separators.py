"""The named separator groups of the recursive strategy (``separator_group``).

Each group is an ordered list of regular expressions, tried coarse to fine: the recursive chunker
splits on the first and only goes on to the next inside pieces that are still too long.
"""

from __future__ import annotations

__all__ = ["SEPARATOR_GROUPS"]

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
