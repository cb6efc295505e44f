"""Hugging Face's embedding-family dialects: the Inference API and Endpoints, TEI, and OpenAI embeddings.

OpenAI's ``/v1/embeddings`` sits here, not with generation: it shares TEI's reply shape and embedders.
"""

from inferhouse.api.huggingface.fast_lane import EmbedFastLane
from inferhouse.api.huggingface.hf import endpoint_router as hf_endpoint_router
from inferhouse.api.huggingface.hf import router as hf_router
from inferhouse.api.huggingface.openai_embeddings import router as openai_embeddings_router
from inferhouse.api.huggingface.tei import openai_router as tei_openai_router
from inferhouse.api.huggingface.tei import router as tei_router

__all__ = [
    "EmbedFastLane",
    "hf_endpoint_router",
    "hf_router",
    "openai_embeddings_router",
    "tei_openai_router",
    "tei_router",
]
