"""The package version, in one place: read by the server, the SDK and the build (pyproject.toml)."""

__version__ = "0.1.0"
