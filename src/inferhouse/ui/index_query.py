"""The index page's query box: by text or by a stored id, with a metadata filter and top_k.

Text is embedded by the index's own model (an integrated index: the records search route) or, for a
dense index, by the endpoint or inference id the form names (Pinecone's ``/embed``), then queried.
The filter is JSON, checked here for its shape before the API checks its operators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from inferhouse.ui.api_calls import Api, Refused

QUERY_DEFAULTS = {"mode": "text", "text": "", "id": "", "model": "", "filter": "", "top_k": "10"}
MAX_TOP_K = 100


@dataclass
class QueryForm:
    mode: str  # "text" or "id"
    text: str
    id: str
    model: str  # a dense index's text is embedded by this endpoint or inference id
    filter: str
    top_k: str
    integrated: bool

    @classmethod
    def from_fields(cls, fields: dict[str, str], integrated: bool) -> QueryForm:
        values = QUERY_DEFAULTS | {key: fields[key] for key in QUERY_DEFAULTS if key in fields}
        mode = values["mode"] if values["mode"] in ("text", "id") else "text"
        return cls(
            mode,
            values["text"],
            values["id"],
            values["model"].strip(),
            values["filter"],
            values["top_k"].strip(),
            integrated,
        )

    def parsed_filter(self) -> dict[str, Any] | None:
        if not self.filter.strip():
            return None
        try:
            spec = json.loads(self.filter)
        except json.JSONDecodeError as error:
            raise Refused(
                422, f"The filter is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
            ) from None
        if not isinstance(spec, dict):
            raise Refused(422, 'The filter must be a JSON object, such as {"genre": {"$eq": "drama"}}')
        return spec

    def parsed_top_k(self) -> int:
        if not self.top_k.isdigit() or not 1 <= int(self.top_k) <= MAX_TOP_K:
            raise Refused(422, f"top_k must be a whole number from 1 to {MAX_TOP_K}, got {self.top_k!r}")
        return int(self.top_k)


@dataclass
class Result:
    id: str
    score: float
    metadata: list[tuple[str, Any]]


async def run_query(calls: Api, index: str, namespace: str, form: QueryForm) -> list[Result]:
    """The matches, best first; :class:`Refused` for a bad form or what the API refused."""
    spec, top_k = form.parsed_filter(), form.parsed_top_k()
    base = f"/indexes/{quote(index, safe='')}"
    if form.mode == "text" and not form.text.strip():
        raise Refused(422, "Type the text to search for")
    if form.mode == "id" and not form.id:
        raise Refused(422, "Type the id of a stored record")
    if form.mode == "text" and form.integrated:
        query: dict[str, Any] = {"inputs": {"text": form.text}, "top_k": top_k}
        if spec is not None:
            query["filter"] = spec
        path = f"{base}/records/namespaces/{quote(namespace or '__default__', safe='')}/search"
        hits = (await calls.post(path, {"query": query}))["result"]["hits"]
        return [Result(hit["_id"], hit["_score"], sorted(hit.get("fields", {}).items())) for hit in hits]
    body: dict[str, Any] = {"namespace": namespace, "topK": top_k, "includeMetadata": True}
    if spec is not None:
        body["filter"] = spec
    if form.mode == "id":
        body["id"] = form.id
    else:
        if not form.model:
            raise Refused(422, "Choose the endpoint or inference id that embeds the query text")
        embedded = await calls.post("/embed", {"model": form.model, "inputs": [{"text": form.text}]})
        body["vector"] = embedded["data"][0]["values"]
    matches = (await calls.post(f"{base}/query", body))["matches"]
    return [Result(m["id"], m["score"], sorted((m.get("metadata") or {}).items())) for m in matches]
