"""The index control plane: create, list, describe and delete indexes, integrated ones included."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inferhouse.client._transport import Transport, segment

# The tag that picks how an index keeps its vectors (none, int8 or binary); the server owns the meaning.
QUANTIZATION_TAG = "inferhouse-quantization"


@dataclass(frozen=True)
class IndexDescription:
    """What the control plane says about one index."""

    name: str
    dimension: int
    metric: str
    host: str
    deletion_protection: str = "disabled"
    tags: dict[str, str] = field(default_factory=dict)
    ready: bool = True
    quantization: str = "none"  # from the tags: none, int8 or binary (fixed when the index is created)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> IndexDescription:
        return cls(
            name=body["name"],
            dimension=body["dimension"],
            metric=body["metric"],
            host=body.get("host", ""),
            deletion_protection=body.get("deletion_protection") or "disabled",
            tags=dict(body.get("tags") or {}),
            ready=bool((body.get("status") or {}).get("ready", True)),
            quantization=(body.get("tags") or {}).get(QUANTIZATION_TAG) or "none",
        )


class IndexesAPI(Transport):
    def create_index(
        self,
        name: str,
        dimension: int,
        metric: str = "cosine",
        *,
        deletion_protection: str = "disabled",
        tags: Mapping[str, str] | None = None,
        quantization: str | None = None,
    ) -> IndexDescription:
        """Create an index. ``quantization`` (none, int8 or binary) keeps only compact codes of the
        vectors in the server's memory; it sets the ``inferhouse-quantization`` tag."""
        all_tags = dict(tags or {})
        if quantization is not None:
            all_tags[QUANTIZATION_TAG] = quantization
        body = {
            "name": name,
            "dimension": dimension,
            "metric": metric,
            "deletion_protection": deletion_protection,
            "tags": all_tags,
        }
        return IndexDescription.from_json(self._post("/indexes", body))

    def list_indexes(self) -> list[IndexDescription]:
        reply = self._request("GET", "/indexes")
        return [IndexDescription.from_json(item) for item in reply.get("indexes", [])]

    def describe_index(self, name: str) -> IndexDescription:
        return IndexDescription.from_json(self._request("GET", f"/indexes/{segment(name)}"))

    def delete_index(self, name: str) -> None:
        self._request("DELETE", f"/indexes/{segment(name)}")

    def create_index_for_model(
        self,
        name: str,
        model: str,
        *,
        text_field: str = "text",
        chunking_settings: Mapping[str, Any] | None = None,
        metric: str | None = None,
        deletion_protection: str = "disabled",
        tags: Mapping[str, str] | None = None,
    ) -> IndexDescription:
        """An index that embeds the ``text_field`` of each record with ``model`` (an inference id or an
        endpoint name), chunked by ``chunking_settings`` (default: the model's own, else sentences)."""
        embed: dict[str, Any] = {"model": model, "field_map": {"text": text_field}}
        if metric is not None:
            embed["metric"] = metric
        body: dict[str, Any] = {"name": name, "embed": embed, "deletion_protection": deletion_protection}
        if tags:
            body["tags"] = dict(tags)
        if chunking_settings is not None:
            body["chunking_settings"] = dict(chunking_settings)
        return IndexDescription.from_json(self._post("/indexes/create-for-model", body))
