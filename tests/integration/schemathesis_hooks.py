"""Schemathesis hooks for test_schemathesis.py: how to put an NDJSON body on the wire."""

from __future__ import annotations

from typing import Any

import orjson
import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: schemathesis.SerializationContext, value: Any) -> dict[str, Any]:
    # The document declares an NDJSON body as an array of records: one JSON object per line.
    if isinstance(value, list):
        return {"data": b"\n".join(orjson.dumps(record) for record in value)}
    return {"data": orjson.dumps(value)}
