"""The ``hugging_face`` service: calls a remote Hugging Face-compatible URL for one inference configuration.

Wire behaviour follows Elasticsearch's ``hugging_face`` inference service:

* Embeddings: ``POST url`` with ``{"inputs": [...]}``, at most ``max_batch`` (20) inputs per request;
  larger lists are split and the batches sent concurrently. The reply is ``[[...], ...]`` or
  ``{"embeddings": [[...], ...]}`` with one vector per input, all of one length.
* Rerank: ``POST url`` with text-embeddings-inference's ``{"query", "texts", "return_text", "top_n"}``;
  the reply is a list of ``{"index", "score", "text"?}``.
* Chat completion: ``POST url`` (as configured, for example ``.../v1/chat/completions``; Elasticsearch
  does not append a path either) with an OpenAI chat-completions body; the text is
  ``choices[0].message.content``.

Every request, retries included, first waits for the (url, api_key) pair's :class:`RateLimiter`.

Status handling, as in Elasticsearch's ``HuggingFaceResponseHandler``:

* 429, 502, 503 and transport failures (refused or reset connections, timeouts) are retried. As in
  Elasticsearch, all three statuses are reported as "a rate limit status code": Hugging Face answers
  503 while a model loads or is overloaded. A 429 that persists is :class:`UpstreamRateLimited`; a
  502 or 503 that persists, or a transport failure, is a plain :class:`UpstreamError`.
* 413 means the batch is too large: it is split in half and each half sent on its own, down to a
  single input; a single input that still gets 413 is an error.
* Other 5xx (500, 504, ...) are not retried. Elasticsearch does not retry them either: a 500 from a
  model server is almost always the input or the model failing the same way again, and a 504 means
  the request already used up the gateway's patience, so repeating it would mostly burn the budget.
* 401 and every other 4xx fail at once with the upstream's status.

A 2xx whose body is not what the task needs is :class:`UpstreamMalformed` and is not retried (newer
Elasticsearch versions skip retrying on parse failures too). Error messages use Elasticsearch's
sentences and carry the upstream's own message. The API key never appears in a message, a log line
or a ``repr``; if an upstream echoes it back, it is masked.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeGuard, TypeVar

import httpx
import orjson

from inferhouse.errors import (
    UpstreamError,
    UpstreamMalformed,
    UpstreamRateLimited,
    UpstreamRejected,
)
from inferhouse.inference.rate_limit import RateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 20
"""Inputs per upstream embeddings request, as Elasticsearch's ``hugging_face`` service sends."""

MAX_ERROR_TEXT = 500
"""Characters of an upstream's raw error body that are kept in our message."""

RETRIED_STATUSES = frozenset({429, 502, 503})

# The opening words of Elasticsearch's messages (BaseResponseHandler); the rest of the sentence is
# "for request from inference entity id [<id>] status [<status>]. Error message: [<upstream message>]".
SERVER_ERROR = "Received a server error status code"
RATE_LIMIT = "Received a rate limit status code"
AUTHENTICATION = "Received an authentication error status code"
REDIRECTION = "Unhandled redirection"
CONTENT_TOO_LARGE = "Received a content too large status code"
UNSUCCESSFUL = "Received an unsuccessful status code"


def new_http_client(
    *, timeout: float = 30.0, connect_timeout: float = 10.0, trust_env: bool = True
) -> httpx.AsyncClient:
    """The pooled client that the remote services of one process share.

    Redirects are not followed: a configured inference URL that redirects is a configuration mistake,
    reported as such, and following it could send the API key to another host.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        follow_redirects=False,
        trust_env=trust_env,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one upstream request.

    ``max_tries`` counts the first try. The delay before retry ``n`` (1-based) is
    ``min(initial_delay * 2 ** (n - 1), max_delay)``, or the upstream's ``Retry-After`` when that is
    longer. No retry is started whose delay would end past ``budget`` seconds after the first try
    began; the last failure is raised instead. The defaults are Elasticsearch's: three tries, a first
    delay of 1 s, delays bounded by 5 s and a 30 s budget.
    """

    max_tries: int = 3
    initial_delay: float = 1.0
    max_delay: float = 5.0
    budget: float = 30.0

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.budget < 0:
            raise ValueError("delays and budget must not be negative")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        return min(self.initial_delay * 2.0 ** (retry - 1), self.max_delay)


@dataclass(frozen=True, slots=True)
class RankedText:
    """One reranked input: its position in the request, its score and, when asked for, its text."""

    index: int
    score: float
    text: str | None = None


