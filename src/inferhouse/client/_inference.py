"""Running models: an endpoint's embeddings, and the inference registry (Elasticsearch's ``_inference``
API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inferhouse.client._transport import Transport, segment

DEFAULT_ENDPOINT = "all-minilm-l6-v2"


class InferenceAPI(Transport):
    def embed(
        self,
        texts: str | list[str],
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        normalize: bool = True,
        truncate: bool = True,
        dimensions: int | None = None,
        wait_for_model: bool = True,
    ) -> list[list[float]]:
        """Embed ``texts`` with the endpoint's model; always returns one vector per text.

        An endpoint that is loading (or scaled to zero) is waited for unless ``wait_for_model`` is off,
        in which case the server's 503 ``loading`` error is raised.
        """
        body: dict[str, Any] = {"inputs": texts, "normalize": normalize, "truncate": truncate}
        if dimensions is not None:
            body["dimensions"] = dimensions
        headers = {"x-wait-for-model": "true" if wait_for_model else "false"}
        path = f"/endpoints/{segment(endpoint)}/embed"
        reply: list[list[float]] = self._request("POST", path, json=body, headers=headers)
        return reply

    def create_inference(
        self,
        task_type: str,
        inference_id: str,
        *,
        service: str,
        service_settings: Mapping[str, Any],
        chunking_settings: Mapping[str, Any] | None = None,
        task_settings: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"service": service, "service_settings": dict(service_settings)}
        if chunking_settings is not None:
            body["chunking_settings"] = dict(chunking_settings)
        if task_settings is not None:
            body["task_settings"] = dict(task_settings)
        path = f"/_inference/{segment(task_type)}/{segment(inference_id)}"
        reply: dict[str, Any] = self._request("PUT", path, json=body)
        return reply

    def list_inference(self) -> list[dict[str, Any]]:
        endpoints: list[dict[str, Any]] = self._request("GET", "/_inference")["endpoints"]
        return endpoints

    def delete_inference(self, inference_id: str, *, force: bool = False) -> None:
        params = {"force": "true"} if force else None
        self._request("DELETE", f"/_inference/{segment(inference_id)}", params=params)

    def infer(
        self, inference_id: str, inputs: str | list[str], *, query: str | None = None
    ) -> dict[str, Any]:
        """Run an inference configuration; the reply is Elasticsearch's (``text_embedding``, ``rerank``)."""
        body: dict[str, Any] = {"input": inputs}
        if query is not None:
            body["query"] = query
        reply: dict[str, Any] = self._post(f"/_inference/{segment(inference_id)}", body)
        return reply
