"""TGI request bodies (``/generate``, ``/generate_stream`` and the compat route) and their decoding choices.

Every parameter huggingface_hub's ``text_generation`` can send is named here. Those inferhouse cannot
honour are accepted only at their neutral value and refused with a 422 otherwise, never dropped in
silence; names nobody sends are refused as unknown.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from inferhouse.api.core.headers import RequestOptions
from inferhouse.engine.generation.contract import GenerationParams
from inferhouse.errors import ValidationFailed


class TgiParameters(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # Ranges and limits (stop sequences, truncate, tokens) are the generator's to check, in TGI's words.
    max_new_tokens: int | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    do_sample: bool = False
    repetition_penalty: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    truncate: int | None = None
    return_full_text: bool | None = None
    details: bool = False
    decoder_input_details: bool = False
    # Accepted at their neutral values only (see ``unsupported``).
    best_of: int | None = Field(default=None, ge=1)
    typical_p: float | None = None
    watermark: bool = False
    top_n_tokens: int | None = Field(default=None, ge=0)
    frequency_penalty: float | None = None
    grammar: Any = None
    adapter_id: str | None = None

    def unsupported(self) -> str | None:
        """Why a value we cannot honour was asked for, or None."""
        if self.best_of is not None and self.best_of > 1:
            return "best_of > 1 is not supported: send best_of 1 or leave it out"
        if self.decoder_input_details:
            return "decoder_input_details (logprobs of the prompt tokens) is not supported: leave it false"
        if self.typical_p is not None and self.typical_p != 1.0:
            return "typical_p is not supported: leave it out, or use top_p or top_k"
        if self.watermark:
            return "watermark is not supported: leave it false"
        if self.top_n_tokens:
            return "top_n_tokens is not supported: leave it out; details=true gives each token's logprob"
        if self.frequency_penalty:
            return "frequency_penalty is not supported: leave it out, or use repetition_penalty"
        if self.grammar is not None:
            return "grammar (constrained generation) is not supported: leave it out"
        if self.adapter_id is not None:
            return "adapter_id (LoRA adapters) is not supported: leave it out"
        return None

    def generation_params(self) -> GenerationParams:
        problem = self.unsupported()
        if problem is not None:
            raise ValidationFailed(problem)
        # As in TGI, any sampling warper turns sampling on, even without do_sample.
        warped = (
            (self.temperature is not None and self.temperature != 1.0)
            or self.top_k is not None
            or (self.top_p is not None and self.top_p < 1.0)
        )
        return GenerationParams(
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            do_sample=self.do_sample or warped,
            repetition_penalty=self.repetition_penalty,
            stop=tuple(self.stop or ()),
            seed=self.seed,
            truncate=self.truncate,
        )


class GenerateRequest(BaseModel):
    """``{"inputs", "parameters", "stream"}``; ``options`` is the serverless API's (wait_for_model...)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    inputs: str = Field(min_length=1)
    parameters: TgiParameters = TgiParameters()
    stream: bool = False
    options: RequestOptions | None = None

    def full_text(self, default: bool) -> bool:
        chosen = self.parameters.return_full_text
        return default if chosen is None else chosen
