"""Choosing an image reply's format from the request's Accept header."""

from __future__ import annotations

import pytest

from inferhouse.api.huggingface.images import ImageFormat, negotiate
from inferhouse.errors import ValidationFailed


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, ImageFormat.PNG),
        ("", ImageFormat.PNG),
        ("*/*", ImageFormat.PNG),
        ("image/*", ImageFormat.PNG),
        ("image/png", ImageFormat.PNG),  # what InferenceClient.text_to_image sends
        ("image/jpeg", ImageFormat.JPEG),
        ("IMAGE/JPEG", ImageFormat.JPEG),
        ("application/json", ImageFormat.JSON),
        # A type the caller names beats one that only a wildcard covers at the same quality.
        ("application/json, text/plain, */*", ImageFormat.JSON),
        ("image/png;q=0.4, image/jpeg;q=0.5", ImageFormat.JPEG),
        ("image/png;q=0, */*", ImageFormat.JPEG),
        ("text/html, image/webp, */*;q=0.8", ImageFormat.PNG),
        ("image/jpeg; q=0.9, application/json; q=1", ImageFormat.JSON),
    ],
)
def test_negotiate(accept: str | None, expected: ImageFormat) -> None:
    assert negotiate(accept) is expected


@pytest.mark.parametrize(
    "accept", ["image/webp", "text/plain", "image/png;q=0", "image/*;q=0, application/json;q=0"]
)
def test_nothing_acceptable_is_refused(accept: str) -> None:
    with pytest.raises(ValidationFailed, match="ask for one of image/png, image/jpeg, application/json"):
        negotiate(accept)
