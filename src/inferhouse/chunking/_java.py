"""How Elasticsearch's JVM would print values and order keys, so its messages can be reproduced verbatim.

Elasticsearch builds its validation sentences with ``String.format("%s", value)`` on the parsed JSON
(``Integer``, ``Double``, ``Boolean``, ``List`` ...) and lists unknown keys in the iteration order of a
``java.util.HashMap``. Python prints ``True`` and ``[1, 2]`` and keeps insertion order, so the few
differences are spelled out here, along with the line handling of Java's regular expressions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

__all__ = ["INT_MAX", "INT_MIN", "hashmap_order", "java_double", "java_regex", "java_str"]

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1


def java_double(value: float) -> str:
    """``Double.toString``: plain decimals in [1e-3, 1e7), else ``1.0E7`` style."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    size = abs(value)
    if size == 0 or 1e-3 <= size < 1e7:
        text = repr(float(value))  # Python's shortest repr is plain decimal in this range too
        return text if "." in text else f"{text}.0"
    digits_tuple = Decimal(repr(size)).normalize().as_tuple()
    digits = "".join(str(digit) for digit in digits_tuple.digits)
    exponent = int(digits_tuple.exponent) + len(digits) - 1
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def java_str(value: object) -> str:
    """``String.valueOf`` of a value parsed from JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{java_str(key)}={java_str(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(java_str(item) for item in value) + "]"
    return str(value)


def _string_hash(text: str) -> int:
    """``String.hashCode`` (over UTF-16 code units), as an unsigned 32-bit number."""
    data = text.encode("utf-16-le")
    code = 0
    for index in range(0, len(data), 2):
        code = (31 * code + (data[index] | data[index + 1] << 8)) & 0xFFFFFFFF
    return code


def _power_of_two_at_least(number: int) -> int:
    capacity = 1
    while capacity < number:
        capacity <<= 1
    return capacity


def hashmap_order(keys: Iterable[str]) -> list[str]:
    """The order a ``HashMap`` copy of a parsed JSON object (keys given in document order) iterates.

    The request parser fills a default ``HashMap`` (16 buckets, doubling past 3/4 full) and the
    settings parser copies it into one sized up front; iteration goes bucket by bucket, and a
    bucket keeps the order its keys arrived in.
    """
    ordered = list(keys)
    spread = []
    for key in ordered:
        code = _string_hash(key)
        spread.append(code ^ (code >> 16))
    parsed_capacity = 16
    while len(ordered) > parsed_capacity * 3 // 4:
        parsed_capacity *= 2
    parsed = sorted(range(len(ordered)), key=lambda i: (spread[i] & (parsed_capacity - 1), i))
    # JDK 19 and later size a copy as ceil(n / 0.75) rounded up to a power of two.
    copy_capacity = _power_of_two_at_least(math.ceil(len(ordered) / 0.75))
    copied = sorted(range(len(parsed)), key=lambda rank: (spread[parsed[rank]] & (copy_capacity - 1), rank))
    return [ordered[parsed[rank]] for rank in copied]


# java.util.regex treats \n, \r, \r\n, U+0085, U+2028 and U+2029 as line ends; Python's re only \n.
_JAVA_DOT = r"[^\n\r\x85\u2028\u2029]"
# MULTILINE ^: at the start, or after a line end but not inside \r\n, and never at the very end.
_JAVA_CARET = r"(?:\A|(?<=[\n\x85\u2028\u2029])|(?<=\r)(?!\n))(?=[\s\S])"
# MULTILINE $: at the end, or before a line end but not inside \r\n.
_JAVA_DOLLAR = r"(?:\Z|(?=[\r\x85\u2028\u2029])|(?<!\r)(?=\n))"


def java_regex(pattern: str) -> str:
    """A Java MULTILINE pattern rewritten so Python's ``re`` finds the same line boundaries.

    ``.``, ``^`` and ``$`` outside character classes get Java's meaning. Java's class unions and
    intersections (``[a[b]]``, ``[a&&b]``) have no ``re`` equivalent and raise ``re.error``; doubled
    ``-``, ``~`` and ``|`` in a class, literal in both, are escaped so ``re`` does not warn about them.
    Everything else is left for ``re`` to accept (most Java syntax is the same) or reject.
    """
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if not in_class and char == "[":
            # A "]" straight after "[" or "[^" is a member in both dialects, not the end.
            opening = re.match(r"\[\^?\]?", pattern[index:])
            assert opening is not None
            out.append(opening.group())
            index += len(opening.group())
            in_class = True
            continue
        if not in_class:
            out.append({".": _JAVA_DOT, "^": _JAVA_CARET, "$": _JAVA_DOLLAR}.get(char, char))
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "[" or (char == "&" and out[-1] == "&"):
            raise re.error("Java character class unions and intersections are not supported", pattern, index)
        elif char in "-~|" and out[-1] == char:
            out.append("\\" + char)
        else:
            out.append(char)
        index += 1
    return "".join(out)
