"""Reading a request body: its inputs and parameters, checked for shape, and replies made plain JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from inferhouse.errors import EmptyInput, ValidationFailed

TEXT_OR_TEXTS = "a string or a list of strings"


def split_body(body: Mapping[str, Any], task: str, shape: str) -> tuple[Any, dict[str, Any]]:
    """The body's ``inputs`` and ``parameters`` (an absent or null ``parameters`` is empty)."""
    if not isinstance(body, Mapping) or "inputs" not in body:
        raise ValidationFailed(f'Task {task} takes a body {{"inputs": ..., "parameters": {{...}}}}')
    parameters = body.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise ValidationFailed(f'Task {task} takes "parameters" as an object')
    inputs = body["inputs"]
    if inputs is None:
        raise ValidationFailed(f"Task {task} takes inputs as {shape}")
    return inputs, dict(parameters)


def text_or_texts(inputs: Any, task: str) -> str | list[str]:
    """A non-empty string, or a non-empty list of non-empty strings."""
    if isinstance(inputs, str):
        if not inputs:
            raise EmptyInput(f"Task {task} got an empty string as input")
        return inputs
    if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
        raise ValidationFailed(f"Task {task} takes inputs as {TEXT_OR_TEXTS}")
    if not inputs:
        raise EmptyInput(f"Task {task} got an empty list of inputs")
    for position, text in enumerate(inputs):
        if not text:
            raise EmptyInput(f"Task {task} got an empty string as input {position}")
    return list(inputs)


def to_plain(value: Any) -> Any:
    """``value`` made of plain JSON types: numpy scalars and arrays (and anything else with ``tolist``,
    such as torch tensors) become numbers and lists, tuples become lists.

    Raises ``TypeError`` for anything else that JSON cannot carry.
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, np.generic | np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, Mapping):
        return {_key(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return to_plain(tolist())
    raise TypeError(f"a {type(value).__name__} is not JSON")


def _number(value: int | float) -> int | float:
    # Subclasses (IntEnum, numpy's float64) are narrowed to the base type every JSON encoder takes.
    return int(value) if isinstance(value, int) else float(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise TypeError(f"a {type(key).__name__} is not a JSON object key")