class _ContentTooLarge(Exception):
    """The upstream answered 413; the caller decides whether to split the batch."""

    def __init__(self, error: UpstreamRejected) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class _Failure:
    error: UpstreamError
    retryable: bool
    retry_after: float | None = None


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(key) for key in value)[:10])
        return f"an object with fields [{keys}]"
    return type(value).__name__


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _snippet(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."


def upstream_message(body: bytes) -> str | None:
    """The upstream's own error message, from the shapes the common servers use.

    ``{"error": "..."}`` (Hugging Face, text-embeddings-inference), ``{"error": {"message": ...}}``
    (OpenAI and servers copying it), ``{"message": ...}``; otherwise the raw body, cut to about 500
    characters. ``None`` for an empty body.
    """
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _snippet(text)
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, str) and error:
            return _snippet(error)
        if isinstance(error, list) and error and all(isinstance(item, str) for item in error):
            return _snippet("; ".join(error))
        if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
            return _snippet(error["message"])
        if isinstance(parsed.get("message"), str) and parsed["message"]:
            return _snippet(parsed["message"])
    return _snippet(text)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # the HTTP-date form is rare from inference servers; the backoff applies instead
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


async def _gather_or_cancel(awaitables: Sequence[Awaitable[T]]) -> list[T]:
    """Run all, keep the order; on the first failure cancel the rest and raise that failure."""
    if len(awaitables) == 1:
        return [await awaitables[0]]
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class HuggingFaceRemote:
    """Sends one ``hugging_face`` inference configuration's requests to its URL.

    ``limiter`` is the bucket shared by every configuration with the same (url, api_key), from
    :meth:`RateLimiters.for_key`; ``http`` is the process's shared client from :func:`new_http_client`.
    ``model`` is the configuration's ``model_id``, sent as the chat-completions ``model``. ``clock``
    and ``sleep`` drive the retry backoff and budget; tests swap them for fakes.
    """

    def __init__(
        self,
        *,
        inference_id: str,
        url: str,
        api_key: str,
        limiter: RateLimiter,
        http: httpx.AsyncClient,
        retry: RetryPolicy = RetryPolicy(),
        max_batch: int = MAX_BATCH,
        model: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.inference_id = inference_id
        self.url = url
        self.limiter = limiter
        self.retry = retry
        self.max_batch = max_batch
        self.model = model
        self._api_key = api_key
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        # The query string is left out too: some gateways take credentials there.
        return (
            f"HuggingFaceRemote(inference_id={self.inference_id!r}, url={self.url.split('?', 1)[0]!r}, "
            f"max_batch={self.max_batch})"
        )

    # -- tasks ---------------------------------------------------------------------------------------

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in the order given, however many upstream requests that takes."""
        items = list(texts)
        batches = [items[start : start + self.max_batch] for start in range(0, len(items), self.max_batch)]
        results = await _gather_or_cancel(
            [self._splitting(batch, self._embeddings_body, self._parse_embeddings) for batch in batches]
        )
        return [vector for batch in results for vector in batch]

    async def rerank(
        self, query: str, texts: Sequence[str], top_n: int | None = None, return_documents: bool = False
    ) -> list[RankedText]:
        """The texts scored against ``query``, best first; only the ``top_n`` best when it is given.

        More than ``max_batch`` texts are scored in several requests; a cross-encoder scores each
        (query, text) pair on its own, so the merged list ranks the same as one request would.
        """
        if top_n is not None and top_n < 1:
            raise ValueError("top_n must be at least 1")
        items = list(enumerate(texts))
        batches = [items[start : start + self.max_batch] for start in range(0, len(items), self.max_batch)]

        def body(batch: Sequence[tuple[int, str]]) -> dict[str, Any]:
            payload: dict[str, Any] = {
                "query": query,
                "texts": [text for _, text in batch],
                "return_text": return_documents,
            }
            if top_n is not None:
                payload["top_n"] = min(top_n, len(batch))
            return payload

        def parse(content: bytes, batch: Sequence[tuple[int, str]]) -> list[RankedText]:
            return self._parse_rerank(content, batch, return_documents)

        results = await _gather_or_cancel([self._splitting(batch, body, parse) for batch in batches])
        ranked = sorted(
            (item for batch in results for item in batch), key=lambda item: (-item.score, item.index)
        )
        return ranked if top_n is None else ranked[:top_n]

    async def complete(self, messages: Sequence[Mapping[str, Any]], **parameters: Any) -> str:
        """The assistant's reply to ``messages``.

        ``parameters`` (``max_tokens``, ``temperature``, ...) go into the body as they are; a
        ``model`` among them wins over the configured one. Without either the body says ``"tgi"``,
        the placeholder text-generation-inference expects for the one model it serves.
        """
        if parameters.get("stream"):
            raise ValueError("streaming is not supported here; leave stream unset")
        payload: dict[str, Any] = {
            "model": self.model or "tgi",
            **parameters,
            "messages": [dict(message) for message in messages],
        }
        payload["stream"] = False
        try:
            content = await self._send(payload)
        except _ContentTooLarge as too_large:
            raise too_large.error from None
        return self._parse_completion(content)

    # -- bodies and replies --------------------------------------------------------------------------

    @staticmethod
    def _embeddings_body(batch: Sequence[str]) -> dict[str, Any]:
        return {"inputs": list(batch)}

    def _malformed(self, task: str, problem: str) -> UpstreamMalformed:
        return UpstreamMalformed(
            self._redact(
                f"Failed to parse the Hugging Face {task} response for request from inference entity id "
                f"[{self.inference_id}]: {problem}"
            )
        )

    def _load(self, content: bytes, task: str) -> Any:
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            text = content.decode("utf-8", errors="replace")
            received = f"[{_snippet(text, 200)}]" if text.strip() else "an empty body"
            raise self._malformed(task, f"expected JSON but received {received}") from None

    def _parse_embeddings(self, content: bytes, batch: Sequence[str]) -> list[list[float]]:
        task = "embeddings"
        parsed = self._load(content, task)
        if isinstance(parsed, dict):
            if "embeddings" not in parsed:
                raise self._malformed(
                    task,
                    f"Failed to find required field [embeddings]; received {_type_name(parsed)}",
                )
            parsed = parsed["embeddings"]
        if not isinstance(parsed, list):
            raise self._malformed(
                task,
                "expected an array with one embedding (an array of numbers) per input, or an object with "
                f"an [embeddings] field, but received {_type_name(parsed)}",
            )
        vectors: list[list[float]] = []
        for position, entry in enumerate(parsed):
            if not isinstance(entry, list):
                what = "an array of numbers (a single embedding)" if _is_number(entry) else _type_name(entry)
                raise self._malformed(
                    task,
                    f"expected an array of embeddings (one array of numbers per input) but entry "
                    f"{position} is {what}",
                )
            if entry and all(isinstance(value, list) for value in entry):
                raise self._malformed(
                    task,
                    f"expected one embedding (an array of numbers) per input but entry {position} is an "
                    "array of arrays, which looks like one embedding per token; configure the upstream to "
                    "return pooled sentence embeddings",
                )
            if not entry:
                raise self._malformed(task, f"embedding {position} is empty")
            for value in entry:
                if not _is_number(value):
                    raise self._malformed(
                        task, f"embedding {position} holds {_type_name(value)} where numbers are expected"
                    )
            vectors.append([float(value) for value in entry])
        if len(vectors) != len(batch):
            raise self._malformed(
                task, f"expected {len(batch)} embeddings (one per input) but received {len(vectors)}"
            )
        dimensions = len(vectors[0]) if vectors else 0
        for position, vector in enumerate(vectors):
            if len(vector) != dimensions:
                raise self._malformed(
                    task,
                    f"embeddings have different lengths: embedding 0 has {dimensions} values but "
                    f"embedding {position} has {len(vector)}",
                )
        return vectors

    def _parse_rerank(
        self, content: bytes, batch: Sequence[tuple[int, str]], return_documents: bool
    ) -> list[RankedText]:
        task = "rerank"
        parsed = self._load(content, task)
        if not isinstance(parsed, list):
            raise self._malformed(
                task, f"expected an array of {{index, score}} objects but received {_type_name(parsed)}"
            )
        ranked: list[RankedText] = []
        seen: set[int] = set()
        for position, entry in enumerate(parsed):
            if not isinstance(entry, dict):
                raise self._malformed(
                    task,
                    f"expected an array of {{index, score}} objects but entry {position} is "
                    f"{_type_name(entry)}",
                )
            index = entry.get("index")
            score = entry.get("score", entry.get("relevance_score"))
            if not isinstance(index, int) or isinstance(index, bool):
                raise self._malformed(task, f"entry {position} has no integer [index]")
            if not _is_number(score):
                raise self._malformed(task, f"entry {position} has no numeric [score]")
            if not 0 <= index < len(batch):
                raise self._malformed(
                    task, f"entry {position} has index [{index}] but the request held {len(batch)} texts"
                )
            if index in seen:
                raise self._malformed(task, f"index [{index}] appears more than once")
            seen.add(index)
            original, text = batch[index]
            if return_documents:
                returned = entry.get("text")
                text = returned if isinstance(returned, str) else text
                ranked.append(RankedText(original, float(score), text))
            else:
                ranked.append(RankedText(original, float(score)))
        return ranked

    def _parse_completion(self, content: bytes) -> str:
        task = "chat completion"
        parsed = self._load(content, task)
        choices = parsed.get("choices") if isinstance(parsed, dict) else None
        if not isinstance(choices, list) or not choices:
            raise self._malformed(
                task, f"Failed to find required field [choices]; received {_type_name(parsed)}"
            )
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(text, str):
            raise self._malformed(
                task, f"choices[0].message.content should be a string but is {_type_name(text)}"
            )
        return text

    # -- sending -------------------------------------------------------------------------------------

    async def _splitting(
        self,
        batch: Sequence[T],
        body: Callable[[Sequence[T]], dict[str, Any]],
        parse: Callable[[bytes, Sequence[T]], list[R]],
    ) -> list[R]:
        """Send one batch; on 413 send each half on its own, recursively, and join the answers."""
        try:
            content = await self._send(body(batch))
        except _ContentTooLarge as too_large:
            if len(batch) <= 1:
                raise too_large.error from None
            half = (len(batch) + 1) // 2
            log.info(
                "inference [%s]: upstream answered 413 for %d inputs; sending them as %d and %d",
                self.inference_id,
                len(batch),
                half,
                len(batch) - half,
            )
            halves = await _gather_or_cancel(
                [self._splitting(batch[:half], body, parse), self._splitting(batch[half:], body, parse)]
            )
            return halves[0] + halves[1]
        return parse(content, batch)

    async def _send(self, payload: Mapping[str, Any]) -> bytes:
        """POST ``payload`` until it succeeds or the retry policy gives up; the 2xx body on success."""
        data = orjson.dumps(payload)
        started = self._clock()
        tries = 0
        while True:
            tries += 1
            await self.limiter.acquire()
            try:
                response = await self._http.post(self.url, content=data, headers=self._headers)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = _Failure(self._transport_error(exc), retryable=True)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise self._transport_error(exc) from exc
            else:
                if response.is_success:
                    return response.content
                failure = self._status_failure(response)

            delay = self.retry.delay(tries)
            if failure.retry_after is not None:
                delay = max(delay, failure.retry_after)
            elapsed = self._clock() - started
            if not failure.retryable or tries >= self.retry.max_tries or elapsed + delay > self.retry.budget:
                self._give_up(failure)
            log.warning(
                "inference [%s]: try %d of %d failed (%s); retrying in %.2fs",
                self.inference_id,
                tries,
                self.retry.max_tries,
                failure.error.message,
                delay,
            )
            await self._sleep(delay)

    @staticmethod
    def _give_up(failure: _Failure) -> NoReturn:
        if isinstance(failure.error, UpstreamRejected) and failure.error.status_code == 413:
            raise _ContentTooLarge(failure.error)
        raise failure.error

    def _status_failure(self, response: httpx.Response) -> _Failure:
        status = response.status_code
        detail = upstream_message(response.content)
        if status in RETRIED_STATUSES:
            message = self._message(RATE_LIMIT, status, detail)
            error: UpstreamError = UpstreamRateLimited(message) if status == 429 else UpstreamError(message)
            return _Failure(error, retryable=True, retry_after=_retry_after(response))
        if status >= 500:
            return _Failure(UpstreamError(self._message(SERVER_ERROR, status, detail)), retryable=False)
        if status == 413:
            return _Failure(UpstreamRejected(self._message(CONTENT_TOO_LARGE, status, detail), 413), False)
        if status == 401:
            return _Failure(UpstreamRejected(self._message(AUTHENTICATION, status, detail), 401), False)
        if 400 <= status < 500:
            return _Failure(UpstreamRejected(self._message(UNSUCCESSFUL, status, detail), status), False)
        # 1xx and 3xx: nothing we can use, and not the caller's fault, so a plain 502.
        opening = REDIRECTION if 300 <= status < 400 else UNSUCCESSFUL
        return _Failure(UpstreamError(self._message(opening, status, detail)), retryable=False)

    def _message(self, opening: str, status: int, detail: str | None) -> str:
        message = f"{opening} for request from inference entity id [{self.inference_id}] status [{status}]"
        if detail:
            message += f". Error message: [{detail}]"
        return self._redact(message)

    def _transport_error(self, exc: Exception) -> UpstreamError:
        # httpx's messages name the failure ("[Errno 111] Connection refused"), never the headers.
        reason = str(exc).strip() or "no details"
        return UpstreamError(
            self._redact(
                f"Http client failed to send request from inference entity id [{self.inference_id}]. "
                f"Error message: [{type(exc).__name__}: {_snippet(reason)}]"
            )
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[REDACTED]") if self._api_key else text
