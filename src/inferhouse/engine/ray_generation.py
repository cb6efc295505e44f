"""A text generator whose model runs in a Ray Serve replica: the :class:`TextGenerator` contract over a
:class:`~inferhouse.engine.ray_runtime.RayRuntime`.

The replica holds the whole continuous-batching generator, so concurrent requests routed to it share
decoding steps as they do in-process. What the dialects ask before queueing (chat prompts, token counts)
is answered here, by the model's tokenizer loaded in the API server, since those calls are synchronous.
Validation and a full queue still fail before the first token: a stream's first message from the
replica says whether it was accepted, so a streaming route can answer with a JSON error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from inferhouse.engine.generation.contract import (
    GeneratedToken,
    GenerationLimits,
    GenerationParams,
    GenerationResult,
)
from inferhouse.engine.generation.generator import PromptTokenizer
from inferhouse.engine.ray_replica import Outcome
from inferhouse.engine.ray_runtime import RayRuntime
from inferhouse.errors import InferhouseError


class RayTokenStream:
    """Tokens streamed from a replica; ``result`` is set when the last token arrives."""

    def __init__(self, responses: Any, runtime: RayRuntime[Any]) -> None:
        self._responses = responses
        self._runtime = runtime
        self._released = False
        self.result: GenerationResult | None = None

    def __aiter__(self) -> AsyncIterator[GeneratedToken]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[GeneratedToken]:
        finished = False
        try:
            async for item in self._responses:
                if isinstance(item, Outcome):  # the model failed mid-stream
                    finished = True
                    item.unwrap()
                    continue
                token, result = item
                self.result = result
                yield token
            finished = True
        except InferhouseError:
            finished = True
            raise
        except Exception as error:  # the replica went away
            finished = True
            raise self._runtime.lost(error) from error
        finally:
            if not finished:  # the consumer left early: the replica drops the sequence
                self.cancel()
            self._release()

    def cancel(self) -> None:
        self._responses.cancel()
        self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._runtime.release(1)


class RayTextGenerator(PromptTokenizer):
    """A ``text-generation`` or ``text2text-generation`` model served by a Ray Serve replica."""

    def __init__(
        self, runtime: RayRuntime[Any], tokenizer: Any, *, task: str, model_id: str, limits: GenerationLimits
    ) -> None:
        super().__init__(tokenizer)
        self.runtime = runtime
        self.task = task
        self.model_id = model_id
        self.limits = limits

    async def generate(self, prompt: str, params: GenerationParams) -> GenerationResult:
        handle = self.runtime.admit(1)
        try:
            response = handle.generate.remote(prompt, params)
            try:
                outcome: Outcome = await response
            except asyncio.CancelledError:  # the caller went: so does the sequence
                response.cancel()
                raise
        except InferhouseError:
            raise
        except Exception as error:
            raise self.runtime.lost(error) from error
        finally:
            self.runtime.release(1)
        result: GenerationResult = outcome.unwrap()
        return result

    async def stream(self, prompt: str, params: GenerationParams) -> RayTokenStream:
        handle = self.runtime.admit(1)
        responses = handle.options(stream=True).stream.remote(prompt, params)
        accepted = False
        try:
            first: Outcome = await responses.__anext__()
            first.unwrap()
            accepted = True
        except InferhouseError:
            raise
        except Exception as error:
            raise self.runtime.lost(error) from error
        finally:
            if not accepted:
                responses.cancel()
                self.runtime.release(1)
        return RayTokenStream(responses, self.runtime)

    def close(self) -> None:
        self.runtime.stop()
