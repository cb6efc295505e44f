"""Custom handlers: a ``handler.py`` in the model directory defining ``EndpointHandler``, as the Inference
Endpoints toolkit runs them. It takes precedence over the task and gets the whole request body."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any

from inferhouse.engine.pipelines.body import to_plain
from inferhouse.errors import BackendFailure

log = logging.getLogger(__name__)

HANDLER_FILE = "handler.py"
_loads = itertools.count()


def has_custom_handler(path: Path) -> bool:
    return (path / HANDLER_FILE).is_file()


class CustomHandlerModel:
    """Calls the user's handler with a copy of the body and checks that its answer is JSON."""

    def __init__(self, handler: Callable[[dict[str, Any]], Any], task: str) -> None:
        self.task = task
        self._handler = handler

    def __call__(self, body: Mapping[str, Any]) -> Any:
        # A shallow copy: handlers commonly ``pop("inputs")`` from the dict they are given.
        result = self._handler(dict(body))
        try:
            return to_plain(result)
        except TypeError as exc:
            raise BackendFailure(f"The custom handler returned something that is not JSON: {exc}") from exc


def load_custom_handler(path: Path, task: str) -> CustomHandlerModel:
    """Import ``path/handler.py`` and construct ``EndpointHandler(str(path))``."""
    module = _import_handler_module(path)
    handler_class = getattr(module, "EndpointHandler", None)
    if not callable(handler_class):
        raise BackendFailure(f"{HANDLER_FILE} of {path.name} defines no EndpointHandler class")
    with _importable_from(path):
        try:
            handler = handler_class(str(path))
        except Exception as exc:  # the user's code: whatever it raises means the endpoint cannot start
            log.exception("EndpointHandler(%s) failed", path)
            raise BackendFailure(f"EndpointHandler of {path.name} failed to start: {exc}") from exc
    if not callable(handler):
        raise BackendFailure(f"EndpointHandler of {path.name} is not callable (it has no __call__)")
    return CustomHandlerModel(handler, task)


def _import_handler_module(path: Path) -> ModuleType:
    # A name of its own per load, so two endpoints' handlers (or one reloaded) never share a module,
    # while dataclasses and pickling inside the handler still find it in sys.modules.
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"inferhouse_custom_handler_{digest}_{next(_loads)}"
    spec = importlib.util.spec_from_file_location(name, path / HANDLER_FILE)
    if spec is None or spec.loader is None:
        raise BackendFailure(f"{HANDLER_FILE} of {path.name} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with _importable_from(path):
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # a syntax error or failing import in the user's code
            del sys.modules[name]
            log.exception("importing %s failed", path / HANDLER_FILE)
            raise BackendFailure(f"{HANDLER_FILE} of {path.name} failed to import: {exc}") from exc
    return module


@contextmanager
def _importable_from(path: Path) -> Iterator[None]:
    """Let the handler import modules that sit next to it, as the toolkit does, but only while it is
    being imported and constructed, so the directory does not stay on everyone's import path."""
    entry = str(path)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(entry)
