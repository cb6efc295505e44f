"""Loading a diffusers pipeline directory as a text-to-image task model, read from disk only."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inferhouse.engine.images.request import ImageLimits
from inferhouse.engine.images.text_to_image import TextToImage
from inferhouse.engine.pipelines.fit import model_label
from inferhouse.errors import BackendFailure, TaskMismatch, ValidationFailed

IMAGE_EXTRA_HINT = "pip install 'inferhouse[image]'"
MAX_IMAGE_SIZE_ENV = "INFERHOUSE_MAX_IMAGE_SIZE"
MAX_STEPS_ENV = "INFERHOUSE_MAX_INFERENCE_STEPS"
DEFAULT_MAX_IMAGE_SIZE = 2048
DEFAULT_MAX_STEPS = 200
PRECISIONS = ("auto", "float32", "float16", "bfloat16")
# Stable Diffusion's pipelines refuse a height or width that is not a multiple of 8.
_MIN_MULTIPLE = 8


def import_diffusers() -> Any:
    """The ``diffusers`` module, or a failure that says how to install it."""
    try:
        import diffusers
    except ImportError as error:
        raise BackendFailure(
            f"Task text-to-image needs the diffusers library, which could not be imported ({error}); "
            f"install the image extra: {IMAGE_EXTRA_HINT}"
        ) from None
    return diffusers


def load_text_to_image(
    path: Path,
    *,
    device: str = "cpu",
    precision: str | None = None,
    env: Mapping[str, str] | None = None,
    trust_remote_code: bool = False,
) -> TextToImage:
    """The diffusers pipeline at ``path`` (a directory with ``model_index.json``) on ``device``.

    ``precision`` (``auto`` by default: float32 on a CPU, bfloat16 or else float16 on a GPU) picks the
    weights' dtype; ``env`` may bound requests with ``INFERHOUSE_MAX_IMAGE_SIZE`` (pixels per side) and
    ``INFERHOUSE_MAX_INFERENCE_STEPS``. The pipeline's safety checker, if it has one, is left as it is.
    """
    env = env or {}
    max_side = _positive(env, MAX_IMAGE_SIZE_ENV, DEFAULT_MAX_IMAGE_SIZE)
    max_steps = _positive(env, MAX_STEPS_ENV, DEFAULT_MAX_STEPS)
    if not (path / "model_index.json").is_file():
        raise TaskMismatch(
            f"Task text-to-image needs a diffusers pipeline directory (with model_index.json); "
            f"{model_label(path)} has none"
        )
    diffusers = import_diffusers()
    dtype = _dtype(device, precision)
    _quiet_progress_bars(diffusers)
    # Asked only when on: diffusers versions before the option would pass it to the pipeline as unexpected.
    remote = {"trust_remote_code": True} if trust_remote_code else {}
    try:
        with warnings.catch_warnings():
            # diffusers renamed torch_dtype to dtype only lately; the old name works in every version.
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            pipeline = diffusers.DiffusionPipeline.from_pretrained(
                str(path), local_files_only=True, torch_dtype=dtype, **remote
            )
    except (OSError, ValueError, ImportError) as error:
        raise BackendFailure(
            f"Could not load the diffusers pipeline at {model_label(path)}: {error}"[:800]
        ) from None
    pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    takes = frozenset(inspect.signature(pipeline.__call__).parameters)
    if "prompt" not in takes or not hasattr(pipeline, "scheduler"):
        raise TaskMismatch(
            f"The pipeline at {model_label(path)} ({type(pipeline).__name__}) does not draw images from a "
            "prompt; task text-to-image needs a text-to-image pipeline"
        )
    schedulers = _scheduler_classes(pipeline.scheduler)
    factor = getattr(pipeline, "vae_scale_factor", None)
    limits = ImageLimits(
        max_side=max_side,
        max_steps=max_steps,
        multiple=max(_MIN_MULTIPLE, factor) if isinstance(factor, int) else _MIN_MULTIPLE,
        schedulers=tuple(sorted(schedulers)),
        takes=takes,
        pipeline=type(pipeline).__name__,
    )
    return TextToImage(pipeline, limits, schedulers)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValidationFailed(f"{name} must be a positive integer, got {raw!r}")
    return value


def _dtype(device: str, precision: str | None) -> Any:
    import torch

    chosen = (precision or "auto").lower()
    if chosen not in PRECISIONS:
        raise ValidationFailed(
            f"INFERHOUSE_PRECISION must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        )
    if chosen == "auto":
        if device == "cpu":
            return torch.float32
        # bfloat16 has float32's range, so a VAE cannot overflow to a black image the way float16 can.
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, chosen)


def _scheduler_classes(scheduler: Any) -> dict[str, Any]:
    """Scheduler classes that can stand in for ``scheduler``, by class name. diffusers lists some whose
    own dependency is missing as placeholder classes; those are left out."""
    classes = [type(scheduler), *getattr(scheduler, "compatibles", [])]
    return {cls.__name__: cls for cls in classes if ".dummy_" not in cls.__module__}


def _quiet_progress_bars(diffusers: Any) -> None:
    # Loading and every generation would otherwise draw progress bars in the server log.
    diffusers.utils.logging.disable_progress_bar()
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:
        return
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
