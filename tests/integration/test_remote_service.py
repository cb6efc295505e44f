"""The hugging_face remote client against a fake upstream on 127.0.0.1: real HTTP, no mocked httpx."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from inferhouse.errors import UpstreamError, UpstreamMalformed, UpstreamRateLimited, UpstreamRejected
from inferhouse.inference.rate_limit import RateLimiter, RateLimiters
from inferhouse.inference.remote import HuggingFaceRemote
from inferhouse.inference.replies import RankedText
from inferhouse.inference.upstream import RetryPolicy, new_http_client
from tests.support.fake_time import FakeTime
from tests.support.fake_upstream import FakeUpstream, Received, Reply, closed_port_url, running_upstream

API_KEY = "hf_test_secret_key_0123456789"
INFERENCE_ID = "my-hf"
FAST = RetryPolicy(max_tries=3, initial_delay=0.01, max_delay=0.02, budget=5.0)
QUICK_RATE = 60_000  # one request per millisecond: out of the way unless a test is about the limit


def vector_for(text: str) -> list[float]:
    """A recognisable 3-value vector: texts are "t<number>"."""
    number = float(text[1:])
    return [number, number / 10, -number]


def embeddings_handler(request: Received) -> Reply:
    return Reply(200, [vector_for(text) for text in request.json()["inputs"]])


def texts(count: int) -> list[str]:
    return [f"t{number}" for number in range(count)]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with running_upstream() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = new_http_client(timeout=5.0, connect_timeout=2.0, trust_env=False)
    yield client
    await client.aclose()


def remote(
    url: str,
    http: httpx.AsyncClient,
    *,
    limiter: RateLimiter | None = None,
    api_key: str = API_KEY,
    retry: RetryPolicy = FAST,
    **options: Any,
) -> HuggingFaceRemote:
    return HuggingFaceRemote(
        inference_id=INFERENCE_ID,
        url=url,
        api_key=api_key,
        limiter=limiter or RateLimiter(QUICK_RATE),
        http=http,
        retry=retry,
        **options,
    )


# -- embeddings ------------------------------------------------------------------------------------


async def test_object_reply_with_embeddings_field(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.queue(Reply(200, {"embeddings": [[0.5, 1], [2, -3.25]]}))
    vectors = await remote(upstream.url, http).embed(["hello", "world"])
    assert vectors == [[0.5, 1.0], [2.0, -3.25]]
    assert all(isinstance(value, float) for vector in vectors for value in vector)
    (request,) = upstream.received
    assert request.method == "POST"
    assert request.path == "/embed"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"inputs": ["hello", "world"]}


async def test_bare_list_reply_and_a_single_input_is_still_a_list(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.handler = embeddings_handler
    assert await remote(upstream.url, http).embed(["t7"]) == [vector_for("t7")]
    assert upstream.received[0].json() == {"inputs": ["t7"]}


async def test_no_texts_no_request(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    assert await remote(upstream.url, http).embed([]) == []
    assert upstream.received == []


async def test_inputs_go_in_batches_of_twenty_and_come_back_in_order(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.handler = embeddings_handler
    inputs = texts(45)
    assert await remote(upstream.url, http).embed(inputs) == [vector_for(text) for text in inputs]
    # The batches are sent concurrently, so they may arrive in any order.
    batches = sorted((request.json()["inputs"] for request in upstream.received), key=lambda b: int(b[0][1:]))
    assert [len(batch) for batch in batches] == [20, 20, 5]
    assert [text for batch in batches for text in batch] == inputs


# -- retries ---------------------------------------------------------------------------------------


async def test_429_then_success(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.queue(Reply(429, {"error": "Rate limit reached"}))
    upstream.handler = embeddings_handler
    assert await remote(upstream.url, http).embed(["t1"]) == [vector_for("t1")]
    assert len(upstream.received) == 2


async def test_429_that_persists_is_rate_limited(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.handler = lambda _: Reply(429, {"error": "Rate limit reached"})
    with pytest.raises(UpstreamRateLimited) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert caught.value.status_code == 429
    assert caught.value.message == (
        "Received a rate limit status code for request from inference entity id [my-hf] status [429]. "
        "Error message: [Rate limit reached]"
    )
    assert len(upstream.received) == 3


async def test_503_three_times_gives_up_after_exactly_three_requests(
    upstream: FakeUpstream, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    upstream.handler = lambda _: Reply(
        503, {"error": "Model my/model is currently loading", "estimated_time": 20}
    )
    with pytest.raises(UpstreamError) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert type(caught.value) is UpstreamError
    assert caught.value.status_code == 502
    assert caught.value.message == (
        "Received a rate limit status code for request from inference entity id [my-hf] status [503]. "
        "Error message: [Model my/model is currently loading]"
    )
    assert len(upstream.received) == 3
    assert "try 1 of 3 failed" in caplog.text
    assert API_KEY not in caplog.text


async def test_502_is_retried(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.queue(Reply(502, "<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}))
    upstream.handler = embeddings_handler
    assert await remote(upstream.url, http).embed(["t2"]) == [vector_for("t2")]
    assert len(upstream.received) == 2


@pytest.mark.parametrize("status", [500, 504])
async def test_other_server_errors_are_not_retried(
    upstream: FakeUpstream, http: httpx.AsyncClient, status: int
) -> None:
    upstream.handler = lambda _: Reply(status, {"error": "CUDA error: device-side assert triggered"})
    with pytest.raises(UpstreamError) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert type(caught.value) is UpstreamError
    assert caught.value.message == (
        "Received a server error status code for request from inference entity id [my-hf] "
        f"status [{status}]. "
        "Error message: [CUDA error: device-side assert triggered]"
    )
    assert len(upstream.received) == 1


async def test_refused_connections_are_retried_then_reported(http: httpx.AsyncClient) -> None:
    fake = FakeTime()
    client = remote(closed_port_url(), http, clock=fake.clock, sleep=fake.sleep)
    with pytest.raises(UpstreamError) as caught:
        await client.embed(["t1"])
    assert type(caught.value) is UpstreamError
    assert caught.value.message.startswith(
        "Http client failed to send request from inference entity id [my-hf]. Error message: [ConnectError: "
    )
    assert len(fake.sleeps) == 2  # three tries
    assert API_KEY not in caught.value.message


async def test_a_reset_connection_is_retried(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.queue(Reply(drop=True))
    upstream.handler = embeddings_handler
    assert await remote(upstream.url, http).embed(["t3"]) == [vector_for("t3")]
    assert len(upstream.received) == 2


async def test_a_read_timeout_is_retried(upstream: FakeUpstream) -> None:
    upstream.queue(Reply(200, [[1.0]], delay=0.5))
    upstream.handler = embeddings_handler
    async with new_http_client(timeout=0.2, trust_env=False) as http:
        assert await remote(upstream.url, http).embed(["t4"]) == [vector_for("t4")]
    assert len(upstream.received) == 2


async def test_default_policy_is_three_tries_with_one_then_two_seconds_between(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    fake = FakeTime()
    upstream.handler = lambda _: Reply(503, {"error": "busy"})
    client = remote(upstream.url, http, retry=RetryPolicy(), clock=fake.clock, sleep=fake.sleep)
    with pytest.raises(UpstreamError):
        await client.embed(["t1"])
    assert len(upstream.received) == 3
    assert fake.sleeps == [1.0, 2.0]


async def test_the_budget_stops_retries_before_sleeping_past_it(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    fake = FakeTime()
    upstream.handler = lambda _: Reply(503, {"error": "busy"})
    # Tries alone would allow 100; the default 30 s budget and 5 s delay bound stop it first.
    policy = RetryPolicy(max_tries=100)
    client = remote(upstream.url, http, retry=policy, clock=fake.clock, sleep=fake.sleep)
    with pytest.raises(UpstreamError):
        await client.embed(["t1"])
    assert fake.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]  # 27 s; 5 more would pass 30
    assert sum(fake.sleeps) <= policy.budget
    assert len(upstream.received) == 8


async def test_retry_after_is_honoured_and_never_past_the_budget(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    fake = FakeTime()
    upstream.queue(Reply(429, {"error": "slow down"}, headers={"Retry-After": "3"}))
    upstream.handler = embeddings_handler
    client = remote(upstream.url, http, retry=RetryPolicy(), clock=fake.clock, sleep=fake.sleep)
    assert await client.embed(["t1"]) == [vector_for("t1")]
    assert fake.sleeps == [3.0]

    upstream.queue(Reply(429, {"error": "come back tomorrow"}, headers={"Retry-After": "86400"}))
    with pytest.raises(UpstreamRateLimited, match="come back tomorrow"):
        await client.embed(["t1"])
    assert fake.sleeps == [3.0]  # gave up at once rather than sleep a day


# -- rejections ------------------------------------------------------------------------------------


async def test_401_is_not_retried_and_carries_the_upstream_message(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.handler = lambda _: Reply(401, {"error": "Invalid credentials in Authorization header"})
    with pytest.raises(UpstreamRejected) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert caught.value.status_code == 401
    assert caught.value.message == (
        "Received an authentication error status code for request from inference entity id [my-hf] "
        "status [401]. Error message: [Invalid credentials in Authorization header]"
    )
    assert API_KEY not in str(caught.value)
    assert len(upstream.received) == 1


async def test_an_upstream_that_echoes_the_key_has_it_masked(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.handler = lambda request: Reply(
        401, {"error": f"token {request.headers['authorization']} unknown"}
    )
    with pytest.raises(UpstreamRejected) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert API_KEY not in caught.value.message
    assert "token Bearer [REDACTED] unknown" in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (
            400,
            {"error": {"message": "inputs must not be empty", "type": "invalid_request_error"}},
            "inputs must not be empty",
        ),
        (404, {"message": "Model not found"}, "Model not found"),
        (422, "plain text complaint", "plain text complaint"),
        (403, {"error": ["first problem", "second problem"]}, "first problem; second problem"),
    ],
)
async def test_other_4xx_are_not_retried(
    upstream: FakeUpstream, http: httpx.AsyncClient, status: int, body: Any, shown: str
) -> None:
    upstream.handler = lambda _: Reply(status, body)
    with pytest.raises(UpstreamRejected) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert caught.value.status_code == status
    assert caught.value.message == (
        "Received an unsuccessful status code for request from inference entity id [my-hf] "
        f"status [{status}]. "
        f"Error message: [{shown}]"
    )
    assert len(upstream.received) == 1


async def test_a_long_raw_error_body_is_cut(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.handler = lambda _: Reply(400, "x" * 5000)
    with pytest.raises(UpstreamRejected) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert "x" * 500 + "..." in caught.value.message
    assert len(caught.value.message) < 700


async def test_an_empty_error_body_leaves_the_message_out(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.handler = lambda _: Reply(400, b"")
    with pytest.raises(UpstreamRejected) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert caught.value.message == (
        "Received an unsuccessful status code for request from inference entity id [my-hf] status [400]"
    )


async def test_a_redirect_is_not_followed(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.handler = lambda _: Reply(302, b"", headers={"Location": "http://127.0.0.1:9/elsewhere"})
    with pytest.raises(UpstreamError) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert type(caught.value) is UpstreamError
    assert caught.value.message.startswith(
        "Unhandled redirection for request from inference entity id [my-hf]"
    )
    assert len(upstream.received) == 1


# -- 413: split the batch --------------------------------------------------------------------------


async def test_413_halves_the_batch_until_it_fits(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    def at_most_six(request: Received) -> Reply:
        if len(request.json()["inputs"]) > 6:
            return Reply(413, {"error": "Payload Too Large"})
        return embeddings_handler(request)

    upstream.handler = at_most_six
    inputs = texts(20)
    assert await remote(upstream.url, http).embed(inputs) == [vector_for(text) for text in inputs]
    sizes = sorted((len(request.json()["inputs"]) for request in upstream.received), reverse=True)
    assert sizes == [20, 10, 10, 5, 5, 5, 5]


async def test_413_on_a_single_input_is_an_error(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.handler = lambda _: Reply(413, {"error": "Input is too long"})
    with pytest.raises(UpstreamRejected) as caught:
        await remote(upstream.url, http).embed(["t1"])
    assert caught.value.status_code == 413
    assert caught.value.message == (
        "Received a content too large status code for request from inference entity id [my-hf] status [413]. "
        "Error message: [Input is too long]"
    )
    assert len(upstream.received) == 1


# -- malformed replies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "inputs", "expected"),
    [
        ({"foo": 1}, 1, "Failed to find required field [embeddings]; received an object with fields [foo]"),
        ([1, 2, 3], 1, "entry 0 is an array of numbers (a single embedding)"),
        ([[[0.1]]], 1, "entry 0 is an array of arrays, which looks like one embedding per token"),
        ("not json at all", 1, "expected JSON but received [not json at all]"),
        (b"", 1, "expected JSON but received an empty body"),
        (42, 1, "or an object with an [embeddings] field, but received a number"),
        ({"embeddings": "nope"}, 1, "but received a string"),
        ([[0.1, 0.2]], 2, "expected 2 embeddings (one per input) but received 1"),
        ([[0.1, 0.2], [0.3]], 2, "embedding 0 has 2 values but embedding 1 has 1"),
        ([[0.1, "x"]], 1, "embedding 0 holds a string where numbers are expected"),
        ([[0.1, True]], 1, "embedding 0 holds a boolean where numbers are expected"),
        ([[]], 1, "embedding 0 is empty"),
    ],
)
async def test_malformed_embeddings_replies(
    upstream: FakeUpstream, http: httpx.AsyncClient, body: Any, inputs: int, expected: str
) -> None:
    upstream.handler = lambda _: Reply(200, body)
    with pytest.raises(UpstreamMalformed) as caught:
        await remote(upstream.url, http).embed(texts(inputs))
    assert caught.value.message.startswith(
        "Failed to parse the Hugging Face embeddings response for request from inference entity id [my-hf]: "
    )
    assert expected in caught.value.message
    assert caught.value.status_code == 502
    assert len(upstream.received) == 1  # a bad 2xx body is not retried


# -- rerank and completion ------------------------------------------------------------------------


async def test_rerank_sorts_by_score_and_maps_indexes(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.queue(
        Reply(
            200,
            [
                {"index": 0, "score": 0.1, "text": "a"},
                {"index": 2, "score": 0.9, "text": "c"},
                {"index": 1, "score": 0.5, "text": "b"},
            ],
        )
    )
    ranked = await remote(upstream.url, http).rerank("q", ["a", "b", "c"], return_documents=True)
    assert ranked == [RankedText(2, 0.9, "c"), RankedText(1, 0.5, "b"), RankedText(0, 0.1, "a")]
    assert upstream.received[0].json() == {"query": "q", "texts": ["a", "b", "c"], "return_text": True}


async def test_rerank_across_batches_with_top_n(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    def score_by_number(request: Received) -> Reply:
        body = request.json()
        scored = [{"index": i, "score": float(text[1:]) % 5} for i, text in enumerate(body["texts"])]
        return Reply(200, scored)

    upstream.handler = score_by_number
    ranked = await remote(upstream.url, http, max_batch=3).rerank("q", texts(7), top_n=2)
    # scores: t0..t6 -> 0,1,2,3,4,0,1; best two are t4 (4.0) and t3 (3.0)
    assert ranked == [RankedText(4, 4.0), RankedText(3, 3.0)]
    bodies = [request.json() for request in upstream.received]
    assert sorted(len(body["texts"]) for body in bodies) == [1, 3, 3]
    assert all(
        body["top_n"] == min(2, len(body["texts"])) and body["return_text"] is False for body in bodies
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ([{"index": 5, "score": 0.3}], "entry 0 has index [5] but the request held 2 texts"),
        ([{"index": 0, "score": 0.3}, {"index": 0, "score": 0.2}], "index [0] appears more than once"),
        ([{"index": 0}], "entry 0 has no numeric [score]"),
        ({"results": []}, "expected an array of {index, score} objects but received an object"),
    ],
)
async def test_malformed_rerank_replies(
    upstream: FakeUpstream, http: httpx.AsyncClient, reply: Any, expected: str
) -> None:
    upstream.handler = lambda _: Reply(200, reply)
    with pytest.raises(UpstreamMalformed, match="Hugging Face rerank response") as caught:
        await remote(upstream.url, http).rerank("q", ["a", "b"])
    assert expected in caught.value.message


async def test_complete_sends_a_chat_completions_body(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.queue(
        Reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there"}}]})
    )
    messages = [{"role": "user", "content": "Hello"}]
    assert await remote(upstream.url, http).complete(messages, max_tokens=5) == "Hi there"
    assert upstream.received[0].json() == {
        "model": "tgi",
        "messages": messages,
        "stream": False,
        "max_tokens": 5,
    }


async def test_complete_uses_the_configured_model(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    upstream.queue(Reply(200, {"choices": [{"message": {"content": "ok"}}]}))
    await remote(upstream.url, http, model="meta/llama").complete([{"role": "user", "content": "x"}])
    assert upstream.received[0].json()["model"] == "meta/llama"


async def test_complete_errors(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    client = remote(upstream.url, http)
    upstream.queue(Reply(200, {"choices": []}))
    with pytest.raises(UpstreamMalformed, match=r"Failed to find required field \[choices\]"):
        await client.complete([{"role": "user", "content": "x"}])
    upstream.queue(Reply(200, {"choices": [{"message": {"content": None}}]}))
    with pytest.raises(
        UpstreamMalformed, match=r"choices\[0\]\.message\.content should be a string but is null"
    ):
        await client.complete([{"role": "user", "content": "x"}])
    upstream.queue(Reply(413, {"error": {"message": "prompt too long"}}))
    with pytest.raises(UpstreamRejected, match=r"Error message: \[prompt too long\]") as caught:
        await client.complete([{"role": "user", "content": "x"}])
    assert caught.value.status_code == 413


async def test_repr_hides_the_key(http: httpx.AsyncClient) -> None:
    client = remote("http://127.0.0.1:1/embed?token=abc", http)
    assert API_KEY not in repr(client)
    assert "token=abc" not in repr(client)
    assert "my-hf" in repr(client)


# -- rate limits -----------------------------------------------------------------------------------


def assert_spaced(arrivals: list[float], per_second: int, count: int) -> None:
    arrivals = sorted(arrivals)
    assert len(arrivals) == count
    for first in arrivals:  # allow one extra for scheduling jitter at the window's edges
        assert sum(1 for at in arrivals if first <= at < first + 1.0) <= per_second + 1
    assert arrivals[-1] - arrivals[0] >= (count - 1) / per_second - 0.05


async def test_concurrent_requests_are_spaced_by_the_limit(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.handler = embeddings_handler
    client = remote(upstream.url, http, limiter=RateLimiter(600), max_batch=1)  # one per 100 ms
    started = time.monotonic()
    assert await client.embed(texts(12)) == [vector_for(text) for text in texts(12)]
    assert time.monotonic() - started >= 1.05
    assert_spaced([request.at for request in upstream.received], per_second=10, count=12)


async def test_configs_sharing_url_and_key_share_one_bucket(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.handler = embeddings_handler
    limiters = RateLimiters()
    first = remote(upstream.url, http, limiter=limiters.for_key(upstream.url, API_KEY, 600), max_batch=1)
    second = remote(upstream.url, http, limiter=limiters.for_key(upstream.url, API_KEY, 600), max_batch=1)
    other_key = "hf_another_key"
    other = remote(
        upstream.url,
        http,
        api_key=other_key,
        limiter=limiters.for_key(upstream.url, other_key, 600),
        max_batch=1,
    )
    assert first.limiter is second.limiter
    assert other.limiter is not first.limiter

    started = time.monotonic()
    await asyncio.gather(first.embed(texts(5)), second.embed(texts(5)), other.embed(["t99"]))
    shared = [r.at for r in upstream.received if r.headers["authorization"] == f"Bearer {API_KEY}"]
    own = [r.at for r in upstream.received if r.headers["authorization"] == f"Bearer {other_key}"]
    assert_spaced(shared, per_second=10, count=10)
    # The other key's bucket was idle, so its request did not queue behind the shared one.
    assert len(own) == 1
    assert own[0] - started < 0.3
