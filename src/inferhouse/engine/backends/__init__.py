"""Model backends behind one contract, so the batcher and the API never see torch or ONNX directly."""

from inferhouse.engine.backends.base import EmbeddingBackend, TokenizedText

__all__ = ["EmbeddingBackend", "TokenizedText"]
