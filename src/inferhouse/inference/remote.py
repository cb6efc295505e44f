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


Sending (rate limit, retries, errors) is :mod:`inferhouse.inference.upstream`; reading the replies is
:mod:`inferhouse.inference.replies`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from inferhouse.inference.rate_limit import RateLimiter
from inferhouse.inference.replies import RankedText, ReplyParser
from inferhouse.inference.upstream import DEFAULT_RETRY, ContentTooLarge, RetryPolicy, Upstream

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 20
"""Inputs per upstream embeddings request, as Elasticsearch's ``hugging_face`` service sends."""


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
        retry: RetryPolicy = DEFAULT_RETRY,
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
        self._upstream = Upstream(
            inference_id=inference_id,
            url=url,
            api_key=api_key,
            limiter=limiter,
            http=http,
            retry=retry,
            clock=clock,
            sleep=sleep,
        )
        self._replies = ReplyParser(inference_id, self._upstream.redact)

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
            [self._splitting(batch, self._embeddings_body, self._replies.embeddings) for batch in batches]
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
            return self._replies.rerank(content, batch, return_documents)

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
            content = await self._upstream.send(payload)
        except ContentTooLarge as too_large:
            raise too_large.error from None
        return self._replies.completion(content)

    # -- bodies and batches --------------------------------------------------------------------------

    @staticmethod
    def _embeddings_body(batch: Sequence[str]) -> dict[str, Any]:
        return {"inputs": list(batch)}

    # -- sending -------------------------------------------------------------------------------------

    async def _splitting(
        self,
        batch: Sequence[T],
        body: Callable[[Sequence[T]], dict[str, Any]],
        parse: Callable[[bytes, Sequence[T]], list[R]],
    ) -> list[R]:
        """Send one batch; on 413 send each half on its own, recursively, and join the answers."""
        try:
            content = await self._upstream.send(body(batch))
        except ContentTooLarge as too_large:
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
