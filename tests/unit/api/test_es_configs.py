"""An inference configuration as Elasticsearch shows it, and as the store keeps it."""

from __future__ import annotations

from inferhouse.api.elasticsearch.configs import endpoint_reply
from inferhouse.chunking import DEFAULT_CHUNKING
from inferhouse.inference.config import InferenceConfig, TaskType


def test_the_reply_names_only_what_is_set() -> None:
    bare = InferenceConfig("e5", TaskType.RERANK, "hugging_face", {"url": "http://x"})
    assert endpoint_reply(bare) == {
        "inference_id": "e5",
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": "http://x"},
    }
    full = InferenceConfig(
        "e5", TaskType.TEXT_EMBEDDING, "inferhouse", {"endpoint": "a"}, {"top_n": 2}, DEFAULT_CHUNKING
    )
    reply = endpoint_reply(full)
    assert reply["task_settings"] == {"top_n": 2}
    assert reply["chunking_settings"] == DEFAULT_CHUNKING.as_dict()
    # What the store keeps reads back as the same configuration.
    assert InferenceConfig.from_json(full.to_json()) == full
