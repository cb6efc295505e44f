"""Every JSON route refuses the same bad bodies the same way: 400 ``invalid_json`` in its dialect's shape.

The routes come from the app's own route table, so a new POST, PUT or PATCH route is covered the day it
is added; a route that takes no JSON body must say so (``api.core.bodies.takes``) and is listed here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from inferhouse.api.core.bodies import MAX_JSON_DEPTH, body_kind
from inferhouse.api.core.error_shapes import (
    render_elasticsearch,
    render_hf,
    render_openai,
    render_pinecone_control,
    render_pinecone_data,
    render_tgi,
)
from inferhouse.app import create_app
from inferhouse.settings import DEFAULT_ENDPOINT_NAME, Settings
from tests.support.inprocess import InProcessServer

# Path parameters: the endpoint must exist (its access is checked before the body is read); the body is
# refused before anything else in the path is looked up.
PATH_VALUES = {
    "name": DEFAULT_ENDPOINT_NAME,
    "namespace": "local",
    "model_id": "sentence-transformers/all-MiniLM-L6-v2",
    "task": "feature-extraction",
    "task_type": "text_embedding",
    "inference_id": "no-such-inference",
    "index_name": "no-such-index",
    "backup_id": "no-such-backup",
}
NOT_JSON_ROUTES = {
    ("POST", "/v2/endpoint/{namespace}/{name}/pause"): "none",
    ("POST", "/v2/endpoint/{namespace}/{name}/resume"): "none",
    ("POST", "/v2/endpoint/{namespace}/{name}/scale-to-zero"): "none",
    ("POST", "/indexes/{index_name}/describe_index_stats"): "optional_json",
    ("POST", "/indexes/{name}/backups"): "optional_json",  # a backup needs neither a name nor a description
    ("POST", "/indexes/{index_name}/records/namespaces/{namespace}/upsert"): "ndjson",
    ("POST", "/indexes/{index_name}/records/namespaces//upsert"): "ndjson",
}


def _write_routes() -> list[tuple[str, str, Callable[..., Any], str]]:
    app = create_app(Settings())
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.path_format.startswith("/ui"):
            continue  # the dashboard's forms are HTML forms, tested in test_dashboard.py
        for method in sorted((route.methods or set()) & {"POST", "PUT", "PATCH"}):
            kind = body_kind(route.endpoint, {method})
            if (
                kind == "json"
                and route.body_field is not None
                and not route.body_field.field_info.is_required()
            ):
                kind = "optional_json"
            found.append((method, route.path_format, route.renderer, kind))  # type: ignore[attr-defined]
    return found


ROUTES = _write_routes()
JSON_ROUTES = [(method, path, render, kind) for method, path, render, kind in ROUTES if kind != "none"]
DEEP = b'{"inputs": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
JUST_TOO_DEEP = b'{"inputs": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}"
BAD_BODIES = {
    "not-utf8": (b'{"inputs": "caf\xe9"}', "not valid UTF-8"),
    "truncated": (b'{"inputs": [', "not valid JSON"),
    "nan": (b'{"inputs": NaN, "vector": [NaN]}', "not valid JSON"),
    "infinity": (b'{"inputs": Infinity}', "not valid JSON"),
    "minus-infinity": (b'{"inputs": [-Infinity]}', "not valid JSON"),
    "overflowing-number": (b'{"inputs": 1e400}', "not valid JSON"),
    "nested-10000": (DEEP, "not valid JSON"),
    "nested-past-the-limit": (JUST_TOO_DEEP, f"more than {MAX_JSON_DEPTH} levels deep"),
    "empty": (b"", "is empty"),
    "whitespace": (b" \n", "is empty"),
}
CONTENT_TYPES = {
    "json": "application/json",
    "text": "text/plain",
    "form": "application/x-www-form-urlencoded",
}


def _url(server: InProcessServer, path: str) -> str:
    # A management route must not change the endpoint other tests use, should a body get through.
    values = PATH_VALUES | ({"name": "no-such-endpoint"} if path.startswith("/v2/") else {})
    return server.url + re.sub(r"\{([^}]+)\}", lambda match: values[match[1]], path)


def _error_of(render: Callable[..., Any], reply: httpx.Response) -> tuple[str, str]:
    """The (kind, message) of an error reply, checking it has its dialect's shape."""
    body = reply.json()
    if render in (render_hf, render_tgi):
        assert set(body) == {"error", "error_type"}, body
        return body["error_type"], body["error"]
    if render is render_openai:
        error = body["error"]
        assert set(error) == {"message", "type", "param", "code"}, body
        assert error["type"] == "invalid_request_error"
        return error["code"], error["message"]
    if render is render_pinecone_control:
        assert body["status"] == reply.status_code, body
        return body["error"]["code"], body["error"]["message"]
    if render is render_pinecone_data:
        assert set(body) == {"code", "message", "details"}, body
        return {3: "INVALID_ARGUMENT", 5: "NOT_FOUND"}[body["code"]], body["message"]
    assert render is render_elasticsearch, render
    assert body["status"] == reply.status_code, body
    assert body["error"]["root_cause"][0]["type"] == body["error"]["type"]
    return body["error"]["type"], body["error"]["reason"]


