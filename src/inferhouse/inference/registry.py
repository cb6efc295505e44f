"""The inference registry: create, read, delete and call named inference configurations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence

from inferhouse.errors import AlreadyExists, BadRequest, InferenceNotFound, InferhouseError, ProbeFailed
from inferhouse.inference.config import InferenceConfig, NewInference, TaskType
from inferhouse.inference.secrets import SecretBox
from inferhouse.inference.services import InferenceRunner, InferenceService
from inferhouse.inference.services.local import SERVICE_NAME as LOCAL_SERVICE
from inferhouse.inference.store import InferenceStore

log = logging.getLogger(__name__)

PROBE_TEXT = "how big"


class InferenceRegistry:
    def __init__(self, store: InferenceStore, box: SecretBox, services: Iterable[InferenceService]) -> None:
        self._store = store
        self._box = box
        self._services = {service.name: service for service in services}
        self._configs = {config.inference_id: config for config in store.load_all()}
        self._runners: dict[str, InferenceRunner] = {}
        self._creating: set[str] = set()
        self._lock = asyncio.Lock()

    # -- reading ---------------------------------------------------------------------------------------

    def get(self, inference_id: str, task_type: TaskType | None = None) -> InferenceConfig:
        config = self._configs.get(inference_id)
        if config is None:
            raise InferenceNotFound(f"Inference endpoint not found [{inference_id}]")
        if task_type is not None and task_type is not config.task_type:
            raise BadRequest(
                f"Incompatible task_type, the requested type [{task_type.value}] does not match "
                f"the model type [{config.task_type.value}]"
            )
        return config

    def __contains__(self, inference_id: str) -> bool:
        return inference_id in self._configs

    def list(self, task_type: TaskType | None = None) -> list[InferenceConfig]:
        configs = (self._configs[key] for key in sorted(self._configs))
        return [config for config in configs if task_type is None or config.task_type is task_type]

    def endpoint_of(self, config: InferenceConfig) -> str | None:
        """The endpoint of this server a configuration runs on in process, if any."""
        if config.service != LOCAL_SERVICE:
            return None
        return str(config.service_settings["endpoint"])

    def runner(self, inference_id: str) -> InferenceRunner:
        """The runner for a stored configuration, built on first use (the secret is opened only then)."""
        found = self._runners.get(inference_id)
        if found is None:
            config = self.get(inference_id)
            sealed = self._store.sealed_secret(inference_id)
            secret = self._box.open(sealed, inference_id) if sealed is not None else None
            found = self._runners[inference_id] = self._service(config.service).runner(config, secret)
        return found

    # -- writing ---------------------------------------------------------------------------------------

    async def create(
        self, new: NewInference, allowed: Callable[[InferenceConfig], None] | None = None
    ) -> InferenceConfig:
        """Let the service check its settings, then probe and store the configuration; ``allowed`` may
        refuse it (raise) before the probe calls anything."""
        inference_id, task_type = new.inference_id, new.task_type
        service = self.service_for(new.service, task_type, inference_id)
        parsed = service.parse(task_type, dict(new.service_settings))
        config = InferenceConfig(
            inference_id, task_type, service.name, parsed.public, dict(new.task_settings), new.chunking
        )

        if allowed is not None:
            allowed(config)
        async with self._lock:
            if inference_id in self._configs or inference_id in self._creating:
                raise AlreadyExists(f"Inference endpoint [{inference_id}] already exists")
            self._creating.add(inference_id)
        try:
            runner = service.runner(config, parsed.secret)
            await self._probe(config, runner)
            sealed = self._box.seal(parsed.secret) if parsed.secret is not None else None
            await asyncio.to_thread(self._store.insert, config, sealed)
            self._configs[inference_id] = config
            self._runners[inference_id] = runner
        finally:
            self._creating.discard(inference_id)
        log.info("inference endpoint %s created (%s, %s)", inference_id, task_type.value, service.name)
        return config

    async def reload(self) -> None:
        """Read every configuration again, as another server sharing the store changed them; a runner
        whose configuration changed or went is dropped."""
        async with self._lock:
            configs = {
                config.inference_id: config for config in await asyncio.to_thread(self._store.load_all)
            }
            for inference_id in [key for key in self._runners if configs.get(key) != self._configs.get(key)]:
                del self._runners[inference_id]
            self._configs = configs

    async def delete(self, inference_id: str, users: Sequence[str] = (), force: bool = False) -> None:
        """Remove a configuration; ``users`` name the indexes that embed with it (refused unless forced)."""
        self.get(inference_id)
        if users and not force:
            raise BadRequest(
                f"Inference endpoint [{inference_id}] is being used in the mapping for indexes: "
                f"[{', '.join(users)}]. Ensure that no index mappings are using this inference endpoint, "
                "or use force to ignore this warning and delete the inference endpoint."
            )
        await asyncio.to_thread(self._store.delete, inference_id)
        self._configs.pop(inference_id, None)
        self._runners.pop(inference_id, None)
        log.info("inference endpoint %s deleted", inference_id)

    # -- helpers ---------------------------------------------------------------------------------------

    def _service(self, name: str) -> InferenceService:
        service = self._services.get(name)
        if service is None:
            raise BadRequest(f"Unknown service [{name}]")
        return service

    def service_for(self, name: str, task_type: TaskType, inference_id: str) -> InferenceService:
        """The service a new configuration names, which must run its task type."""
        service = self._services.get(name)
        if service is None:
            known = ", ".join(sorted(self._services))
            raise BadRequest(
                f"Unknown service [{name}] for model [{inference_id}]; known services: [{known}]"
            )
        if task_type not in service.task_types:
            raise BadRequest(f"The [{service.name}] service does not support task type [{task_type.value}]")
        return service

    async def _probe(self, config: InferenceConfig, runner: InferenceRunner) -> None:
        """One call to the service before the configuration is stored, as Elasticsearch makes; an
        embedding probe also learns (or checks) the dimensions."""
        try:
            if config.task_type is TaskType.TEXT_EMBEDDING:
                vectors = await runner.embed([PROBE_TEXT])
                size = len(vectors[0])
            elif config.task_type is TaskType.RERANK:
                await runner.rerank(PROBE_TEXT, [PROBE_TEXT])
                return
            else:
                await runner.complete([{"role": "user", "content": PROBE_TEXT}], max_tokens=1)
                return
        except InferhouseError as error:
            raise ProbeFailed(
                "Could not complete inference endpoint creation as validation call to service threw an "
                "exception.",
                error,
            ) from None
        configured = config.service_settings.get("dimensions")
        if configured is not None and configured != size:
            raise BadRequest(
                f"The retrieved embeddings size [{size}] does not match the size specified in the settings "
                f"[{configured}]. Please recreate the [{config.inference_id}] configuration with the correct "
                "dimensions"
            )
        config.service_settings["dimensions"] = size
