"""Text generation through the official clients: huggingface_hub's InferenceClient and openai."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
import requests
from huggingface_hub import InferenceClient, constants
from huggingface_hub.errors import HfHubHTTPError, OverloadedError, ValidationError

from tests.support.generation import (
    HELD_TOKENS,
    LLM,
    ONE_SLOT,
    PLAIN_LLM,
    SERVERLESS_LLM,
    T5,
    build_generation_models,
    start_generation_server,
)
from tests.support.server import RunningServer

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def gen_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    models = build_generation_models(tmp_path_factory.mktemp("gen-models"))
    running = start_generation_server(tmp_path_factory.mktemp("gen-data"), models)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _client_may_reach_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # huggingface_hub's offline mode refuses every request, loopback included; these go only to our server.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hf(gen_server: RunningServer) -> Iterator[InferenceClient]:
    with InferenceClient(model=f"{gen_server.url}/endpoints/{LLM}", token=gen_server.token) as client:
        yield client


@pytest.fixture
def oai(gen_server: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gen_server.url}/v1", api_key=gen_server.token, max_retries=0)


def _generated(server: RunningServer, max_new_tokens: int) -> str:
    """The greedy continuation of PROMPT, asked with plain requests."""
    body = {"inputs": PROMPT, "parameters": {"max_new_tokens": max_new_tokens}}
    res = requests.post(
        f"{server.url}/endpoints/{LLM}/generate", json=body, headers=server.headers, timeout=60
    )
    text: str = res.json()["generated_text"]
    return text


def test_text_generation(hf: InferenceClient, gen_server: RunningServer) -> None:
    expected = _generated(gen_server, 10)
    # As TGI, the endpoint's URL answers a text-generation model with the prompt in front.
    assert hf.text_generation(PROMPT, max_new_tokens=10) == PROMPT + expected
    assert hf.text_generation(PROMPT, max_new_tokens=10, return_full_text=False) == expected


def test_text_generation_details(hf: InferenceClient) -> None:
    output = hf.text_generation("Hi", max_new_tokens=5, details=True, return_full_text=False)
    assert output.details is not None
    assert output.details.finish_reason == "length"
    assert output.details.generated_tokens == 5
    assert len(output.details.tokens) == 5
    assert "".join(token.text for token in output.details.tokens) == output.generated_text
    seeded = hf.text_generation("Hi", max_new_tokens=5, details=True, do_sample=True, seed=3)
    assert seeded.details is not None
    assert seeded.details.seed == 3


def test_text_generation_stream(hf: InferenceClient, gen_server: RunningServer) -> None:
    tokens = list(hf.text_generation("Once upon", max_new_tokens=20, stream=True))
    assert len(tokens) == 20
    assert all(isinstance(token, str) for token in tokens)
    outputs = list(hf.text_generation(PROMPT, max_new_tokens=8, stream=True, details=True))
    assert [output.generated_text for output in outputs[:-1]] == [None] * 7
    assert outputs[-1].details is not None
    assert outputs[-1].details.finish_reason == "length"
    assert outputs[-1].generated_text == PROMPT + _generated(gen_server, 8)


def test_stop_sequences(hf: InferenceClient) -> None:
    text = hf.text_generation(PROMPT, max_new_tokens=16, return_full_text=False)
    assert len(text) >= 6, text
    output = hf.text_generation(
        PROMPT, max_new_tokens=16, stop=[text[3:5]], details=True, return_full_text=False
    )
    assert output.details is not None
    assert output.details.finish_reason == "stop_sequence"


def test_validation_errors_are_raised_as_such(hf: InferenceClient) -> None:
    with pytest.raises(ValidationError, match="best_of"):
        hf.text_generation(PROMPT, max_new_tokens=5, best_of=2)
    with pytest.raises(ValidationError, match="max_new_tokens"):
        hf.text_generation(PROMPT, max_new_tokens=5000)
    with pytest.raises(ValidationError, match="grammar"):
        list(hf.text_generation(PROMPT, stream=True, grammar={"type": "regex", "value": "a+"}))


def test_overloaded_endpoint_raises_overloaded_error(gen_server: RunningServer) -> None:
    url = f"{gen_server.url}/endpoints/{ONE_SLOT}"
    body = {"inputs": PROMPT, "parameters": {"max_new_tokens": HELD_TOKENS}}
    with requests.post(f"{url}/generate_stream", json=body, headers=gen_server.headers, stream=True) as held:
        lines = held.iter_lines()  # kept referenced: a dropped, half-read iterator closes the connection
        next(lines)  # the one slot is taken while this stream is open
        with InferenceClient(model=url, token=gen_server.token) as client, pytest.raises(OverloadedError):
            client.text_generation(PROMPT, max_new_tokens=2)


def test_endpoint_info(gen_server: RunningServer) -> None:
    url = f"{gen_server.url}/endpoints/{LLM}"
    with InferenceClient(model=url, token=gen_server.token, provider="hf-inference") as client:
        info = client.get_endpoint_info()
    assert info["max_total_tokens"] == 1024
    assert info["model_pipeline_tag"] == "text-generation"


def test_text2text_generation(gen_server: RunningServer) -> None:
    with InferenceClient(model=f"{gen_server.url}/endpoints/{T5}", token=gen_server.token) as client:
        text = client.text_generation("translate: hello", max_new_tokens=4)
    assert isinstance(text, str)
    assert not text.startswith("translate: hello")


def test_serverless_model(gen_server: RunningServer) -> None:
    url = f"{gen_server.url}/models/{SERVERLESS_LLM}"
    with InferenceClient(model=url, token=gen_server.token, headers={"x-wait-for-model": "true"}) as client:
        text = client.text_generation(PROMPT, max_new_tokens=10, return_full_text=False)
    assert text == _generated(gen_server, 10)


def test_chat_completion(hf: InferenceClient) -> None:
    output = hf.chat_completion([{"role": "user", "content": "hello"}], max_tokens=20, temperature=0)
    choice = output.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str)
    assert choice.finish_reason in ("length", "stop")
    assert output.usage.completion_tokens <= 20
    assert output.usage.total_tokens == output.usage.prompt_tokens + output.usage.completion_tokens


def test_chat_completion_stream(hf: InferenceClient) -> None:
    messages = [{"role": "user", "content": "hello"}]
    whole = hf.chat_completion(messages, max_tokens=20, temperature=0).choices[0].message.content
    chunks = list(hf.chat_completion(messages, max_tokens=20, temperature=0, stream=True))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == whole
    assert chunks[-1].choices[0].finish_reason in ("length", "stop")
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks[:-1])


def test_chat_completion_without_template(gen_server: RunningServer) -> None:
    url = f"{gen_server.url}/endpoints/{PLAIN_LLM}"
    with (
        InferenceClient(model=url, token=gen_server.token) as client,
        pytest.raises(HfHubHTTPError) as caught,
    ):
        client.chat_completion([{"role": "user", "content": "hello"}], max_tokens=5)
    assert caught.value.response.status_code == 422
    assert "chat template" in str(caught.value)


def test_openai_chat(oai: openai.OpenAI) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
    completion = oai.chat.completions.create(model=LLM, messages=messages, max_tokens=12, temperature=0)
    assert completion.object == "chat.completion"
    assert completion.model == LLM
    message = completion.choices[0].message
    assert message.role == "assistant"
    assert isinstance(message.content, str)
    assert completion.choices[0].finish_reason in ("length", "stop")
    assert completion.usage is not None
    assert completion.usage.completion_tokens <= 12
    again = oai.chat.completions.create(model=LLM, messages=messages, max_completion_tokens=12, temperature=0)
    assert again.choices[0].message.content == message.content


def test_openai_chat_stream_with_usage(oai: openai.OpenAI) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
    whole = oai.chat.completions.create(model=LLM, messages=messages, max_tokens=12, temperature=0)
    stream = oai.chat.completions.create(
        model=LLM,
        messages=messages,
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    usage = chunks[-1]
    assert usage.choices == []
    assert usage.usage == whole.usage
    content = "".join(chunk.choices[0].delta.content or "" for chunk in chunks[:-1])
    assert content == whole.choices[0].message.content
    assert chunks[-2].choices[0].finish_reason == whole.choices[0].finish_reason


def test_openai_seeded_sampling_is_reproducible(oai: openai.OpenAI) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "tell me"}]
    first, second = (
        oai.chat.completions.create(model=LLM, messages=messages, max_tokens=12, seed=11) for _ in range(2)
    )
    assert first.choices[0].message.content == second.choices[0].message.content


def test_openai_errors(oai: openai.OpenAI) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
    with pytest.raises(openai.UnprocessableEntityError, match="chat template"):
        oai.chat.completions.create(model=PLAIN_LLM, messages=messages)
    with pytest.raises(openai.UnprocessableEntityError, match="n > 1"):
        oai.chat.completions.create(model=LLM, messages=messages, n=2)
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model="no-such/model", messages=messages)
    bad_key = openai.OpenAI(base_url=str(oai.base_url), api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.chat.completions.create(model=LLM, messages=messages)
