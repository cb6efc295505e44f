"""HTTP dialects, one subpackage per family of wire formats, on a shared core.

``core`` holds what every dialect uses: the route class (auth policy, body reading, error rendering),
request bodies, JSON replies, the one module of error shapes and the OpenAPI helpers. Each dialect
subpackage exports its routers by name in ``__all__``; ``inferhouse.app`` mounts them.
"""
