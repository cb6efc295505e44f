"""Which keyword a model's ``forward`` takes its key/value cache under, and where its output returns it.

transformers 5.x renamed ``past_key_values`` to ``cache`` (the old name still works but warns, and is
due to go); older releases know only ``past_key_values``. Asking the model's own signature keeps the
generation engine on the current name without dropping support for the releases the package allows.
"""

from __future__ import annotations

import inspect
from typing import Any

CURRENT = "cache"
LEGACY = "past_key_values"


def cache_keyword(model: Any) -> str:
    """The name under which ``model.forward`` accepts a cache object."""
    parameters = inspect.signature(model.forward).parameters
    return CURRENT if CURRENT in parameters else LEGACY


def returned_cache(output: Any) -> Any:
    """The cache a forward pass returned, under whichever name its output class declares."""
    fields = getattr(output, "__dataclass_fields__", {})
    return getattr(output, CURRENT) if CURRENT in fields else getattr(output, LEGACY)
