"""Text generation over HTTP: TGI's routes, the compat route, chat completions and serverless models."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.generation import (
    HELD_TOKENS,
    LLM,
    ONE_SLOT,
    PLAIN_LLM,
    SERVERLESS_LLM,
    T5,
    build_generation_models,
    sse_events,
    start_generation_server,
)
from tests.support.server import RunningServer, delete_endpoint, deploy_endpoint


@pytest.fixture(scope="module")
def gen_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    models = build_generation_models(tmp_path_factory.mktemp("gen-models"))
    running = start_generation_server(tmp_path_factory.mktemp("gen-data"), models)
    yield running
    running.stop()


def _post(server: RunningServer, path: str, body: object, **kwargs: Any) -> requests.Response:
    return requests.post(f"{server.url}{path}", json=body, headers=server.headers, timeout=120, **kwargs)


def _generate(server: RunningServer, parameters: dict[str, Any], name: str = LLM) -> dict[str, Any]:
    res = _post(
        server, f"/endpoints/{name}/generate", {"inputs": "Once upon a time", "parameters": parameters}
    )
    assert res.status_code == 200, res.text
    reply: dict[str, Any] = res.json()
    return reply


def test_generate_with_details(gen_server: RunningServer) -> None:
    reply = _generate(gen_server, {"max_new_tokens": 6, "details": True})
    details = reply["details"]
    assert details["finish_reason"] == "length"
    assert details["generated_tokens"] == 6
    assert details["prefill"] == []
    assert len(details["tokens"]) == 6
    assert set(details["tokens"][0]) == {"id", "text", "logprob", "special"}
    assert "".join(token["text"] for token in details["tokens"]) == reply["generated_text"]
    assert "details" not in _generate(gen_server, {"max_new_tokens": 2})


def test_seeded_sampling_is_reproducible(gen_server: RunningServer) -> None:
    parameters = {"max_new_tokens": 12, "do_sample": True, "seed": 42, "details": True}
    first = _generate(gen_server, parameters)
    second = _generate(gen_server, parameters)
    assert first["generated_text"] == second["generated_text"]
    assert first["details"]["seed"] == 42
    others = {_generate(gen_server, {**parameters, "seed": seed})["generated_text"] for seed in range(4)}
    assert len(others) > 1  # the seed does steer sampling


def test_return_full_text_prepends_the_prompt(gen_server: RunningServer) -> None:
    alone = _generate(gen_server, {"max_new_tokens": 4})["generated_text"]
    full = _generate(gen_server, {"max_new_tokens": 4, "return_full_text": True})["generated_text"]
    assert full == "Once upon a time" + alone


def test_stop_sequence_stops(gen_server: RunningServer) -> None:
    text = _generate(gen_server, {"max_new_tokens": 16})["generated_text"]
    assert len(text) >= 6, text
    stop = text[3:5]
    reply = _generate(gen_server, {"max_new_tokens": 16, "stop": [stop], "details": True})
    assert reply["details"]["finish_reason"] == "stop_sequence"
    assert reply["details"]["generated_tokens"] < 16
    assert stop in reply["generated_text"]


def test_generate_stream_events(gen_server: RunningServer) -> None:
    body = {"inputs": "Once upon a time", "parameters": {"max_new_tokens": 5, "details": True}}
    with _post(gen_server, f"/endpoints/{LLM}/generate_stream", body, stream=True) as res:
        assert res.status_code == 200
        assert res.headers["content-type"].startswith("text/event-stream")
        events = sse_events(res)
    assert [event["index"] for event in events] == [1, 2, 3, 4, 5]
    assert all(event["generated_text"] is None and event["details"] is None for event in events[:-1])
    last = events[-1]
    assert last["generated_text"] == "".join(event["token"]["text"] for event in events)
    assert last["details"]["finish_reason"] == "length"
    assert last["details"]["generated_tokens"] == 5
    assert last["details"]["input_length"] > 0
    assert last["generated_text"] == _generate(gen_server, {"max_new_tokens": 5})["generated_text"]


def test_compat_route_answers_a_list_with_the_prompt_and_streams(gen_server: RunningServer) -> None:
    # A plain {"inputs"} body is what the embedding fast lane takes; it must reach the generation route.
    plain = _post(gen_server, f"/endpoints/{LLM}", {"inputs": "Once upon a time"})
    assert plain.status_code == 200, plain.text
    [only] = plain.json()
    assert only["generated_text"].startswith("Once upon a time")  # TGI's default for text-generation
    body = {"inputs": "Once upon a time", "parameters": {"max_new_tokens": 3}, "stream": True}
    with _post(gen_server, f"/endpoints/{LLM}", body, stream=True) as res:
        events = sse_events(res)
    assert len(events) == 3
    assert events[-1]["generated_text"].startswith("Once upon a time")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"best_of": 2}, "best_of"),
        ({"grammar": {"type": "regex", "value": "a+"}}, "grammar"),
        ({"typical_p": 0.5}, "typical_p"),
        ({"watermark": True}, "watermark"),
        ({"top_n_tokens": 3}, "top_n_tokens"),
        ({"decoder_input_details": True}, "decoder_input_details"),
        ({"temperature": -1.0}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": 5000}, "max_new_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"no_such_option": 1}, "no_such_option"),
        # Values of the wrong JSON type are refused, not coerced (TGI answers these with a 422 too).
        ({"details": "yes"}, "details"),
        ({"max_new_tokens": "5"}, "max_new_tokens"),
        ({"seed": "1"}, "seed"),
        # Small enough to overflow the logits: refused up front, not a failed generation (424).
        ({"repetition_penalty": 1e-300, "do_sample": True}, "repetition_penalty"),
    ],
)
@pytest.mark.parametrize("route", ["/generate", "/generate_stream", ""])
def test_bad_parameters_are_tgi_validation_errors(
    gen_server: RunningServer, route: str, parameters: dict[str, Any], message: str
) -> None:
    body = {"inputs": "Hello", "parameters": parameters}
    res = _post(gen_server, f"/endpoints/{LLM}{route}", body)
    assert res.status_code == 422, res.text
    assert res.json()["error_type"] == "validation"
    assert message in res.json()["error"]


def test_a_tiny_temperature_decodes_instead_of_failing(gen_server: RunningServer) -> None:
    parameters = {"temperature": 1e-300, "max_new_tokens": 3, "details": True}
    res = _post(gen_server, f"/endpoints/{LLM}/generate", {"inputs": "Hello", "parameters": parameters})
    assert res.status_code == 200, res.text
    assert res.json()["details"]["generated_tokens"] == 3


def test_empty_inputs_are_refused(gen_server: RunningServer) -> None:
    res = _post(gen_server, f"/endpoints/{LLM}/generate", {"inputs": ""})
    assert res.status_code == 422
    assert res.json()["error_type"] == "validation"


def test_chat_completion(gen_server: RunningServer) -> None:
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5, "temperature": 0}
    res = _post(gen_server, f"/endpoints/{LLM}/v1/chat/completions", body)
    assert res.status_code == 200, res.text
    reply = res.json()
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["role"] == "assistant"
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 5
    assert reply["usage"]["total_tokens"] == reply["usage"]["prompt_tokens"] + 5
    root = _post(gen_server, "/v1/chat/completions", {**body, "model": LLM}).json()
    assert root["choices"][0]["message"] == reply["choices"][0]["message"]  # greedy: the same text
    assert root["model"] == LLM


def test_chat_stop_text_is_left_out(gen_server: RunningServer) -> None:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 16,
        "temperature": 0,
    }
    path = f"/endpoints/{LLM}/v1/chat/completions"
    content = _post(gen_server, path, body).json()["choices"][0]["message"]["content"]
    assert len(content) >= 6, content
    stop = content[3:5]
    reply = _post(gen_server, path, {**body, "stop": stop}).json()
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["choices"][0]["message"]["content"] == content[: content.index(stop)]
    with _post(gen_server, path, {**body, "stop": [stop], "stream": True}, stream=True) as res:
        events = sse_events(res)
    streamed = "".join(event["choices"][0]["delta"]["content"] or "" for event in events[:-1])
    assert streamed == content[: content.index(stop)]
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1] == {"done": True}


def test_chat_stream_with_usage(gen_server: RunningServer) -> None:
    body = {
        "model": LLM,
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 4,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with _post(gen_server, "/v1/chat/completions", body, stream=True) as res:
        assert res.status_code == 200
        events = sse_events(res)
    assert events[-1] == {"done": True}
    usage = events[-2]
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 4
    assert events[-3]["choices"][0]["finish_reason"] == "length"
    assert all(event["object"] == "chat.completion.chunk" for event in events[:-1])


def test_chat_without_template_is_refused(gen_server: RunningServer) -> None:
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}
    tgi = _post(gen_server, f"/endpoints/{PLAIN_LLM}/v1/chat/completions", body)
    assert tgi.status_code == 422
    assert tgi.json()["error_type"] == "validation"
    assert "chat template" in tgi.json()["error"]
    openai = _post(gen_server, "/v1/chat/completions", {**body, "model": PLAIN_LLM})
    assert openai.status_code == 422
    assert "chat template" in openai.json()["error"]["message"]
    # The model still completes prompts.
    assert _generate(gen_server, {"max_new_tokens": 2}, name=PLAIN_LLM)["generated_text"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"n": 2}, "n > 1"),
        ({"logprobs": True}, "logprobs"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"temperature": 3}, "temperature"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "text parts"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": {"x": 1}}]}]}, "text"),
        ({"messages": [{"role": "user"}]}, "content"),
        ({"max_tokens": "5"}, "max_tokens"),
    ],
)
def test_bad_chat_requests_are_openai_errors(
    gen_server: RunningServer, extra: dict[str, Any], message: str
) -> None:
    body = {"model": LLM, "messages": [{"role": "user", "content": "hello"}], **extra}
    res = _post(gen_server, "/v1/chat/completions", body)
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]


def test_root_chat_needs_a_generation_model(gen_server: RunningServer) -> None:
    body = {"messages": [{"role": "user", "content": "hello"}]}
    missing = _post(gen_server, "/v1/chat/completions", {**body, "model": "no-such/model"})
    assert missing.status_code == 404
    assert "not found" in missing.json()["error"]["message"].lower()
    assert _post(gen_server, "/v1/chat/completions", body).status_code == 422


def test_client_that_disconnects_frees_its_slot(gen_server: RunningServer) -> None:
    body = {"inputs": "Once upon a time", "parameters": {"max_new_tokens": HELD_TOKENS}}
    url = f"{gen_server.url}/endpoints/{ONE_SLOT}/generate_stream"
    short = {"inputs": "Hello", "parameters": {"max_new_tokens": 2}}
    with requests.post(url, json=body, headers=gen_server.headers, stream=True, timeout=60) as res:
        assert res.status_code == 200
        # Keep the line iterator referenced: dropping it mid-chunk closes the connection (urllib3 closes
        # a response whose read was abandoned), which the server rightly takes for a client gone.
        lines = res.iter_lines()
        first = next(line for line in lines if line.startswith(b"data:"))
        assert b'"index":1' in first
        busy = _post(gen_server, f"/endpoints/{ONE_SLOT}/generate", short)
        assert busy.status_code == 429  # one slot, taken by the stream
        assert busy.json()["error_type"] == "overloaded"
    # The held generation has many seconds left; hanging up must end it at once.
    deadline = time.monotonic() + 3
    while (res := _post(gen_server, f"/endpoints/{ONE_SLOT}/generate", short)).status_code == 429:
        assert time.monotonic() < deadline, "the slot was not freed when the client went away"
        time.sleep(0.1)
    assert res.status_code == 200, res.text


def test_a_stream_outlives_the_pause_that_retires_its_model(gen_server: RunningServer) -> None:
    model = requests.get(f"{gen_server.url}/v2/endpoint/local/{LLM}", headers=gen_server.headers).json()
    deploy_endpoint(gen_server, "paused-mid-stream", model["model"]["repository"], "text-generation")
    try:
        body = {"inputs": "Once upon a time", "parameters": {"max_new_tokens": 200}}
        path = "/endpoints/paused-mid-stream/generate_stream"
        with _post(gen_server, path, body, stream=True) as res:
            lines = res.iter_lines()
            assert next(line for line in lines if line.startswith(b"data:"))
            paused = requests.post(
                f"{gen_server.url}/v2/endpoint/local/paused-mid-stream/pause", headers=gen_server.headers
            )
            assert paused.status_code == 200
            rest = [json.loads(line[len(b"data:") :]) for line in lines if line.startswith(b"data:")]
        assert "error" not in rest[-1]
        assert rest[-1]["generated_text"] is not None
        assert rest[-1]["index"] > 1
        assert _post(gen_server, path, body).status_code == 503  # paused: new requests are refused
    finally:
        delete_endpoint(gen_server, "paused-mid-stream")


def test_concurrent_requests_are_all_answered(gen_server: RunningServer) -> None:
    def one(seed: int) -> requests.Response:
        parameters = {"max_new_tokens": 8, "do_sample": True, "seed": seed}
        return _post(
            gen_server, f"/endpoints/{LLM}/generate", {"inputs": "Hello there", "parameters": parameters}
        )

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(one, range(8)))
    assert [reply.status_code for reply in replies] == [200] * 8
    # Batched together, each still gets the text its seed gives when it runs alone.
    assert replies[3].json() == one(3).json()


def test_text2text_through_the_endpoint(gen_server: RunningServer) -> None:
    described = requests.get(f"{gen_server.url}/v2/endpoint/local/{T5}", headers=gen_server.headers).json()
    assert described["model"]["task"] == "text2text-generation"  # inferred from the model's config
    res = _post(
        gen_server, f"/endpoints/{T5}", {"inputs": "translate: hello", "parameters": {"max_new_tokens": 4}}
    )
    assert res.status_code == 200, res.text
    [only] = res.json()
    assert isinstance(only["generated_text"], str)
    assert not only["generated_text"].startswith("translate: hello")  # TGI: no prompt for text2text
    reply = _generate(gen_server, {"max_new_tokens": 4, "details": True}, name=T5)
    assert reply["details"]["generated_tokens"] <= 4


def test_info_is_tgi_shaped(gen_server: RunningServer) -> None:
    info = requests.get(f"{gen_server.url}/endpoints/{ONE_SLOT}/info", headers=gen_server.headers).json()
    assert info["model_pipeline_tag"] == "text-generation"
    assert info["max_concurrent_requests"] == 1
    assert info["max_total_tokens"] == 8192
    assert info["max_input_tokens"] < info["max_total_tokens"]


def test_embedding_routes_refuse_a_generation_endpoint(gen_server: RunningServer) -> None:
    res = _post(gen_server, f"/endpoints/{LLM}/embed", {"inputs": "hello"})
    assert res.status_code == 422


def test_serverless_text_generation(gen_server: RunningServer) -> None:
    path = f"/models/{SERVERLESS_LLM}"
    body = {"inputs": "Once upon a time", "parameters": {"max_new_tokens": 3}}
    first = _post(gen_server, path, body)
    assert first.status_code == 503
    assert first.json()["error_type"] == "loading"
    assert first.json()["estimated_time"] > 0
    res = requests.post(
        f"{gen_server.url}{path}",
        json=body,
        headers={**gen_server.headers, "x-wait-for-model": "true"},
        timeout=120,
    )
    assert res.status_code == 200, res.text
    [only] = res.json()
    assert only["generated_text"].startswith("Once upon a time")
    with _post(gen_server, path, {**body, "stream": True}, stream=True) as streamed:
        assert len(sse_events(streamed)) == 3
    chat = {"model": SERVERLESS_LLM, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    assert _post(gen_server, "/v1/chat/completions", chat).json()["usage"]["completion_tokens"] == 2
    wrong = _post(gen_server, f"/models/{SERVERLESS_LLM}/pipeline/feature-extraction", body)
    assert wrong.status_code == 422


# -- arbitrary bodies never make the generation routes fail ---------------------------------------------

_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=12)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_parameter_names = st.sampled_from(
    [
        "max_new_tokens",
        "temperature",
        "top_k",
        "top_p",
        "do_sample",
        "stop",
        "seed",
        "details",
        "truncate",
        "return_full_text",
        "best_of",
        "typical_p",
        "repetition_penalty",
        "decoder_input_details",
        "grammar",
    ]
)
_tgi_bodies = st.fixed_dictionaries(
    {"inputs": st.text(max_size=16)},
    optional={"parameters": st.dictionaries(_parameter_names, _values, max_size=3), "stream": _values},
)
_messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "system", "assistant", "tool", "x"]), "content": _values}
    ),
    max_size=3,
)
_chat_names = st.sampled_from(
    [
        "max_tokens",
        "temperature",
        "top_p",
        "seed",
        "stop",
        "n",
        "stream",
        "stream_options",
        "logprobs",
        "tools",
    ]
)
_chat_bodies = st.builds(
    lambda messages, extra: {"model": "fuzz-llm", "messages": messages, **extra},
    _messages,
    st.dictionaries(_chat_names, _values, max_size=3),
)
_FUZZ_ROUTES = [
    "/endpoints/fuzz-llm/generate",
    "/endpoints/fuzz-llm/generate_stream",
    "/endpoints/fuzz-llm",
    "/endpoints/fuzz-llm/v1/chat/completions",
    "/v1/chat/completions",
]


@pytest.fixture(scope="module")
def fuzz_llm(gen_server: RunningServer) -> str:
    model = requests.get(f"{gen_server.url}/v2/endpoint/local/{LLM}", headers=gen_server.headers).json()
    # Four tokens unless a body asks for more: the bodies that are valid stay quick.
    env = {"DEFAULT_MAX_NEW_TOKENS": "4"}
    deploy_endpoint(gen_server, "fuzz-llm", model["model"]["repository"], "text-generation", env=env)
    return "fuzz-llm"


@pytest.mark.parametrize("route", _FUZZ_ROUTES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_values | _tgi_bodies | _chat_bodies)
def test_arbitrary_bodies(gen_server: RunningServer, fuzz_llm: str, route: str, body: object) -> None:
    if isinstance(body, dict) and isinstance(body.get("parameters"), dict):
        body["parameters"].setdefault("max_new_tokens", 4)  # keep the valid ones quick
    data = json.dumps(body, allow_nan=True).encode()
    headers = {**gen_server.headers, "content-type": "application/json"}
    with requests.post(gen_server.url + route, data=data, headers=headers, timeout=60, stream=True) as res:
        assert res.status_code < 500, (route, data[:200], res.text[:300])
        if res.status_code >= 400:
            error = res.json()["error"]
            assert error if isinstance(error, str) else error["message"]
        elif res.headers["content-type"].startswith("text/event-stream"):
            events = sse_events(res)
            assert events
            assert all("error" not in event for event in events), (route, data[:200], events[-1])
