"""Request bodies shared by the Hugging Face-style dialects (serverless, endpoints, TEI)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from inferhouse.api.core.headers import RequestOptions
from inferhouse.api.core.json_types import Flag, Integer
from inferhouse.engine.embedder import EmbedOptions
from inferhouse.errors import EmptyInput, TooManyInputs, ValidationFailed

# A list of texts is refused when empty with the dialect's own "empty" error, not a validation error;
# the document says so as minItems.
_NOT_EMPTY: dict[str, object] = {"minItems": 1}
Texts = Annotated[list[str], Field(json_schema_extra=_NOT_EMPTY)]


class SimilarityInputs(BaseModel):
    source_sentence: str
    sentences: Texts


class EmbeddingParameters(BaseModel):
    """Options accepted at the top level (as huggingface_hub and TEI send them) or under ``parameters``."""

    model_config = ConfigDict(extra="ignore")

    normalize: Flag | None = None
    truncate: Flag | None = None
    truncation_direction: Literal["right", "left", "Right", "Left"] | None = None
    prompt_name: str | None = None
    dimensions: Integer | None = Field(None, ge=1)

    def merged(self, parameters: dict[str, Any] | None) -> EmbeddingParameters:
        """Top-level values win; ``parameters`` fills what the top level left unset."""
        if not parameters:
            return self
        nested = EmbeddingParameters.model_validate(parameters)
        values = nested.model_dump(exclude_none=True) | self.model_dump(exclude_none=True)
        return EmbeddingParameters.model_validate(values)

    def embed_options(self, *, default_normalize: bool | None, use_cache: bool) -> EmbedOptions:
        direction = (self.truncation_direction or "right").lower()
        return EmbedOptions(
            normalize=default_normalize if self.normalize is None else self.normalize,
            truncate=True if self.truncate is None else self.truncate,
            truncation_direction="left" if direction == "left" else "right",
            prompt_name=self.prompt_name,
            dimensions=self.dimensions,
            use_cache=use_cache,
        )


class InferenceRequest(EmbeddingParameters):
    """``{"inputs": ..., "parameters": {...}, "options": {...}}`` as every Hugging Face client sends it."""

    inputs: str | Texts | SimilarityInputs
    parameters: dict[str, Any] | None = None
    options: RequestOptions | None = None

    def embedding_parameters(self) -> EmbeddingParameters:
        top_level = self.model_dump(include=set(EmbeddingParameters.model_fields))
        return EmbeddingParameters.model_validate(top_level).merged(self.parameters)


class ToolkitRequest(BaseModel):
    """What ``POST /endpoints/{name}`` reads: the endpoint's task (or custom handler) decides the rest."""

    model_config = ConfigDict(extra="allow")

    inputs: Annotated[
        Any,
        # Every task reads a string, a list or an object: never null, never an empty list.
        WithJsonSchema({"type": ["string", "array", "object"], "minItems": 1}),
    ] = Field(description="A string or a list for embedding tasks; what the task reads otherwise")
    parameters: dict[str, Any] | None = None
    options: RequestOptions | None = None
    stream: Flag | None = Field(None, description="Text generation: answer with server-sent events")

    @field_validator("inputs")
    @classmethod
    def _not_null(cls, inputs: Any) -> Any:
        if inputs is None:
            raise ValueError("inputs must be a string, a list or an object, not null")
        return inputs


class SimilarityRequest(EmbeddingParameters):
    """TEI's ``/similarity`` body: a sentence and the sentences to score against it."""

    inputs: SimilarityInputs
    parameters: dict[str, Any] | None = None
    options: RequestOptions | None = None

    def embedding_parameters(self) -> EmbeddingParameters:
        top_level = self.model_dump(include=set(EmbeddingParameters.model_fields))
        return EmbeddingParameters.model_validate(top_level).merged(self.parameters)


def checked_texts(inputs: str | list[str], limit: int) -> list[str]:
    """The inputs as a list, refusing an empty request and one over the per-request cap."""
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not texts:
        raise EmptyInput("inputs cannot be empty")
    if len(texts) > limit:
        raise TooManyInputs(f"batch size {len(texts)} > maximum allowed batch size {limit}")
    return texts


def checked_similarity(inputs: SimilarityInputs, limit: int) -> list[str]:
    if not inputs.sentences:
        raise EmptyInput("sentences cannot be empty")
    return checked_texts([inputs.source_sentence, *inputs.sentences], limit + 1)


def expect_texts(inputs: str | list[str] | SimilarityInputs, task: str) -> str | list[str]:
    if isinstance(inputs, SimilarityInputs):
        raise ValidationFailed(f"Task {task} takes inputs as a string or a list of strings")
    return inputs


def expect_similarity(inputs: str | list[str] | SimilarityInputs, task: str) -> SimilarityInputs:
    if not isinstance(inputs, SimilarityInputs):
        raise ValidationFailed(f'Task {task} takes inputs as {{"source_sentence": str, "sentences": [str]}}')
    return inputs
