"""Checking a task's ``parameters`` against what it takes, so a typo fails with a message instead of
reaching the library as an unexpected keyword."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inferhouse.errors import ValidationFailed


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Param:
    """What one parameter accepts: ``describe`` completes "must be ..." in the error message."""

    describe: str
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any] = _same
    # A null normally means "not given"; a nullable parameter passes it on (text-classification's top_k).
    nullable: bool = False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_strings(value: Any, *, allow_empty: bool = False) -> bool:
    return (
        isinstance(value, list)
        and (allow_empty or bool(value))
        and all(isinstance(item, str) and item for item in value)
    )


def _comma_separated(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)


def integer(minimum: int, *, nullable: bool = False) -> Param:
    return Param(
        f"an integer of at least {minimum}", lambda v: _is_int(v) and v >= minimum, nullable=nullable
    )


def one_of(*options: str) -> Param:
    return Param(
        "one of " + ", ".join(options),
        lambda v: isinstance(v, str) and v.lower() in options,
        convert=str.lower,
    )


BOOLEAN = Param("true or false", lambda v: isinstance(v, bool))
STRINGS = Param("a list of strings", lambda v: _is_strings(v, allow_empty=True))
LABELS = Param(
    "a non-empty list of strings or a comma-separated string",
    lambda v: _is_strings(v) or (isinstance(v, str) and bool(_comma_separated(v))),
    convert=_comma_separated,
)
TARGETS = Param(
    "a non-empty string or a non-empty list of non-empty strings",
    lambda v: _is_strings(v) or (isinstance(v, str) and bool(v)),
    convert=lambda v: [v] if isinstance(v, str) else list(v),
)
TEMPLATE = Param('a string with "{}" where the label goes', lambda v: isinstance(v, str) and "{}" in v)


def check_parameters(task: str, parameters: Mapping[str, Any], spec: Mapping[str, Param]) -> dict[str, Any]:
    """The parameters ``spec`` names, checked and converted; nulls dropped unless the parameter is
    nullable. Raises ``ValidationFailed`` for an unknown name or a bad value."""
    unknown = sorted(set(parameters) - set(spec))
    if unknown:
        takes = ", ".join(sorted(spec)) or "none"
        raise ValidationFailed(f"Task {task} takes no parameter {unknown[0]!r} (it takes: {takes})")
    checked: dict[str, Any] = {}
    for name, value in parameters.items():
        param = spec[name]
        if value is None and not param.nullable:
            continue
        if value is not None and not param.accepts(value):
            raise ValidationFailed(f"Parameter {name} of task {task} must be {param.describe}")
        checked[name] = None if value is None else param.convert(value)
    return checked
