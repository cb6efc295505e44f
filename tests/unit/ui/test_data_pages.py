"""What the index, inference and server pages make of their forms and numbers, without a server."""

from __future__ import annotations

import pytest

from inferhouse.ui.api_calls import Refused
from inferhouse.ui.index_query import QueryForm
from inferhouse.ui.indexes import size_text
from inferhouse.ui.inference_configs import FORM_DEFAULTS, create_body, preview
from inferhouse.ui.server import duration_text


def test_sizes_and_durations_read_as_a_person_would() -> None:
    assert size_text(512) == "512 B"
    assert size_text(689_300) == "689.3 KB"
    assert size_text(2_500_000_000) == "2.5 GB"
    assert duration_text(59) == "0 min 59 s"
    assert duration_text(3 * 3600 + 120) == "3 h 2 min"
    assert duration_text(2 * 86400 + 3600) == "2 d 1 h 0 min"


def test_the_query_filter_must_be_a_json_object() -> None:
    form = QueryForm.from_fields({"filter": '{"genre": {"$eq": "drama"}}', "top_k": "3"}, integrated=False)
    assert form.parsed_filter() == {"genre": {"$eq": "drama"}}
    assert form.parsed_top_k() == 3
    assert QueryForm.from_fields({"filter": "  "}, integrated=False).parsed_filter() is None
    with pytest.raises(Refused, match="not valid JSON: Expecting value at line 1, column 10"):
        QueryForm.from_fields({"filter": '{"genre":'}, integrated=False).parsed_filter()
    with pytest.raises(Refused, match="must be a JSON object"):
        QueryForm.from_fields({"filter": '["genre"]'}, integrated=False).parsed_filter()
    for wrong in ("0", "101", "ten", ""):
        with pytest.raises(Refused, match="top_k must be a whole number from 1 to 100"):
            QueryForm.from_fields({"top_k": wrong}, integrated=False).parsed_top_k()


def test_a_hugging_face_config_carries_its_secret_and_chunking_only_for_embeddings() -> None:
    fields = FORM_DEFAULTS | {
        "inference_id": "remote",
        "url": "http://127.0.0.1:9/embed",
        "api_key": "hf_secret",
        "requests_per_minute": "60",
        "strategy": "word",
        "max_chunk_size": "20",
        "overlap": "5",
    }
    assert create_body(fields) == {
        "service": "hugging_face",
        "service_settings": {
            "url": "http://127.0.0.1:9/embed",
            "api_key": "hf_secret",
            "rate_limit": {"requests_per_minute": 60},
        },
        "chunking_settings": {"strategy": "word", "max_chunk_size": 20, "overlap": 5},
    }
    ranking = create_body(fields | {"task_type": "rerank", "service": "inferhouse", "endpoint": "ranker"})
    assert ranking == {"service": "inferhouse", "service_settings": {"endpoint": "ranker"}}
    with pytest.raises(Refused, match="Requests per minute must be a whole number"):
        create_body(fields | {"requests_per_minute": "fast"})


def test_the_chunk_preview_uses_the_servers_chunking_and_reports_bad_settings() -> None:
    text = " ".join(f"w{n}" for n in range(25))
    chunks, problem = preview(
        {"strategy": "word", "max_chunk_size": "10", "overlap": "5", "preview_text": text}
    )
    assert problem is None
    assert [chunk["text"].split()[0] for chunk in chunks] == ["w0", "w5", "w10", "w15"]
    assert all(text[chunk["start"] : chunk["end"]] == chunk["text"] for chunk in chunks)
    _, problem = preview({"strategy": "word", "max_chunk_size": "10", "overlap": "6", "preview_text": text})
    assert problem is not None
    assert "overlap" in problem
    _, problem = preview({"strategy": "word", "max_chunk_size": "many", "preview_text": text})
    assert problem == "Max chunk size must be a whole number, got 'many'"
