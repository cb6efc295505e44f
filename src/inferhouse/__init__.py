"""inferhouse: self-hosted Hugging Face model serving and vector search."""

# First, before any native extension: usearch and onnxruntime/torch must share one C++ runtime.
from inferhouse import _native  # noqa: F401  # isort: skip
from inferhouse.client import Client

__version__ = "0.1.0"

__all__ = ["Client", "__version__"]
