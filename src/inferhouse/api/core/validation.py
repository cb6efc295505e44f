"""Validate an already-decoded body against a pydantic model, with the dialects' own error message."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from inferhouse.api.core.dialect import from_validation_error

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_as(model: type[ModelT], raw: Any) -> ModelT:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        located = [{**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()]
        raise from_validation_error(RequestValidationError(located)) from None
