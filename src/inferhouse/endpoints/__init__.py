"""Dedicated endpoints: a name, a model and a task, served under /endpoints/{name}."""

from inferhouse.endpoints.registry import Endpoint, EndpointRegistry, Task

__all__ = ["Endpoint", "EndpointRegistry", "Task"]
