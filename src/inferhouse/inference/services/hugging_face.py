"""The ``hugging_face`` service: a remote Hugging Face-compatible URL and its API key."""

from __future__ import annotations

from typing import Any

from inferhouse.errors import SettingsInvalid
from inferhouse.inference.config import InferenceConfig, TaskType, unknown_settings
from inferhouse.inference.rate_limit import RateLimiters
from inferhouse.inference.remote import HuggingFaceRemote
from inferhouse.inference.services import InferenceRunner, ParsedSettings
from inferhouse.inference.services._settings import SettingsReader
from inferhouse.inference.upstream import RetryPolicy, new_http_client

DEFAULT_REQUESTS_PER_MINUTE = 3000


class HuggingFaceService:
    name = "hugging_face"
    task_types = frozenset(
        {TaskType.TEXT_EMBEDDING, TaskType.RERANK, TaskType.COMPLETION, TaskType.CHAT_COMPLETION}
    )

    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self._limiters = RateLimiters()
        self._retry = retry or RetryPolicy()
        # One pool of connections for every configuration; a read may wait on a slow model for a while.
        self._http = new_http_client(timeout=60.0)

    def parse(self, task_type: TaskType, settings: dict[str, Any]) -> ParsedSettings:
        reader = SettingsReader(settings)
        public: dict[str, Any] = {"url": reader.url()}
        if task_type is TaskType.TEXT_EMBEDDING:
            similarity = reader.similarity()
            dimensions = reader.positive_int("dimensions")
            max_input_tokens = reader.positive_int("max_input_tokens")
            public["similarity"] = similarity or "cosine"
            if dimensions is not None:
                public["dimensions"] = dimensions
            if max_input_tokens is not None:
                public["max_input_tokens"] = max_input_tokens
        elif task_type in (TaskType.COMPLETION, TaskType.CHAT_COMPLETION):
            model_id = settings.pop("model_id", None)
            if model_id is not None:
                public["model_id"] = str(model_id)
        public["rate_limit"] = {"requests_per_minute": reader.rate_limit(DEFAULT_REQUESTS_PER_MINUTE)}
        secret = reader.required_string("api_key", scope="secret_settings")
        if settings:
            reader.problems.append(unknown_settings(settings, self.name))
        if reader.problems:
            raise SettingsInvalid(reader.problems)
        return ParsedSettings(public, secret)

    def runner(self, config: InferenceConfig, secret: str | None) -> InferenceRunner:
        settings = config.service_settings
        url = str(settings["url"])
        api_key = secret or ""
        per_minute = float(settings["rate_limit"]["requests_per_minute"])
        return HuggingFaceRemote(
            inference_id=config.inference_id,
            url=url,
            api_key=api_key,
            limiter=self._limiters.for_key(url, api_key, per_minute),
            http=self._http,
            retry=self._retry,
            model=settings.get("model_id"),
        )

    async def aclose(self) -> None:
        await self._http.aclose()
