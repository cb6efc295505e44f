"""Helpers the tests share: tiny real models built from a config, and a real server in a subprocess."""
