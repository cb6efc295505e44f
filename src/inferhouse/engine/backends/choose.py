"""One loader for every embedding model, dedicated endpoint or serverless: torch in the chosen precision,
then, on the CPU, ONNX Runtime when the backend choice and ``use_onnx``'s checks say so."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TypeVar

from inferhouse.engine.backends.base import EmbeddingBackend
from inferhouse.engine.backends.onnx_st import BACKEND_CHOICES, use_onnx
from inferhouse.engine.backends.precision import PRECISION_CHOICES
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from inferhouse.errors import ValidationFailed
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

_Choice = TypeVar("_Choice", bound=str)


def load_embedding_backend(
    path: Path,
    settings: Settings,
    *,
    device: str | None = "cpu",
    backend: str | None = None,
    precision: str | None = None,
    trust_remote_code: bool = False,
) -> EmbeddingBackend:
    """The model at ``path``, ready to serve. ``backend`` and ``precision`` (an endpoint's own choices)
    override the server's settings; ``device`` None lets torch pick (a GPU when there is one)."""
    backend_choice = _one_of("backend", backend or settings.backend, BACKEND_CHOICES)
    precision_choice = _one_of("precision", precision or settings.precision, PRECISION_CHOICES)
    loaded = SentenceTransformerBackend.load(
        path, device, trust_remote_code=trust_remote_code, precision=precision_choice
    )
    if loaded.device != "cpu":
        return _serving(
            loaded, f"torch: ONNX Runtime serves on the CPU only, this model runs on {loaded.device}"
        )
    if loaded.dtype != "float32" and backend_choice != "torch":
        return _serving(loaded, f"torch: ONNX is not used because precision {loaded.dtype} was asked for")
    verdict = use_onnx(
        loaded, path, settings.data_dir / "onnx", choice=backend_choice, threads=settings.torch_threads
    )
    return _serving(verdict.backend, verdict.reason)


def _serving(backend: EmbeddingBackend, reason: str) -> EmbeddingBackend:
    """``backend``, told why it serves (``/api/server`` shows it) and saying so in the log."""
    log.info("backend %s", reason)
    backend.loaded_as = reason
    return backend


def _one_of(name: str, value: str, choices: tuple[_Choice, ...]) -> _Choice:
    """``value`` as one of ``choices``; anything else fails with a message that lists them."""
    for choice in choices:
        if value == choice:
            return choice
    raise ValidationFailed(f"{name} must be one of {', '.join(choices)}, got {value!r}")
