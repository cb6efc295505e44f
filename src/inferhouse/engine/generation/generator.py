"""The asyncio face of a loaded text-generation model: validate, queue, stream tokens back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from inferhouse.engine.generation.chat import render_chat
from inferhouse.engine.generation.contract import (
    GeneratedToken,
    GenerationLimits,
    GenerationParams,
    GenerationResult,
)
from inferhouse.engine.generation.params import plan_request
from inferhouse.engine.generation.scheduler import BatchLoop, Ended, Finished, Job, Rows, Vocabulary
from inferhouse.errors import InferhouseError

# Prompts longer than this are tokenized off the event loop.
_INLINE_TOKENIZE_CHARS = 4096
_Item = GeneratedToken | Finished | Ended | InferhouseError


class TokenStream:
    """One request's tokens as they are decided. After the last token, ``result`` is set; it is set
    already when the last token is yielded, so a dialect can tell the final event apart."""

    def __init__(self, job: Job, queue: asyncio.Queue[_Item]) -> None:
        self._job = job
        self._queue = queue
        self.result: GenerationResult | None = None
        self._done = False

    def __aiter__(self) -> AsyncIterator[GeneratedToken]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[GeneratedToken]:
        if self._done:
            return
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, GeneratedToken):
                    yield item
                elif isinstance(item, Finished):
                    self.result = item.result
                    self._done = True
                    yield item.token
                    return
                elif isinstance(item, Ended):
                    self._done = True
                    return
                else:
                    self._done = True
                    raise item
        finally:
            if not self._done:  # the consumer left early (client gone, task cancelled)
                self.cancel()

    def cancel(self) -> None:
        self._job.cancelled = True


class PromptTokenizer:
    """What the dialects ask of a generator's tokenizer before any work is queued: chat prompts and
    token counts. Wherever the model runs, these answer in the API server's process."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._bos_id: int | None = getattr(tokenizer, "bos_token_id", None)

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def chat_prompt(self, messages: Sequence[Mapping[str, Any]]) -> str:
        return render_chat(self.tokenizer, messages)

    def encode(self, text: str) -> list[int]:
        ids = list(self.tokenizer(text, add_special_tokens=True)["input_ids"])
        # A chat template writes its own BOS; the tokenizer adding another would double it.
        if self._bos_id is not None and len(ids) > 1 and ids[0] == ids[1] == self._bos_id:
            ids = ids[1:]
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))


class TorchTextGenerator(PromptTokenizer):
    """A causal or encoder-decoder model behind a continuous-batching loop (see ``scheduler``)."""

    def __init__(
        self,
        *,
        task: str,
        model_id: str,
        limits: GenerationLimits,
        tokenizer: Any,
        rows: Rows,
        vocabulary: Vocabulary,
        max_batch_size: int,
        model: Any = None,
        close_grace_s: float = 10.0,
    ) -> None:
        super().__init__(tokenizer)
        self.task = task
        self.model_id = model_id
        self.limits = limits
        self.max_batch_size = max_batch_size
        self.model = model
        self.close_grace_s = close_grace_s
        self.loop = BatchLoop(rows, vocabulary, limits, max_batch_size=max_batch_size, name=model_id)

    async def generate(self, prompt: str, params: GenerationParams) -> GenerationResult:
        stream = await self._submit(prompt, params, streamed=False)
        async for _ in stream:
            pass
        if stream.result is None:  # only a cancelled stream ends without a result or an error
            raise asyncio.CancelledError
        return stream.result

    async def stream(self, prompt: str, params: GenerationParams) -> TokenStream:
        return await self._submit(prompt, params, streamed=True)

    async def _submit(self, prompt: str, params: GenerationParams, *, streamed: bool) -> TokenStream:
        if len(prompt) > _INLINE_TOKENIZE_CHARS:
            plan = await asyncio.to_thread(plan_request, prompt, params, self.limits, self.encode)
        else:
            plan = plan_request(prompt, params, self.limits, self.encode)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Item] = asyncio.Queue()

        def sink(item: _Item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the caller's event loop is gone: nobody will read this
                job.cancelled = True

        job = Job(plan=plan, sink=sink, streamed=streamed)
        self.loop.submit(job)
        return TokenStream(job, queue)

    def close(self) -> None:
        self.loop.close(self.close_grace_s)
        self.model = None
