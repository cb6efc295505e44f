"""Reading service settings the way Elasticsearch does, with its messages, collecting every problem."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

SIMILARITIES = ("cosine", "dot_product", "l2_norm")


class SettingsReader:
    """Takes settings out of a map (what is left over is unknown) and notes each broken rule."""

    def __init__(self, settings: dict[str, Any], scope: str = "service_settings") -> None:
        self.settings = settings
        self.scope = scope
        self.problems: list[str] = []

    def required_string(self, key: str, scope: str | None = None) -> str | None:
        value = self.settings.pop(key, None)
        where = scope or self.scope
        if value is None:
            self.problems.append(f"[{where}] does not contain the required setting [{key}]")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"[{where}] Invalid value empty string. [{key}] must be a non-empty string")
            return None
        return value

    def url(self, key: str = "url") -> str | None:
        value = self.required_string(key)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.problems.append(
                f"[{self.scope}] Invalid url [{value}] received for field [{key}]. "
                "Error: the url must be absolute, with an http or https scheme"
            )
            return None
        return value

    def positive_int(self, key: str, scope: str | None = None) -> int | None:
        value = self.settings.pop(key, None)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value <= 0:
            self.problems.append(
                f"[{scope or self.scope}] Invalid value [{value}]. [{key}] must be a positive integer"
            )
            return None
        return int(value)

    def similarity(self) -> str | None:
        value = self.settings.pop("similarity", None)
        if value is None:
            return None
        if not isinstance(value, str) or value.lower() not in SIMILARITIES:
            self.problems.append(
                f"[{self.scope}] Invalid value [{value}] received. [similarity] must be one of "
                f"[{', '.join(SIMILARITIES)}]"
            )
            return None
        return value.lower()

    def rate_limit(self, default: int) -> int:
        raw = self.settings.pop("rate_limit", None)
        if raw is None:
            return default
        if not isinstance(raw, dict):
            self.problems.append(f"[{self.scope}] Invalid value [{raw}]. [rate_limit] must be an object")
            return default
        nested = SettingsReader(dict(raw), "rate_limit")
        found = nested.positive_int("requests_per_minute")
        self.problems.extend(nested.problems)
        for key in nested.settings:
            self.problems.append(f"[rate_limit] does not support the setting [{key}]")
        return found if found is not None else default
