"""Sending one request body to a ``hugging_face`` upstream: rate limit, retries and the error each
failure becomes.

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

The API key never appears in a message, a log line or a ``repr``; if an upstream echoes it back, it is
masked.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx
import orjson

from inferhouse.errors import UpstreamError, UpstreamRateLimited, UpstreamRejected
from inferhouse.inference.rate_limit import RateLimiter

log = logging.getLogger(__name__)

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


DEFAULT_RETRY = RetryPolicy()
"""The policy used when none is given: Elasticsearch's."""


class ContentTooLarge(Exception):
    """The upstream answered 413; the caller decides whether to split the batch."""

    def __init__(self, error: UpstreamRejected) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class _Failure:
    error: UpstreamError
    retryable: bool
    retry_after: float | None = None


def snippet(text: str, limit: int = MAX_ERROR_TEXT) -> str:
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
        return snippet(text)
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, str) and error:
            return snippet(error)
        if isinstance(error, list) and error and all(isinstance(item, str) for item in error):
            return snippet("; ".join(error))
        if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
            return snippet(error["message"])
        if isinstance(parsed.get("message"), str) and parsed["message"]:
            return snippet(parsed["message"])
    return snippet(text)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # the HTTP-date form is rare from inference servers; the backoff applies instead
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class Upstream:
    """POSTs one inference configuration's bodies to its URL until one succeeds or the retry policy
    gives up. ``clock`` and ``sleep`` drive the backoff and budget; tests swap them for fakes."""

    def __init__(
        self,
        *,
        inference_id: str,
        url: str,
        api_key: str,
        limiter: RateLimiter,
        http: httpx.AsyncClient,
        retry: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.inference_id = inference_id
        self.url = url
        self.limiter = limiter
        self.retry = retry
        self._api_key = api_key
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    async def send(self, payload: Mapping[str, Any]) -> bytes:
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
            raise ContentTooLarge(failure.error)
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
        return self.redact(message)

    def _transport_error(self, exc: Exception) -> UpstreamError:
        # httpx's messages name the failure ("[Errno 111] Connection refused"), never the headers.
        reason = str(exc).strip() or "no details"
        return UpstreamError(
            self.redact(
                f"Http client failed to send request from inference entity id [{self.inference_id}]. "
                f"Error message: [{type(exc).__name__}: {snippet(reason)}]"
            )
        )

    def redact(self, text: str) -> str:
        return text.replace(self._api_key, "[REDACTED]") if self._api_key else text
