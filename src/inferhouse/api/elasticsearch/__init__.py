"""The Elasticsearch dialect: the ``_inference`` registry and its calls."""

from inferhouse.api.elasticsearch.inference import router as inference_router

__all__ = ["inference_router"]
