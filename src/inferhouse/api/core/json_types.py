"""Field types that read JSON as JSON Schema does, for the pydantic bodies the document declares.

Pydantic's lax mode takes ``0``, ``1`` and ``"true"`` for a boolean and ``"3"`` or ``true`` for an
integer; TEI and the Hub refuse them, and the document says ``boolean`` and ``integer``. JSON has one
number type, so ``3.0`` is the integer 3 (JSON Schema agrees), while ``3.5`` is refused.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, StrictBool

Flag = StrictBool


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be an integer")
    return value


Integer = Annotated[int, BeforeValidator(_json_number)]
