"""Schemathesis hooks for test_schemathesis.py: how to put an NDJSON body on the wire."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


def _line(value: Any) -> bytes:
    # The standard library writes integers of any size, as generated data can hold (orjson stops at 64 bits).
    return json.dumps(value, separators=(",", ":")).encode()


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: schemathesis.SerializationContext, value: Any) -> dict[str, Any]:
    # The document declares an NDJSON body as an array of records: one JSON object per line.
    if isinstance(value, list):
        return {"data": b"\n".join(_line(record) for record in value)}
    return {"data": _line(value)}
