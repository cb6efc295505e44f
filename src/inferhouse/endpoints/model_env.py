"""An endpoint's ``model.env``, applied to the process while its model loads (or a copy is added)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# The process environment is shared, so models load one at a time while their env is applied;
# reentrant, because a load may build its first copies through the same wrapper it keeps for scaling.
_ENV_LOCK = threading.RLock()


@contextmanager
def model_env(env: Mapping[str, str], path: Path) -> Iterator[None]:
    """Apply an endpoint's ``model.env`` (and the toolkit's ``HF_MODEL_DIR``) while its model loads."""
    values = {**env, "HF_MODEL_DIR": str(path)}
    with _ENV_LOCK:
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
