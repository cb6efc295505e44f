"""Dedicated endpoints: a model and a task with a lifecycle, served under /endpoints/{name}."""
