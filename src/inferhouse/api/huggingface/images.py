"""Image replies: the format the caller's ``Accept`` asks for, encoded off the event loop.

``image/png`` (the default, and what ``InferenceClient.text_to_image`` asks for), ``image/jpeg``, or
``application/json`` as ``{"image": "<base64 PNG>", "format": "png", "width", "height", "seed"}``
(plus ``nsfw_content_detected`` when the pipeline has a safety checker). Every image reply carries
the seed that drew it in the ``x-seed`` header: sending it back as ``parameters.seed`` redraws it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
from fastapi import Response

from inferhouse.api.core.responses import json_response
from inferhouse.endpoints.deployment import Deployment
from inferhouse.engine.images import GeneratedImage
from inferhouse.errors import ValidationFailed

SEED_HEADER = "x-seed"
_JPEG_QUALITY = 90


class ImageFormat(Enum):
    PNG = "image/png"
    JPEG = "image/jpeg"
    JSON = "application/json"


# Equally acceptable formats go in this order, except that one the caller named beats a wildcard.
_OFFERED = (ImageFormat.PNG, ImageFormat.JPEG, ImageFormat.JSON)


@dataclass(frozen=True)
class EncodedImage:
    body: bytes
    format: ImageFormat
    seed: int | None


def _ranges(accept: str) -> list[tuple[str, float]]:
    """``accept``'s media ranges with their quality (1 unless ``q=`` says otherwise)."""
    ranges = []
    for part in accept.split(","):
        media, *options = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return ranges


def _match(offer: ImageFormat, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """The quality ``ranges`` give ``offer`` (from its most specific matching range) and that range's
    specificity: 2 for the exact type, 1 for ``type/*``, 0 for ``*/*``, -1 for no match."""
    kind = offer.value.split("/")[0]
    best = (0.0, -1)
    for media, quality in ranges:
        specificity = {offer.value: 2, f"{kind}/*": 1, "*/*": 0}.get(media, -1)
        if specificity > best[1]:
            best = (quality, specificity)
    return best


def negotiate(accept: str | None) -> ImageFormat:
    """The format to answer ``accept`` with; PNG when the header is absent or takes anything."""
    if accept is None or not accept.strip():
        return ImageFormat.PNG
    ranges = _ranges(accept)
    scored = [(_match(offer, ranges), -position, offer) for position, offer in enumerate(_OFFERED)]
    (quality, specificity), _, chosen = max(scored, key=lambda item: (item[0][0], item[0][1] == 2, item[1]))
    if quality <= 0 or specificity < 0:
        offered = ", ".join(offer.value for offer in _OFFERED)
        raise ValidationFailed(
            f"Accept: {accept} names no format this endpoint returns; ask for one of {offered}"
        )
    return chosen


def encode(image: Any, image_format: ImageFormat) -> bytes:
    """``image`` (a PIL image) as PNG or JPEG bytes; JSON carries PNG."""
    buffer = io.BytesIO()
    if image_format is ImageFormat.JPEG:
        image.convert("RGB").save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def encode_reply(reply: Any, image_format: ImageFormat) -> EncodedImage | Any:
    """A task model's reply made ready to send: a generated image encoded; anything else (a custom
    handler's JSON) is returned as it is."""
    if not isinstance(reply, GeneratedImage):
        return reply
    seed = reply.seed
    if image_format is not ImageFormat.JSON:
        return EncodedImage(encode(reply.image, image_format), image_format, seed)
    width, height = reply.image.size
    body: dict[str, Any] = {
        "image": base64.b64encode(encode(reply.image, ImageFormat.PNG)).decode("ascii"),
        "format": "png",
        "width": width,
        "height": height,
        "seed": seed,
    }
    if reply.nsfw_content_detected is not None:
        body["nsfw_content_detected"] = reply.nsfw_content_detected
    return EncodedImage(orjson.dumps(body), image_format, seed)


async def image_reply(deployment: Deployment, raw: Mapping[str, Any], accept: str | None) -> Response:
    """Run ``raw`` on a text-to-image replica and answer in the format ``accept`` asks for."""
    image_format = negotiate(accept)  # before queueing: a format we cannot send fails at once
    reply = await deployment.predict(raw, shape=lambda image: encode_reply(image, image_format))
    if not isinstance(reply, EncodedImage):
        return json_response(reply)
    headers = {SEED_HEADER: str(reply.seed)} if reply.seed is not None else None
    return Response(reply.body, media_type=reply.format.value, headers=headers)
