"""The text-to-image task model: a loaded diffusers pipeline behind the Inference API body.

It answers with a :class:`GeneratedImage` (a PIL image and the seed that drew it), not JSON: the HTTP
dialect encodes it in the format the caller's ``Accept`` asks for. Like every task model it is called
from one replica thread at a time, which is what makes switching its scheduler for one request safe.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from inferhouse.engine.images.request import TASK, ImageLimits, ImageRequest, parse_request
from inferhouse.errors import OutOfMemory, ValidationFailed

# Seeds drawn for requests that bring none stay within what every JSON reader holds exactly.
_DRAWN_SEED_BITS = 52


@dataclass(frozen=True)
class GeneratedImage:
    image: Any  # a PIL.Image.Image
    seed: int | None  # asked for, or drawn: sending it back gives the same image (None: not known)
    # The pipeline's safety checker flagged (and blanked) the image; None when it has no checker.
    nsfw_content_detected: bool | None = None


class TextToImage:
    """One replica of a text-to-image pipeline; see :mod:`inferhouse.engine.images.request` for the body."""

    task = TASK

    def __init__(self, pipeline: Any, limits: ImageLimits, scheduler_classes: Mapping[str, Any]) -> None:
        self.limits = limits
        self._pipeline = pipeline
        self._default_scheduler = pipeline.scheduler
        self._scheduler_classes = dict(scheduler_classes)
        self._schedulers: dict[str, Any] = {}

    def __call__(self, body: Mapping[str, Any]) -> GeneratedImage:
        return self.generate(parse_request(body, self.limits))

    def generate(self, request: ImageRequest) -> GeneratedImage:
        import torch

        seed = request.seed if request.seed is not None else secrets.randbits(_DRAWN_SEED_BITS)
        # A CPU generator draws the same starting noise whatever device the pipeline runs on.
        generator = torch.Generator("cpu").manual_seed(seed)
        arguments = request.pipeline_arguments()
        try:
            with self._scheduler(request.scheduler):
                output = self._pipeline(
                    prompt=request.prompt, generator=generator, output_type="pil", **arguments
                )
        except torch.OutOfMemoryError:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise OutOfMemory(
                "Out of memory while generating this image; ask for a smaller height and width"
            ) from None
        except ValueError as error:  # diffusers' own input checks (check_inputs) raise ValueError
            raise ValidationFailed(f"The pipeline refused the request: {error}") from None
        flags = getattr(output, "nsfw_content_detected", None)
        flagged = bool(flags[0]) if isinstance(flags, list) and flags and flags[0] is not None else None
        return GeneratedImage(output.images[0], seed, flagged)

    @contextmanager
    def _scheduler(self, name: str | None) -> Iterator[None]:
        """Run with scheduler ``name`` (built once from the pipeline's own scheduler config), then put the
        pipeline's scheduler back."""
        if name is None or name == type(self._default_scheduler).__name__:
            yield
            return
        scheduler = self._schedulers.get(name)
        if scheduler is None:
            scheduler = self._scheduler_classes[name].from_config(self._default_scheduler.config)
            self._schedulers[name] = scheduler
        self._pipeline.scheduler = scheduler
        try:
            yield
        finally:
            self._pipeline.scheduler = self._default_scheduler
