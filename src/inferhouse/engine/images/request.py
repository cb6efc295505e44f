"""Reading a text-to-image body: the prompt and ``parameters``, checked against what the pipeline can do.

The body is the Inference API's ``{"inputs": prompt, "parameters": {...}}`` (what
``huggingface_hub.InferenceClient.text_to_image`` sends; it leaves out the options it was not given).
Every problem is a :class:`ValidationFailed` that names the parameter and what it must be.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inferhouse.engine.pipelines.body import split_body
from inferhouse.engine.pipelines.params import Param, check_parameters
from inferhouse.errors import ValidationFailed

TASK = "text-to-image"
MAX_SEED = 2**64 - 1  # torch.Generator.manual_seed takes an unsigned 64-bit seed
# Parameters that go to the pipeline call under their own name (seed and scheduler are handled here).
PIPELINE_PARAMETERS = ("negative_prompt", "height", "width", "num_inference_steps", "guidance_scale")


@dataclass(frozen=True)
class ImageLimits:
    """What one endpoint's pipeline takes: bounds from its env, the rest read from the pipeline."""

    max_side: int  # height and width, in pixels
    max_steps: int
    multiple: int  # height and width must be multiples of this (8 for Stable Diffusion)
    schedulers: tuple[str, ...]  # scheduler class names a request may switch to
    takes: frozenset[str]  # the keyword arguments the pipeline's __call__ accepts
    pipeline: str  # its class name, for messages


@dataclass(frozen=True)
class ImageRequest:
    """One checked request; None leaves the choice to the pipeline (or, for the seed, to chance)."""

    prompt: str
    negative_prompt: str | None = None
    height: int | None = None
    width: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    seed: int | None = None
    scheduler: str | None = None

    def pipeline_arguments(self) -> dict[str, Any]:
        """The pipeline call's keyword arguments for the parameters that were given."""
        given = {name: getattr(self, name) for name in PIPELINE_PARAMETERS}
        return {name: value for name, value in given.items() if value is not None}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _side(limits: ImageLimits) -> Param:
    step, top = limits.multiple, limits.max_side
    return Param(
        f"an integer multiple of {step} from {step} to {top}",
        lambda v: _is_int(v) and step <= v <= top and v % step == 0,
    )


def parameter_spec(limits: ImageLimits) -> dict[str, Param]:
    """What each parameter accepts under ``limits``."""
    steps = limits.max_steps
    schedulers = limits.schedulers
    return {
        "negative_prompt": Param("a string", lambda v: isinstance(v, str)),
        "height": _side(limits),
        "width": _side(limits),
        "num_inference_steps": Param(
            f"an integer from 1 to {steps}", lambda v: _is_int(v) and 1 <= v <= steps
        ),
        "guidance_scale": Param(
            "a finite number of at least 0", lambda v: _is_number(v) and v >= 0, convert=float
        ),
        "seed": Param(f"an integer from 0 to {MAX_SEED}", lambda v: _is_int(v) and 0 <= v <= MAX_SEED),
        "scheduler": Param(
            "one of " + (", ".join(schedulers) or "(none: this pipeline's scheduler cannot be switched)"),
            lambda v: isinstance(v, str) and v in schedulers,
        ),
    }


def parse_request(body: Mapping[str, Any], limits: ImageLimits) -> ImageRequest:
    """The checked request in ``body``; raises :class:`ValidationFailed` saying what to fix."""
    inputs, parameters = split_body(body, TASK, "a string (the prompt)")
    if not isinstance(inputs, str):
        raise ValidationFailed(f"Task {TASK} takes inputs as a string (the prompt), not a {_kind(inputs)}")
    if not inputs.strip():
        raise ValidationFailed(f"Task {TASK} got an empty prompt; send the text to draw as inputs")
    checked = check_parameters(TASK, parameters, parameter_spec(limits))
    for name in PIPELINE_PARAMETERS:
        if name in checked and name not in limits.takes:
            raise ValidationFailed(f"This endpoint's pipeline ({limits.pipeline}) takes no parameter {name}")
    return ImageRequest(prompt=inputs, **checked)


def _kind(value: Any) -> str:
    names = {list: "list", dict: "object", bool: "boolean", int: "number", float: "number"}
    return names.get(type(value), type(value).__name__)
