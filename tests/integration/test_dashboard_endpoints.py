"""The dashboard's endpoint pages over HTTP: the request history behind the charts (access-checked and
bounded), the task playgrounds (a generation streamed, generated text escaped) and the update form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.dashboard import admin_session, csrf_of, declared_endpoints, sign_in
from tests.support.server import RunningServer, deploy_endpoint, start_server
from tests.support.text_models import build_tiny_causal_lm

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
EMB, LLM = "emb", "llm"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[RunningServer]:
    env = declared_endpoints(tiny_model_dir, EMB)
    running = start_server(tmp_path_factory.mktemp("ui-endpoints-data"), env=env)
    try:
        model = build_tiny_causal_lm(tmp_path_factory.mktemp("ui-llm") / "gpt2")
        deploy_endpoint(running, LLM, model, "text-generation")
    except BaseException:
        running.stop()
        raise
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(server: RunningServer) -> requests.Session:
    return admin_session(server.url, server.token)


def _history(
    server: RunningServer, name: str, token: str | None = None, **params: object
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else server.headers
    return requests.get(
        f"{server.url}/v2/endpoint/local/{name}/metrics", headers=headers, params=params, timeout=30
    )


def _embed(server: RunningServer, times: int) -> None:
    for _ in range(times):
        reply = requests.post(
            f"{server.url}/endpoints/{EMB}/embed",
            json={"inputs": "a cat"},
            headers=server.headers,
            timeout=30,
        )
        assert reply.status_code == 200, reply.text


def test_the_history_counts_requests_in_ten_second_buckets_over_at_most_an_hour(
    server: RunningServer,
) -> None:
    before = _history(server, EMB).json()["lastMinute"]["requests"]
    _embed(server, 5)
    history = _history(server, EMB).json()
    assert history["bucketSeconds"] == 10
    assert history["windowSeconds"] == 3600
    assert len(history["series"]) == 360
    assert history["lastMinute"]["requests"] == before + 5
    assert history["lastMinute"]["p50Ms"] > 0
    assert history["lastMinute"]["p99Ms"] >= history["lastMinute"]["p50Ms"]
    assert sum(point["requests"] for point in history["series"]) >= 5
    assert len(_history(server, EMB, window=60).json()["series"]) == 6
    for window in (0, 9, 3601, "soon"):
        refused = _history(server, EMB, window=window)
        assert refused.status_code == 422, window


def test_the_history_is_access_checked_like_the_endpoint(server: RunningServer) -> None:
    created = requests.post(
        f"{server.url}/api/tokens",
        json={"name": "llm-team", "manages": [LLM]},
        headers=server.headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    scoped = created.json()["token"]
    assert _history(server, LLM, scoped).status_code == 200
    assert _history(server, EMB, scoped).status_code == 403
    anonymous = requests.get(f"{server.url}/v2/endpoint/local/{EMB}/metrics", timeout=30)
    assert anonymous.status_code == 401
    assert _history(server, "nobody").status_code == 404
    browser, _ = sign_in(server.url, scoped)  # the dashboard shows what the API lets the token see
    assert browser.get(f"{server.url}/ui/endpoints/{EMB}/charts", timeout=30).status_code == 403
    assert browser.get(f"{server.url}/ui/endpoints/{LLM}/charts", timeout=30).status_code == 200


def test_the_list_and_the_charts_show_the_traffic(server: RunningServer, admin: requests.Session) -> None:
    _embed(server, 3)
    listed = admin.get(f"{server.url}/ui/endpoints", timeout=30)
    assert "Req/s" in listed.text
    assert " ms / " in listed.text  # p50 / p99 of the endpoint that had requests
    charts = admin.get(f"{server.url}/ui/endpoints/{EMB}/charts", timeout=30)
    assert charts.status_code == 200
    assert 'data-line="requests"' in charts.text
    assert 'data-dots="p99"' in charts.text
    assert "<script" not in charts.text


def _try(
    admin: requests.Session, server: RunningServer, name: str, kind: str, **fields: str
) -> requests.Response:
    page = admin.get(f"{server.url}/ui/endpoints/{name}", timeout=30)
    assert page.status_code == 200
    return admin.post(
        f"{server.url}/ui/endpoints/{name}/try/{kind}",
        data={"csrf": csrf_of(page.text), **fields},
        headers={"HX-Request": "true"},
        timeout=60,
    )


def test_generated_text_is_escaped_on_the_page(server: RunningServer, admin: requests.Session) -> None:
    page = admin.get(f"{server.url}/ui/endpoints/{LLM}", timeout=30)
    assert 'data-stream="/ui/endpoints/llm/stream/generate"' in page.text
    assert "Chat" in page.text
    reply = _try(admin, server, LLM, "generate", prompt=HOSTILE, max_new_tokens="4", full="on")
    assert reply.status_code == 200, reply.text
    assert ESCAPED in reply.text
    assert HOSTILE not in reply.text.replace("&#39;", "'").split('<pre class="snippet"')[0]
    assert f"{server.url}/endpoints/{LLM}/generate" in reply.text  # the curl snippet's real URL
    assert "test-admin-token" not in reply.text
    chat = _try(admin, server, LLM, "chat", message=HOSTILE, max_new_tokens="4")
    assert chat.status_code == 200, chat.text
    assert 'class="generated"' in chat.text
    assert f"{server.url}/endpoints/{LLM}/v1" in chat.text  # the openai snippet's base URL


def _events(reply: requests.Response) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in reply.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_a_generation_streams_token_events_then_its_code(
    server: RunningServer, admin: requests.Session
) -> None:
    page = admin.get(f"{server.url}/ui/endpoints/{LLM}", timeout=30)
    reply = admin.post(
        f"{server.url}/ui/endpoints/{LLM}/stream/generate",
        data={"csrf": csrf_of(page.text), "prompt": HOSTILE, "max_new_tokens": "6", "full": "on"},
        timeout=60,
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert "default-src 'none'" in reply.headers["content-security-policy"]
    events = _events(reply)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "token"
    assert events[0][1]["text"] == HOSTILE  # the prompt first, as data for textContent, never markup
    assert kinds.count("token") >= 2
    assert kinds[-1] == "done"
    assert "curl" in events[-1][1]["code"]  # type: ignore[operator]
    chat = admin.post(
        f"{server.url}/ui/endpoints/{LLM}/stream/chat",
        data={"csrf": csrf_of(page.text), "message": "hello", "max_new_tokens": "4"},
        timeout=60,
    )
    assert [kind for kind, _ in _events(chat)][-1] == "done"
    forged = admin.post(
        f"{server.url}/ui/endpoints/{LLM}/stream/generate", data={"prompt": "x", "csrf": "forged"}, timeout=30
    )
    assert forged.status_code == 403


def test_a_refused_playground_call_says_why(server: RunningServer, admin: requests.Session) -> None:
    empty = _try(admin, server, LLM, "generate", prompt="  ", max_new_tokens="4")
    assert 'role="alert"' in empty.text
    assert "The prompt is empty" in empty.text
    too_many = _try(admin, server, LLM, "generate", prompt="hi", max_new_tokens="100000")
    assert "between 1 and 256" in too_many.text
    unknown = _try(admin, server, LLM, "juggle", prompt="hi")
    assert unknown.status_code == 404
    wrong_task = _try(admin, server, EMB, "classify", text=HOSTILE)
    assert 'role="alert"' in wrong_task.text
    assert HOSTILE not in wrong_task.text


def test_the_update_form_changes_the_whole_configuration(
    server: RunningServer, admin: requests.Session, tiny_model_dir: Path
) -> None:
    body = {"name": "tuned", "model": {"repository": str(tiny_model_dir), "task": "sentence-embeddings"}}
    created = requests.post(f"{server.url}/v2/endpoint/local", json=body, headers=server.headers, timeout=30)
    assert created.status_code == 200, created.text
    form = admin.get(f"{server.url}/ui/endpoints/tuned/edit", timeout=30)
    assert form.status_code == 200
    assert f'value="{tiny_model_dir}"' in form.text
    fields = {
        "csrf": csrf_of(form.text),
        "repository": str(tiny_model_dir),
        "task": "sentence-embeddings",
        "type": "protected",
        "env": f"MAX_BATCH_TOKENS=4096\nNOTE={HOSTILE}",
        "min": "1",
        "max": "2",
        "metric": "pendingRequests",
        "threshold": "3.5",
        "timeout": "15",
    }
    url = f"{server.url}/ui/endpoints/tuned/edit"
    refused = admin.post(url, data={**fields, "env": "no equals sign"}, timeout=30)
    assert refused.status_code == 422
    assert "Environment line 1 is not KEY=VALUE" in refused.text
    assert "no equals sign</textarea>" in refused.text  # what the user typed stays on the form
    too_many = admin.post(url, data={**fields, "min": "3"}, timeout=30)
    assert too_many.status_code == 422
    assert "minReplica (3) cannot be above maxReplica (2)" in too_many.text
    assert _state(server, "tuned")["compute"]["scaling"]["maxReplica"] == 1  # a refusal changed nothing
    updated = admin.post(url, data=fields, timeout=30)
    assert updated.url.endswith("/ui/endpoints/tuned"), updated.text
    described = _state(server, "tuned")
    assert described["model"]["env"] == {"MAX_BATCH_TOKENS": "4096", "NOTE": HOSTILE}
    assert described["compute"]["scaling"] == {
        "minReplica": 1,
        "maxReplica": 2,
        "scaleToZeroTimeout": 15,
        "measure": {"pendingRequests": 3.5},
    }
    again = admin.get(f"{server.url}/ui/endpoints/tuned/edit", timeout=30)
    assert f"NOTE={ESCAPED}" in again.text
    assert 'value="3.5"' in again.text
    assert 'value="pendingRequests" selected' in again.text
    cleared = admin.post(
        url, data={**fields, "env": "", "metric": "", "threshold": "", "timeout": ""}, timeout=30
    )
    assert cleared.status_code == 200
    scaling = _state(server, "tuned")["compute"]["scaling"]
    assert (scaling["scaleToZeroTimeout"], scaling["measure"]) == (None, None)
    assert _state(server, "tuned")["model"]["env"] == {}


def _state(server: RunningServer, name: str) -> dict[str, Any]:
    reply = requests.get(f"{server.url}/v2/endpoint/local/{name}", headers=server.headers, timeout=30)
    assert reply.status_code == 200
    described: dict[str, Any] = reply.json()
    return described


def test_without_scripts_a_playground_form_answers_with_the_whole_page(
    server: RunningServer, admin: requests.Session
) -> None:
    page = admin.get(f"{server.url}/ui/endpoints/{LLM}", timeout=30)
    reply = admin.post(
        f"{server.url}/ui/endpoints/{LLM}/try/generate",
        data={"csrf": csrf_of(page.text), "prompt": HOSTILE, "max_new_tokens": "3", "full": "on"},
        timeout=60,
    )
    assert reply.status_code == 200
    assert f"<h1>{LLM}</h1>" in reply.text
    assert f'<pre class="generated" id="try-generate-text" data-state="done">{ESCAPED}' in reply.text
    assert f">{ESCAPED}</textarea>" in reply.text  # the prompt stays in its form
    assert 'id="try-generate-full" name="full" checked' in reply.text


def test_the_create_form_takes_the_scaling_and_env_fields_too(
    server: RunningServer, admin: requests.Session, tiny_model_dir: Path
) -> None:
    form = admin.get(f"{server.url}/ui/endpoints/new", timeout=30)
    assert form.status_code == 200
    fields = {
        "csrf": csrf_of(form.text),
        "name": "scaled-from-form",
        "repository": str(tiny_model_dir),
        "task": "sentence-embeddings",
        "type": "protected",
        "env": "MAX_BATCH_TOKENS=2048",
        "min": "0",
        "max": "2",
        "metric": "hardwareUsage",
        "threshold": "70",
        "timeout": "20",
    }
    refused = admin.post(f"{server.url}/ui/endpoints", data={**fields, "threshold": "lots"}, timeout=30)
    assert refused.status_code == 422
    assert "The threshold must be a number" in refused.text
    assert 'value="scaled-from-form"' in refused.text  # what the user typed stays on the form
    missing = requests.get(
        f"{server.url}/v2/endpoint/local/scaled-from-form", headers=server.headers, timeout=30
    )
    assert missing.status_code == 404  # a refusal created nothing
    created = admin.post(f"{server.url}/ui/endpoints", data=fields, timeout=30)
    assert created.url.endswith("/ui/endpoints/scaled-from-form"), created.text
    described = _state(server, "scaled-from-form")
    assert described["model"]["env"] == {"MAX_BATCH_TOKENS": "2048"}
    assert described["compute"]["scaling"] == {
        "minReplica": 0,
        "maxReplica": 2,
        "scaleToZeroTimeout": 20,
        "measure": {"hardwareUsage": 70.0},
    }
