"""inferhouse: self-hosted Hugging Face model serving and vector search."""

from inferhouse.client import Client

__version__ = "0.1.0"

__all__ = ["Client", "__version__"]