@pytest.fixture(scope="module")
def server(app_server: InProcessServer) -> InProcessServer:
    """Nothing here needs a socket: the app runs in this process."""
    return app_server


# What each dialect calls a body that is not JSON: its documented kind for invalid_json.
INVALID_JSON_KIND = {
    render_hf: "invalid_json",
    render_tgi: "invalid_json",
    render_openai: "invalid_json",
    render_pinecone_control: "INVALID_ARGUMENT",
    render_pinecone_data: "INVALID_ARGUMENT",
    render_elasticsearch: "x_content_parse_exception",
}


@pytest.fixture(scope="module", autouse=True)
def log_start(server: InProcessServer) -> int:
    """Where the server log stood before this module's requests."""
    return len(server.log())


def test_the_route_table_is_what_the_tests_expect() -> None:
    """A POST/PUT/PATCH route without a JSON body is a decision, not an accident: it is listed here."""
    not_json = {(method, path): kind for method, path, _, kind in ROUTES if kind != "json"}
    assert not_json == NOT_JSON_ROUTES
    assert len(JSON_ROUTES) >= 30
    assert {render for _, _, render, _ in ROUTES} == set(INVALID_JSON_KIND)


@pytest.mark.parametrize("case", list(BAD_BODIES))
@pytest.mark.parametrize(
    ("method", "path", "render", "kind"), JSON_ROUTES, ids=[f"{m} {p}" for m, p, _, _ in JSON_ROUTES]
)
def test_bad_bodies_are_invalid_json_everywhere(
    server: InProcessServer, method: str, path: str, render: Callable[..., Any], kind: str, case: str
) -> None:
    data, fragment = BAD_BODIES[case]
    if kind == "ndjson" and case == "nested-10000":
        data = DEEP  # one line: the same body is a one-record NDJSON body
    headers = {**server.headers, "content-type": "application/json"}
    reply = server.http.request(method, _url(server, path), content=data, headers=headers, timeout=30)
    error_kind, message = _error_of(render, reply)
    if kind in ("optional_json", "ndjson") and case in ("empty", "whitespace"):
        # describe_index_stats takes no body at all; an empty NDJSON body is no records. Both then name
        # the missing index.
        assert reply.status_code == 404, reply.text
        return
    assert reply.status_code == 400, reply.text
    assert error_kind == INVALID_JSON_KIND[render], reply.text
    assert fragment in message, reply.text


@pytest.mark.parametrize("content_type", list(CONTENT_TYPES))
@pytest.mark.parametrize(
    ("method", "path", "render", "kind"),
    [route for route in JSON_ROUTES if route[3] != "ndjson"],
    ids=[f"{m} {p}" for m, p, _, k in JSON_ROUTES if k != "ndjson"],
)
def test_the_content_type_does_not_change_how_a_body_is_read(
    server: InProcessServer, method: str, path: str, render: Callable[..., Any], kind: str, content_type: str
) -> None:
    """Whatever the Content-Type (or none), a body is read as JSON: bad JSON is invalid_json, and a JSON
    object of the wrong shape is refused as the route's own validation refuses it, never as bytes."""
    headers = {**server.headers, "content-type": CONTENT_TYPES[content_type]}
    url = _url(server, path)
    bad = server.http.request(method, url, content=b"{not json", headers=headers, timeout=30)
    assert bad.status_code == 400, bad.text
    assert _error_of(render, bad)[0] == INVALID_JSON_KIND[render]
    odd = server.http.request(method, url, content=b'{"no_such_field": [1]}', headers=headers, timeout=30)
    assert 400 <= odd.status_code < 500, odd.text
    assert "valid dictionary" not in odd.text  # FastAPI's message for a body it did not decode
    _error_of(render, odd)


def test_a_body_without_a_content_type_is_json(server: InProcessServer) -> None:
    url = f"{server.url}/endpoints/{DEFAULT_ENDPOINT_NAME}/embed"
    reply = server.http.post(url, content=b'{"inputs": ["hello"], "truncate": true}', headers=server.headers)
    assert reply.status_code == 200, reply.text
    assert len(reply.json()[0]) == 384


def test_no_refused_body_logged_a_traceback(server: InProcessServer, log_start: int) -> None:
    """Runs last in this module: every bad body above was a client error, so none left a traceback."""
    logged = server.log()[log_start:]
    assert "Traceback" not in logged
    assert "unhandled error" not in logged
