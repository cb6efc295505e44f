"""The generation dialects' moving parts: stop trimming, event streams and their cleanup, error events.

Mid-stream errors are parsed with the real clients' own parsers (huggingface_hub's TGI stream reader).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from huggingface_hub.errors import GenerationError, IncompleteGenerationError, OverloadedError
from huggingface_hub.inference._common import _format_text_generation_stream_output
from starlette.requests import ClientDisconnect

from inferhouse.api.core.error_shapes import render_tgi
from inferhouse.api.generation.chat import ChatRequest, _chunks, _Shape, openai_error_event
from inferhouse.api.generation.sse import EventStream
from inferhouse.api.generation.stop_text import StopTrimmer
from inferhouse.api.generation.tgi_params import TgiParameters
from inferhouse.api.generation.tgi_replies import _tgi_events
from inferhouse.engine.generation.contract import GeneratedToken, GenerationResult
from inferhouse.errors import BackendFailure, InferhouseError, Overloaded, ValidationFailed


def _token(text: str, special: bool = False) -> GeneratedToken:
    return GeneratedToken(id=1, text=text, logprob=-0.5, special=special)


def _result(text: str, finish_reason: Any = "length") -> GenerationResult:
    return GenerationResult(
        text=text, finish_reason=finish_reason, generated_tokens=2, prompt_tokens=3, seed=None, tokens=()
    )


class FakeStream:
    """Yields ``tokens``; sets ``result`` with the last one (as the engine does), or raises ``error``."""

    def __init__(
        self, tokens: list[str], result: GenerationResult | None, error: InferhouseError | None = None
    ) -> None:
        self._tokens = tokens
        self._final = result
        self._error = error
        self.result: GenerationResult | None = None
        self.cancelled = False

    def __aiter__(self) -> AsyncIterator[GeneratedToken]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[GeneratedToken]:
        for number, text in enumerate(self._tokens):
            await asyncio.sleep(0)
            if number == len(self._tokens) - 1:
                self.result = self._final
            yield _token(text)
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        self.cancelled = True


async def _collect(events: AsyncIterator[bytes]) -> list[bytes]:
    return [event async for event in events]


@pytest.mark.parametrize(
    ("pieces", "stops", "expected"),
    [
        (["Hello", " wor", "ld"], ["\n"], "Hello world"),
        (["Hello", " wor", "ld. More"], ["."], "Hello world"),
        (["ab", "c", "DE", "F"], ["cDE"], "ab"),  # the stop spans three pieces
        (["a", "X", "Y"], ["XYZ"], "aXY"),  # a held prefix that never completes is released at the end
        (["one STOP two"], ["STOP", "one"], ""),  # the earliest stop wins
    ],
)
def test_stop_trimmer(pieces: list[str], stops: list[str], expected: str) -> None:
    trimmer = StopTrimmer(stops)
    released = [trimmer.push(piece) for piece in pieces]
    assert "".join(released) + trimmer.finish() == expected


def test_stop_trimmer_holds_back_only_what_could_be_a_stop() -> None:
    trimmer = StopTrimmer(["</end>"])
    assert trimmer.push("Hi </e") == "Hi "
    assert trimmer.push("x") == "</ex"
    assert not trimmer.stopped


async def test_tgi_events_mark_the_last_token() -> None:
    stream = FakeStream(["a", "b", "c"], _result("abc"))
    events = [
        json.loads(event[len(b"data:") :])
        for event in await _collect(_tgi_events(stream, "P:", details=True))
    ]
    assert [event["index"] for event in events] == [1, 2, 3]
    assert [event["generated_text"] for event in events] == [None, None, "P:abc"]
    assert events[-1]["details"] == {
        "finish_reason": "length",
        "generated_tokens": 2,
        "seed": None,
        "input_length": 3,
    }


@pytest.mark.parametrize(
    ("stream", "raised"),
    [
        (FakeStream(["a"], None, BackendFailure("the model broke")), GenerationError),
        (FakeStream(["a"], None, Overloaded("Model is overloaded")), OverloadedError),
        (FakeStream(["a", "b"], None), IncompleteGenerationError),
    ],
)
async def test_tgi_stream_errors_reach_huggingface_hub(stream: FakeStream, raised: type[Exception]) -> None:
    events = await _collect(_tgi_events(stream, "", details=False))
    *tokens, last = [event.decode().strip() for event in events]
    assert all(_format_text_generation_stream_output(line, details=False) == "a" for line in tokens)
    with pytest.raises(raised):
        _format_text_generation_stream_output(last, details=False)


async def test_chat_chunks_report_an_error_in_openai_shape() -> None:
    stream = FakeStream(["Hel", "lo"], None, BackendFailure("the model broke"))
    events = await _collect(
        _chunks(stream, _Shape("m"), StopTrimmer(()), openai_error_event, include_usage=False)
    )
    contents = [json.loads(event[len(b"data: ") :]) for event in events]
    assert [chunk["choices"][0]["delta"]["content"] for chunk in contents[:-1]] == ["", "Hel", "lo"]
    assert contents[-1]["error"]["message"] == "the model broke"


async def test_chat_chunks_end_with_finish_usage_and_done() -> None:
    stream = FakeStream(["Hel", "lo", "!"], _result("Hello!", "stop_sequence"))
    events = await _collect(
        _chunks(stream, _Shape("m"), StopTrimmer(["!"]), openai_error_event, include_usage=True)
    )
    assert events[-1] == b"data: [DONE]\n\n"
    usage = json.loads(events[-2][len(b"data: ") :])
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    final = json.loads(events[-3][len(b"data: ") :])["choices"][0]
    assert final["finish_reason"] == "stop"
    text = "".join(
        json.loads(event[len(b"data: ") :])["choices"][0]["delta"]["content"] for event in events[:-2]
    )
    assert text == "Hello"


async def test_event_stream_releases_its_resources_when_the_client_leaves() -> None:
    released: list[str] = []
    started = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            started.set()
            yield b"data: {}\n\n"
            await asyncio.sleep(0.01)

    resources = AsyncExitStack()
    resources.callback(released.append, "deployment")
    response = EventStream(endless(), resources)

    async def hang_up() -> dict[str, Any]:
        await started.wait()
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"spec_version": "2.3"}, "method": "POST", "headers": []}
    await asyncio.wait_for(response(scope, hang_up, send), timeout=5)
    assert released == ["deployment"]
    assert sent[0]["type"] == "http.response.start"


async def test_event_stream_releases_its_resources_when_it_never_started() -> None:
    released: list[str] = []
    resources = AsyncExitStack()
    resources.callback(released.append, "deployment")

    async def never_read() -> AsyncIterator[bytes]:
        yield b"unused"

    async def broken_send(message: dict[str, Any]) -> None:
        raise OSError("connection reset")

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    response = EventStream(never_read(), resources)
    scope = {"type": "http", "asgi": {"spec_version": "2.4"}, "method": "POST", "headers": []}
    with pytest.raises(ClientDisconnect):  # what Starlette makes of a send that fails
        await response(scope, receive, broken_send)
    assert released == ["deployment"]


def test_tgi_parameters_refuse_what_cannot_be_honoured() -> None:
    assert TgiParameters(best_of=1, typical_p=1.0, top_n_tokens=0).unsupported() is None
    for values in ({"best_of": 2}, {"watermark": True}, {"grammar": {"type": "json"}}, {"adapter_id": "x"}):
        with pytest.raises(ValidationFailed):
            TgiParameters.model_validate(values).generation_params()


def test_tgi_sampling_follows_the_warpers() -> None:
    assert not TgiParameters().generation_params().do_sample
    assert TgiParameters(top_k=5).generation_params().do_sample
    assert TgiParameters(temperature=0.7).generation_params().do_sample
    assert not TgiParameters(temperature=1.0, top_p=1.0).generation_params().do_sample


def test_chat_request_maps_openai_choices() -> None:
    greedy = ChatRequest(messages=[{"role": "user", "content": "x"}], temperature=0, stop="END")
    params = greedy.generation_params()
    assert not params.do_sample
    assert params.stop == ("END",)
    assert ChatRequest(messages=[{"role": "user", "content": "x"}]).generation_params().do_sample
    parts = ChatRequest(
        messages=[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    )
    assert parts.text_messages() == [{"role": "user", "content": "ab"}]


def test_render_tgi_names_a_failed_generation() -> None:
    assert json.loads(bytes(render_tgi(BackendFailure("boom")).body)) == {
        "error": "boom",
        "error_type": "generation",
    }
    overloaded = render_tgi(Overloaded("Model is overloaded"))
    assert overloaded.status_code == 429
    assert json.loads(bytes(overloaded.body))["error_type"] == "overloaded"
