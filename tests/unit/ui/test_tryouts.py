"""The playground's tryouts (bodies, shown replies, code) and the charts' geometry."""

from __future__ import annotations

import ast

import pytest

from inferhouse.endpoints.families import SUPPORTED_TASKS
from inferhouse.ui.api_calls import Refused
from inferhouse.ui.charts import HEIGHT, PAD_BOTTOM, latency_chart, nice_top, request_chart
from inferhouse.ui.tryouts import BY_TASK, TRYOUTS, code_for, path_of, tryouts_for

BASE = "http://127.0.0.1:8080"
FORMS = {
    "similarity": {"source": "a cat", "sentences": "a dog\n\na kitten"},
    "rank": {"query": "cats", "texts": "a dog\na kitten"},
    "classify": {"text": "great"},
    "fill-mask": {"text": "Paris is the [MASK] of France."},
    "question-answering": {"question": "Where?", "context": "In Paris."},
    "generate": {"prompt": 'It\'s "quoted"', "max_new_tokens": "8", "full": "on"},
    "chat": {"message": "hello", "max_new_tokens": "8"},
    "text-to-image": {"prompt": "a red square", "steps": "4", "seed": "7"},
}


def test_every_task_named_has_a_supported_task_and_every_tryout_a_form() -> None:
    assert set(BY_TASK) <= SUPPORTED_TASKS
    assert set(FORMS) == set(TRYOUTS)
    assert [tryout.kind for tryout in tryouts_for("text-generation")] == ["generate", "chat"]
    assert tryouts_for("custom") == []


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_the_code_of_every_tryout_names_the_real_url_and_parses_as_python(kind: str) -> None:
    tryout = TRYOUTS[kind]
    body = tryout.body("my-model", FORMS[kind])
    code = code_for(tryout, BASE, "my-model", body)
    assert code["curl"].startswith(f"curl {BASE}{path_of(tryout, 'my-model')}")
    assert "$INFERHOUSE_TOKEN" in code["curl"]
    for language in ("requests", "huggingface_hub", "openai"):
        if language in code:
            ast.parse(code[language])
            assert "INFERHOUSE_TOKEN" in code[language]
            assert f"{BASE}/endpoints/my-model" in code[language]
    assert ("openai" in code) == (kind == "chat")


def test_bodies_take_the_forms_lines_and_refuse_what_is_missing() -> None:
    body = TRYOUTS["similarity"].body("e", FORMS["similarity"])
    assert body == {"inputs": {"source_sentence": "a cat", "sentences": ["a dog", "a kitten"]}}
    generate = TRYOUTS["generate"].body("e", FORMS["generate"])
    assert generate["parameters"] == {"max_new_tokens": 8, "return_full_text": True}
    with pytest.raises(Refused, match="is empty"):
        TRYOUTS["classify"].body("e", {"text": "   "})
    with pytest.raises(Refused, match="between 1 and 256"):
        TRYOUTS["chat"].body("e", {"message": "hi", "max_new_tokens": "0"})
    with pytest.raises(Refused, match="one or more"):
        TRYOUTS["rank"].body("e", {"query": "q", "texts": "\n"})
    image = TRYOUTS["text-to-image"]
    assert image.body("e", FORMS["text-to-image"])["parameters"] == {"num_inference_steps": 4, "seed": 7}
    assert "parameters" not in image.body("e", {"prompt": "p", "steps": "", "seed": ""})
    with pytest.raises(Refused, match="Seed must be a whole number"):
        image.body("e", {"prompt": "p", "seed": "lucky"})


def test_replies_become_tables_and_texts() -> None:
    ranked = TRYOUTS["rank"].shown(
        [{"index": 1, "score": 0.9}, {"index": 0, "score": 0.1}], {"texts": ["a", "b"]}
    )
    assert ranked.rows == [["1", "b", "0.9000"], ["2", "a", "0.1000"]]
    labels = TRYOUTS["classify"].shown([[{"label": "POSITIVE", "score": 0.75}]], {})
    assert labels.rows == [["POSITIVE", "0.7500"]]
    answer = TRYOUTS["question-answering"].shown({"answer": "Paris", "score": 0.5, "start": 3, "end": 8}, {})
    assert answer.rows == [["Paris", "0.5000"]]
    assert TRYOUTS["generate"].shown([{"generated_text": "<b>"}], {}).text == "<b>"
    chat = {"choices": [{"message": {"role": "assistant", "content": "hi"}}]}
    assert TRYOUTS["chat"].shown(chat, {}).text == "hi"


def test_axis_tops_are_round() -> None:
    assert [nice_top(value) for value in (0, 0.03, 1, 1.2, 3, 7, 450)] == [1, 0.05, 1, 2, 5, 10, 500]


def _history(points: list[tuple[int, float | None]]) -> dict[str, object]:
    series = [
        {"start": i * 10, "requests": n, "errors": 0, "p50Ms": ms, "p99Ms": ms}
        for i, (n, ms) in enumerate(points)
    ]
    return {"bucketSeconds": 10, "windowSeconds": 60, "series": series}


def test_charts_scale_to_their_top_and_skip_quiet_buckets() -> None:
    rates = request_chart(_history([(0, None), (20, 5.0), (10, 50.0)]))
    assert rates.top == "2 req/s"
    requests_line = rates.lines[0].points.split()
    assert len(requests_line) == 3
    assert requests_line[1].endswith(",0.0")  # 2 req/s: the top of the plot
    assert requests_line[0].endswith(f",{HEIGHT - PAD_BOTTOM:.1f}")  # none: the bottom
    latency = latency_chart(_history([(0, None), (20, 5.0), (10, 50.0)]))
    assert latency.top == "50 ms"
    assert len(latency.lines[1].points.split()) == 2  # the quiet bucket has no latency
    lone = latency_chart(_history([(0, None), (1, 4.0)]))
    assert lone.lines[0].points == ""  # one value makes no line, but a dot
    assert len(lone.lines[0].dots) == 1
    assert len(latency.lines[1].dots) == 2
    assert rates.lines[0].dots == []  # the request rate has a value in every bucket: a line is enough
    assert latency_chart(_history([(0, None)])).lines[0].dots == []
