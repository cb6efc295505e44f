"""The OpenAI embeddings request and reply, shared by TEI's ``/v1/embeddings`` and the root route."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field, WithJsonSchema

from inferhouse.api.core.json_types import Integer
from inferhouse.errors import ValidationFailed


class OpenAIEmbeddingRequest(BaseModel):
    # Token arrays are parsed only to be refused with a clear message, so the document leaves them out.
    input: Annotated[
        str | list[str] | list[int] | list[list[int]],
        # An empty list is refused as empty (400), as TEI does.
        WithJsonSchema(
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
        ),
    ]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Integer | None = Field(None, ge=1)
    user: str | None = None

    def texts(self) -> str | list[str]:
        if isinstance(self.input, str):
            return self.input
        if any(not isinstance(item, str) for item in self.input):
            raise ValidationFailed(
                "input must be a string or a list of strings; token arrays are not accepted "
                "because their ids belong to another tokenizer"
            )
        return [str(item) for item in self.input]


def openai_embeddings_reply(
    vectors: npt.NDArray[np.float32], model: str, prompt_tokens: int, encoding_format: str
) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    for index, vector in enumerate(vectors):
        embedding: Any = (
            base64.b64encode(vector.astype("<f4").tobytes()).decode()
            if encoding_format == "base64"
            else vector
        )
        data.append({"object": "embedding", "embedding": embedding, "index": index})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


class OpenAIEmbeddingCall(OpenAIEmbeddingRequest):
    """The root ``/v1/embeddings`` body, as documented: it needs ``model`` to know what embeds."""

    model: str = Field(min_length=1)
