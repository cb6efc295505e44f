"""Who serves a name, and whether this caller may use it: the one answer every dialect asks for.

A name is a dedicated endpoint (``/endpoints/{name}``), a model id (the serverless ``/models/{id}``),
or either (OpenAI's ``model``: an endpoint name first, else a model id). A model id shares a running
embedding endpoint of that model instead of loading a second copy. Inference ids, one layer up, are
resolved by ``inferhouse.integrated.binding`` and end here when they run on one of our endpoints.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from inferhouse.auth import Principal
from inferhouse.endpoints.deployment import Deployment
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.serverless import ServerlessModels


class Resolver:
    def __init__(self, endpoints: EndpointManager, serverless: ServerlessModels) -> None:
        self.endpoints = endpoints
        self.serverless = serverless

    def authorize(self, endpoint: str, principal: Principal | None) -> None:
        """Raise unless ``principal`` (None: no token sent) may call ``endpoint``, whether it is named
        directly or reached through a model name, an inference id or an index."""
        self.endpoints.authorize(endpoint, principal)

    def is_endpoint(self, name: str) -> bool:
        return name in self.endpoints.names()

    def loaded(self, name: str) -> Deployment | None:
        """Endpoint ``name``'s deployment if it is loaded now, without holding or waking it (a peek
        for the fast lane, which then serves through :meth:`endpoint`)."""
        return self.endpoints.deployment(name)

    def endpoint(
        self, name: str, *, wait: bool, scale_up: float = 0.0
    ) -> AbstractAsyncContextManager[Deployment]:
        """Endpoint ``name``'s deployment for one request (its caller was authorized by its route); a
        cold one is waited for ``scale_up`` seconds before the 503 (``X-Scale-Up-Timeout``)."""
        return self.endpoints.serving(name, wait=wait, scale_up_timeout=scale_up)

    @asynccontextmanager
    async def model(
        self, model_id: str, *, wait: bool, family: str | None = None
    ) -> AsyncIterator[Deployment]:
        """A deployment serving ``model_id`` by id: a running embedding endpoint of that model when
        there is one, else the serverless copy. ``family`` refuses a model of another task family."""
        shared = self.endpoints.serving_model(model_id)
        if shared is not None and family in (None, "embedding"):
            async with self.endpoints.serving(shared) as deployment:
                yield deployment
            return
        async with self.serverless.serving(model_id, wait=wait, family=family) as deployment:
            yield deployment

    def named(
        self,
        name: str,
        principal: Principal | None,
        *,
        wait: bool | None,
        scale_up: float = 0.0,
        family: str | None = None,
    ) -> AbstractAsyncContextManager[Deployment]:
        """OpenAI's ``model``: endpoint ``name`` when there is one (which the caller must be allowed),
        else the model of that id (which a token scoped to endpoints may not load). ``wait`` None
        waits, as OpenAI clients cannot read a 503's ``estimated_time``, unless ``scale_up`` bounds
        the wait for an endpoint."""
        waiting = not scale_up if wait is None else wait
        if self.is_endpoint(name):
            self.authorize(name, principal)
            return self.endpoints.serving(name, wait=waiting, scale_up_timeout=scale_up)
        if principal is not None:
            principal.require_general()
        return self.model(name, wait=True, family=family)
