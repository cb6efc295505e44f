"""The embedding fast lane answers exactly as the full routes do.

A plain ``{"inputs": ...}`` body takes the lane; adding a field the lane does not handle (a default
``truncation_direction`` for TEI, an empty ``parameters`` for the toolkit route) sends the same request
through FastAPI instead, so each case is asked both ways and the replies compared byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from inferhouse.api.core import dialect
from inferhouse.api.core.bodies import parse_json
from inferhouse.api.huggingface import fast_lane
from inferhouse.api.huggingface.fast_lane import _decoded, _plain
from tests.support.inprocess import InProcessServer
from tests.support.server import RunningServer

DEFAULT = "all-minilm-l6-v2"
FULL_ROUTE_FIELD = {"": {"parameters": {}}, "/embed": {"truncation_direction": "right"}}


def _both_ways(
    server: RunningServer, name: str, route: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[requests.Response, requests.Response]:
    url = f"{server.url}/endpoints/{name}{route}"
    sent = server.headers if headers is None else headers
    fast = requests.post(url, json=body, headers=sent, timeout=60)
    full = requests.post(url, json={**body, **FULL_ROUTE_FIELD[route]}, headers=sent, timeout=60)
    return fast, full


@pytest.mark.parametrize("route", ["", "/embed"])
@pytest.mark.parametrize(
    "body",
    [
        {"inputs": "a happy dog"},
        {"inputs": ["a happy dog", "a sad cat " * 30]},
        {"inputs": ["a happy dog"], "normalize": False},
        {"inputs": ["word " * 600], "truncate": True},
        {"inputs": ["word " * 600], "truncate": False},
        {"inputs": []},
        {"inputs": ["x"] * 257},
    ],
)
def test_the_lane_answers_as_the_full_route(server: RunningServer, route: str, body: dict[str, Any]) -> None:
    fast, full = _both_ways(server, DEFAULT, route, body)
    assert fast.status_code == full.status_code
    assert fast.headers["content-type"] == full.headers["content-type"]
    assert fast.content == full.content


@pytest.mark.parametrize("name", ["tiny-features", "tiny-similarity"])
def test_other_embedding_tasks_answer_as_before(server: RunningServer, name: str) -> None:
    for route in ("", "/embed"):
        fast, full = _both_ways(server, name, route, {"inputs": ["one", "two"]})
        assert fast.status_code == full.status_code
        assert fast.content == full.content
    # The toolkit route's reply shape follows the task: a feature-extraction endpoint answers a bare list.
    features = requests.post(
        f"{server.url}/endpoints/tiny-features", json={"inputs": "one"}, headers=server.headers, timeout=60
    )
    assert isinstance(features.json()[0], float)


def test_tokens_are_checked_in_the_lane(server: RunningServer) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        fast, full = _both_ways(server, DEFAULT, "/embed", {"inputs": "dog"}, headers)
        assert fast.status_code == 401
        assert fast.content == full.content
        assert fast.headers.get("www-authenticate") == "Bearer"


def test_an_unknown_endpoint_and_a_huge_body(server: RunningServer) -> None:
    fast, full = _both_ways(server, "no-such-endpoint", "/embed", {"inputs": "dog"})
    assert fast.status_code == 404
    assert fast.content == full.content
    huge = {"inputs": ["word " * 1000] * 500}  # over the 2 MiB body limit
    fast, full = _both_ways(server, DEFAULT, "/embed", huge)
    assert fast.status_code == full.status_code == 413
    # The message names the declared size, which the extra field of the full-route copy changes.
    assert fast.json()["error_type"] == full.json()["error_type"]
    assert fast.json()["error"].startswith("Request body of ")


def test_the_lane_counts_requests_under_the_route_template(server: RunningServer) -> None:
    requests.post(f"{server.url}/endpoints/{DEFAULT}/embed", json={"inputs": "dog"}, headers=server.headers)
    metrics = requests.get(f"{server.url}/metrics", headers=server.headers, timeout=30).text
    assert 'route="/endpoints/{name}/embed"' in metrics
    assert f"/endpoints/{DEFAULT}/embed" not in metrics


@pytest.mark.parametrize(
    ("body", "plain"),
    [
        (b'{"inputs": "dog"}', True),
        (b'{"inputs": ["dog", "cat"], "normalize": false, "truncate": null}', True),
        (b'{"inputs": ["dog", 3]}', False),
        (b'{"inputs": {"source_sentence": "a", "sentences": ["b"]}}', False),
        (b'{"inputs": "dog", "prompt_name": "query"}', False),
        (b'{"inputs": "dog", "normalize": "yes"}', False),
        (b'["dog"]', False),
        (b"{not json", False),
    ],
)
def test_only_the_plain_shape_takes_the_lane(body: bytes, plain: bool) -> None:
    assert (_plain(_decoded(body)) is not None) is plain


# The lane refuses these before it looks at the body, with the dialect route's own functions; each
# is compared with a route of the same router that the lane never takes (same policy, same renderer).
SLOW_TWIN = {"": "/predict", "/embed": "/similarity"}
HUGE = b'{"inputs": ["' + b"word " * 500_000 + b'"]}'  # over the 2 MiB body limit


def _streamed(body: bytes) -> Iterator[bytes]:
    """The body as chunks with no Content-Length, so the limit is found while reading."""
    for start in range(0, len(body), 65_536):
        yield body[start : start + 65_536]


@pytest.mark.parametrize("route", ["", "/embed"])
@pytest.mark.parametrize(
    "case", ["too large", "too large, streamed", "bad token", "missing token", "malformed JSON"]
)
def test_refusals_match_the_slow_path(server: RunningServer, route: str, case: str) -> None:
    headers = {**server.headers, "Content-Type": "application/json"}
    body: bytes = b'{"inputs": "dog"}'
    if case == "bad token":
        headers["Authorization"] = "Bearer not-a-token"
    elif case == "missing token":
        headers.pop("Authorization")
    elif case == "malformed JSON":
        body = b'{"inputs": "dog",'
    elif case.startswith("too large"):
        body = HUGE
    replies = []
    for path in (route, SLOW_TWIN[route]):
        url = f"{server.url}/endpoints/{DEFAULT}{path}"
        content = _streamed(body) if case.endswith("streamed") else body
        replies.append(requests.post(url, data=content, headers=headers, timeout=60))
    fast, slow = replies
    expected = {"bad token": 401, "missing token": 401, "malformed JSON": 400}.get(case, 413)
    assert fast.status_code == slow.status_code == expected
    assert fast.headers["content-type"] == slow.headers["content-type"]
    assert fast.headers.get("www-authenticate") == slow.headers.get("www-authenticate")
    assert fast.content == slow.content


def test_a_request_the_lane_passes_on_is_authorized_and_decoded_once(
    app_server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = app_server.app.state.services.tokens
    calls: list[str] = []
    identify, decode = tokens.identify, parse_json

    def counted_identify(*args: Any) -> Any:
        calls.append("identify")
        return identify(*args)

    def counted_decode(*args: Any) -> Any:
        calls.append("decode")
        return decode(*args)

    monkeypatch.setattr(tokens, "identify", counted_identify)
    monkeypatch.setattr(dialect, "parse_json", counted_decode)
    monkeypatch.setattr(fast_lane, "parse_json", counted_decode)
    url = f"/endpoints/{DEFAULT}"
    # Fields the lane does not handle: the full route answers, with the lane's token check and body.
    reply = app_server.http.post(url, json={"inputs": "dog", "parameters": {}}, headers=app_server.headers)
    assert reply.status_code == 200
    assert sorted(calls) == ["decode", "identify"]
    calls.clear()
    reply = app_server.http.post(url, content=b"[1,", headers=app_server.headers)
    assert reply.status_code == 400
    assert reply.json()["error_type"] == "invalid_json"
    assert calls.count("identify") == 1  # the route decodes again only to say what is wrong
