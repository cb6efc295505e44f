"""inferhouse: self-hosted Hugging Face model serving and vector search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# First, before any native extension: usearch and onnxruntime/torch must share one C++ runtime.
from inferhouse import _native  # noqa: F401  # isort: skip
from inferhouse._version import __version__

if TYPE_CHECKING:
    from inferhouse.client import Client

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    # The SDK loads on first use of ``inferhouse.Client``, so the server never imports it.
    if name == "Client":
        from inferhouse.client import Client

        return Client
    raise AttributeError(f"module 'inferhouse' has no attribute {name!r}")
