"""Text-to-image through diffusers pipelines (the optional ``inferhouse[image]`` extra)."""

from __future__ import annotations

from inferhouse.engine.images.loading import IMAGE_EXTRA_HINT, load_text_to_image
from inferhouse.engine.images.request import ImageLimits, ImageRequest
from inferhouse.engine.images.text_to_image import GeneratedImage, TextToImage

__all__ = [
    "IMAGE_EXTRA_HINT",
    "GeneratedImage",
    "ImageLimits",
    "ImageRequest",
    "TextToImage",
    "load_text_to_image",
]
