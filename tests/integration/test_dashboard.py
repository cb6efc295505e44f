"""The dashboard over HTTP: sessions, CSRF, the Content-Security-Policy, escaping, and that a token sees
through it only what the API lets it see."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.dashboard import admin_session, csrf_of, sign_in
from tests.support.server import RunningServer, start_server

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[RunningServer]:
    endpoints = [
        {"name": "mine", "model": str(tiny_model_dir), "task": "sentence-embeddings"},
        {"name": "theirs", "model": str(tiny_model_dir), "task": "sentence-embeddings"},
    ]
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ENDPOINTS": json.dumps(endpoints)}
    running = start_server(tmp_path_factory.mktemp("ui-data"), env=env)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(ui_server: RunningServer) -> requests.Session:
    return admin_session(ui_server.url, ui_server.token)


def _token(server: RunningServer, **body: object) -> dict[str, str]:
    reply = requests.post(server.url + "/api/tokens", json=body, headers=server.headers, timeout=30)
    assert reply.status_code == 201, reply.text
    created: dict[str, str] = reply.json()
    return created


def _state(server: RunningServer, name: str) -> str:
    reply = requests.get(f"{server.url}/v2/endpoint/local/{name}", headers=server.headers, timeout=30)
    state: str = reply.json()["status"]["state"]
    return state


def test_the_root_and_every_page_lead_to_sign_in_without_a_session(ui_server: RunningServer) -> None:
    root = requests.get(ui_server.url + "/", allow_redirects=False, timeout=30)
    assert root.status_code == 307
    assert root.headers["location"] == "/ui"
    for page in ("/ui", "/ui/endpoints", "/ui/endpoints/mine", "/ui/tokens", "/ui/indexes"):
        reply = requests.get(ui_server.url + page, allow_redirects=False, timeout=30)
        assert reply.status_code == 303, page
        assert reply.headers["location"] == "/ui/signin"


def test_pages_forbid_remote_and_inline_scripts(ui_server: RunningServer, admin: requests.Session) -> None:
    for page in ("/ui/signin", "/ui/endpoints", "/ui/endpoints/mine"):
        reply = (admin if page != "/ui/signin" else requests).get(ui_server.url + page, timeout=30)
        policy = reply.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
        assert reply.headers["cache-control"] == "no-store"
        assert "<script>" not in reply.text  # the one script is an external file of /ui/static
        assert 'src="/ui/static/htmx/htmx.min.js"' in reply.text
    script = requests.get(ui_server.url + "/ui/static/htmx/htmx.min.js", timeout=30)
    assert script.status_code == 200
    assert "htmx" in script.text


def test_a_bad_token_is_refused_and_a_good_one_gets_an_http_only_strict_cookie(
    ui_server: RunningServer,
) -> None:
    browser, refused = sign_in(ui_server.url, "ih_not-a-token")
    assert refused.status_code == 401
    assert "not valid" in refused.text
    assert "inferhouse_session" not in browser.cookies
    assert ui_server.token is not None
    browser, reply = sign_in(ui_server.url, ui_server.token)
    assert reply.status_code == 200
    assert reply.url.endswith("/ui/endpoints")
    cookie = reply.history[0].headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert ui_server.token not in cookie
    assert ui_server.token not in reply.text
    assert ui_server.token not in ui_server.log()


def test_signing_in_needs_the_forms_own_csrf_value(ui_server: RunningServer) -> None:
    assert ui_server.token is not None
    reply = requests.post(
        ui_server.url + "/ui/signin", data={"csrf": "forged", "token": ui_server.token}, timeout=30
    )
    assert reply.status_code == 403
    assert "inferhouse_session" not in reply.cookies


def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    url = ui_server.url + "/ui/endpoints/mine/action/pause"
    for fields in ({}, {"csrf": "forged"}):
        refused = admin.post(url, data=fields, allow_redirects=False, timeout=30)
        assert refused.status_code == 403
        assert _state(ui_server, "mine") == "running"
    for page in ("/ui/endpoints/mine/delete", "/ui/tokens"):
        assert admin.post(ui_server.url + page, data={}, timeout=30).status_code == 403
    assert _state(ui_server, "mine") == "running"


def test_pause_and_resume_with_the_csrf_token(ui_server: RunningServer, admin: requests.Session) -> None:
    page = admin.get(ui_server.url + "/ui/endpoints/mine", timeout=30)
    csrf = csrf_of(page.text)
    paused = admin.post(ui_server.url + "/ui/endpoints/mine/action/pause", data={"csrf": csrf}, timeout=30)
    assert paused.status_code == 200
    assert 'data-state="paused"' in paused.text
    admin.post(ui_server.url + "/ui/endpoints/mine/action/resume", data={"csrf": csrf}, timeout=30)
    deadline = time.monotonic() + 60
    while _state(ui_server, "mine") != "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _state(ui_server, "mine") == "running"


def test_a_hostile_token_name_and_model_are_shown_as_text(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    _token(ui_server, name=HOSTILE)
    tokens = admin.get(ui_server.url + "/ui/tokens", timeout=30)
    assert ESCAPED in tokens.text
    assert HOSTILE not in tokens.text
    form = admin.get(ui_server.url + "/ui/endpoints/new", timeout=30)
    fields = {
        "csrf": csrf_of(form.text),
        "name": "hostile",
        "repository": HOSTILE,
        "task": "",
        "type": "protected",
    }
    created = admin.post(ui_server.url + "/ui/endpoints", data={**fields, "min": "1", "max": "1"}, timeout=30)
    for page in (created.text, admin.get(ui_server.url + "/ui/endpoints", timeout=30).text):
        assert HOSTILE not in page
        assert ESCAPED in page
    deadline = time.monotonic() + 60
    while _state(ui_server, "hostile") != "failed" and time.monotonic() < deadline:
        time.sleep(0.2)
    live = admin.get(ui_server.url + "/ui/endpoints/hostile/live", timeout=30)
    assert 'data-state="failed"' in live.text
    assert "Failed: " in live.text  # the loader's message, which names the repository
    assert HOSTILE not in live.text


def test_a_token_is_shown_once_never_listed_and_revoked_from_the_page(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    page = admin.get(ui_server.url + "/ui/tokens", timeout=30)
    created = admin.post(
        ui_server.url + "/ui/tokens", data={"csrf": csrf_of(page.text), "name": "ci-bot"}, timeout=30
    )
    assert created.status_code == 200
    assert created.history[0].status_code == 303  # a reload does not post the form again
    token = created.text.split('<code id="new-token">')[1].split("</code>")[0]
    assert token.startswith("ih_")
    again = admin.get(ui_server.url + "/ui/tokens", timeout=30)
    assert token not in again.text
    assert "ci-bot" in again.text
    listed = requests.get(ui_server.url + "/api/tokens", headers=ui_server.headers, timeout=30).json()[
        "items"
    ]
    (entry,) = [item for item in listed if item["name"] == "ci-bot"]
    assert token not in json.dumps(listed)
    revoked = admin.post(
        f"{ui_server.url}/ui/tokens/{entry['id']}/revoke", data={"csrf": csrf_of(again.text)}, timeout=30
    )
    assert revoked.status_code == 200
    assert (
        requests.get(
            ui_server.url + "/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).status_code
        == 401
    )


def test_a_token_used_once_shows_when_in_the_api_and_on_the_page(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    created = _token(ui_server, name="used-once")
    unused = _token(ui_server, name="never-used")

    def listed() -> dict[str, dict[str, object]]:
        reply = requests.get(ui_server.url + "/api/tokens", headers=ui_server.headers, timeout=30)
        return {item["id"]: item for item in reply.json()["items"]}

    assert listed()[created["id"]]["lastUsed"] is None
    before = time.time()
    as_it = {"Authorization": f"Bearer {created['token']}"}
    assert requests.get(ui_server.url + "/api/whoami-v2", headers=as_it, timeout=30).status_code == 200
    deadline = time.monotonic() + 10  # the use is written off the request's path
    while listed()[created["id"]]["lastUsed"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    last_used = listed()[created["id"]]["lastUsed"]
    assert isinstance(last_used, float)
    assert before - 1 <= last_used <= time.time()
    assert listed()[unused["id"]]["lastUsed"] is None
    assert created["token"] not in json.dumps(listed())

    page = admin.get(ui_server.url + "/ui/tokens", timeout=30).text
    row = page.split(f"<code>{created['id']}</code>")[1].split("</tr>")[0]
    shown = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(last_used))
    assert f'<td data-label="Last used">{shown}</td>' in row
    never = page.split(f"<code>{unused['id']}</code>")[1].split("</tr>")[0]
    assert '<td data-label="Last used">never</td>' in never


def test_a_scoped_token_sees_only_its_endpoint(ui_server: RunningServer) -> None:
    scoped = _token(ui_server, name="mine-only", manages=["mine"])
    browser, reply = sign_in(ui_server.url, scoped["token"])
    assert reply.status_code == 200
    assert "/ui/endpoints/mine" in reply.text
    assert "theirs" not in reply.text
    assert browser.get(ui_server.url + "/ui/endpoints/theirs", timeout=30).status_code == 403
    tokens = browser.get(ui_server.url + "/ui/tokens", timeout=30)
    assert "may only call those" in tokens.text
    assert "New token" not in tokens.text
    assert "may only call those" in browser.get(ui_server.url + "/ui/indexes", timeout=30).text


def test_the_playground_embeds_and_shows_code_with_the_real_url(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    page = admin.get(ui_server.url + "/ui/endpoints/theirs", timeout=30)
    reply = admin.post(
        ui_server.url + "/ui/endpoints/theirs/embed",
        data={"csrf": csrf_of(page.text), "texts": "a cat\na dog"},
        headers={"HX-Request": "true"},
        timeout=60,
    )
    assert reply.status_code == 200
    assert '<span id="dimensions">' in reply.text
    assert "1.000" in reply.text  # each text is itself
    assert f"{ui_server.url}/endpoints/theirs/embed" in reply.text
    assert ui_server.token is not None
    assert ui_server.token not in reply.text


def test_scale_to_zero_then_delete_after_confirming(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    requests.post(
        ui_server.url + "/v2/endpoint/local",
        json={
            "name": "doomed",
            "model": {"repository": _repository(ui_server), "task": "sentence-embeddings"},
        },
        headers=ui_server.headers,
        timeout=30,
    ).raise_for_status()
    page = admin.get(ui_server.url + "/ui/endpoints/doomed", timeout=30)
    csrf = csrf_of(page.text)
    scaled = admin.post(
        ui_server.url + "/ui/endpoints/doomed/action/scale-to-zero", data={"csrf": csrf}, timeout=30
    )
    assert 'data-state="scaledToZero"' in scaled.text
    confirm = admin.get(ui_server.url + "/ui/endpoints/doomed/delete", timeout=30)
    assert "Delete endpoint doomed?" in confirm.text
    assert _state(ui_server, "doomed") == "scaledToZero"  # asking changes nothing
    deleted = admin.post(
        ui_server.url + "/ui/endpoints/doomed/delete", data={"csrf": csrf_of(confirm.text)}, timeout=30
    )
    assert deleted.url.endswith("/ui/endpoints")
    assert "/ui/endpoints/doomed" not in deleted.text
    gone = requests.get(ui_server.url + "/v2/endpoint/local/doomed", headers=ui_server.headers, timeout=30)
    assert gone.status_code == 404


def _repository(server: RunningServer) -> str:
    reply = requests.get(server.url + "/v2/endpoint/local/mine", headers=server.headers, timeout=30)
    repository: str = reply.json()["model"]["repository"]
    return repository


def test_revoking_the_signed_in_token_ends_its_session(ui_server: RunningServer) -> None:
    created = _token(ui_server, name="short-lived")
    browser, reply = sign_in(ui_server.url, created["token"])
    assert reply.status_code == 200
    session = {"inferhouse_session": browser.cookies["inferhouse_session"]}
    requests.delete(f"{ui_server.url}/api/tokens/{created['id']}", headers=ui_server.headers, timeout=30)
    for page in ("/ui/endpoints", "/ui/tokens"):
        after = requests.get(ui_server.url + page, cookies=session, allow_redirects=False, timeout=30)
        assert after.status_code == 303
        assert after.headers["location"] == "/ui/signin"


def test_signing_out_forgets_the_session(ui_server: RunningServer) -> None:
    assert ui_server.token is not None
    browser, reply = sign_in(ui_server.url, ui_server.token)
    cookie = browser.cookies["inferhouse_session"]
    out = browser.post(ui_server.url + "/ui/signout", data={"csrf": csrf_of(reply.text)}, timeout=30)
    assert out.url.endswith("/ui/signin")
    stale = requests.get(
        ui_server.url + "/ui/endpoints",
        cookies={"inferhouse_session": cookie},
        allow_redirects=False,
        timeout=30,
    )
    assert stale.status_code == 303


def test_the_token_api_is_for_admin_tokens_and_checks_its_body(ui_server: RunningServer) -> None:
    user = _token(ui_server, name="plain")
    as_user = {"Authorization": f"Bearer {user['token']}"}
    for method, path in (
        ("GET", "/api/tokens"),
        ("POST", "/api/tokens"),
        ("DELETE", f"/api/tokens/{user['id']}"),
    ):
        reply = requests.request(method, ui_server.url + path, json={}, headers=as_user, timeout=30)
        assert reply.status_code == 403, (method, path)
    bad = requests.post(
        ui_server.url + "/api/tokens", json={"manages": ["Not A Name"]}, headers=ui_server.headers, timeout=30
    )
    assert bad.status_code == 422
    unknown = requests.delete(
        ui_server.url + "/api/tokens/0123456789abcdef", headers=ui_server.headers, timeout=30
    )
    assert unknown.status_code == 404
    assert requests.get(ui_server.url + "/api/whoami-v2", headers=as_user, timeout=30).status_code == 200


def test_what_the_api_refuses_is_a_page_with_its_status_not_a_server_error(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    for page in ("/ui/endpoints/nowhere", "/ui/endpoints/nowhere/live", "/ui/endpoints/nowhere/logs"):
        reply = admin.get(ui_server.url + page, timeout=30)
        assert reply.status_code == 404, page
        assert "Endpoint nowhere not found" in reply.text
        assert "content-security-policy" in reply.headers
    csrf = csrf_of(admin.get(ui_server.url + "/ui/endpoints/mine", timeout=30).text)
    assert (
        admin.post(
            ui_server.url + "/ui/endpoints/nowhere/delete", data={"csrf": csrf}, timeout=30
        ).status_code
        == 404
    )


def test_update_the_replica_range_and_see_a_refusal_explained(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    model = {"repository": _repository(ui_server), "task": "sentence-embeddings"}
    requests.post(
        ui_server.url + "/v2/endpoint/local",
        json={"name": "rescaled", "model": model},
        headers=ui_server.headers,
        timeout=30,
    ).raise_for_status()
    csrf = csrf_of(admin.get(ui_server.url + "/ui/endpoints/rescaled", timeout=30).text)
    url = ui_server.url + "/ui/endpoints/rescaled/scaling"
    refused = admin.post(url, data={"csrf": csrf, "min": "3", "max": "2"}, timeout=30)
    assert refused.status_code == 422
    assert "minReplica (3) cannot be above maxReplica (2)" in refused.text
    updated = admin.post(url, data={"csrf": csrf, "min": "0", "max": "2"}, timeout=30)
    assert updated.url.endswith("/ui/endpoints/rescaled")
    described = requests.get(
        ui_server.url + "/v2/endpoint/local/rescaled", headers=ui_server.headers, timeout=30
    )
    assert described.json()["compute"]["scaling"] | {"measure": None} == {
        "minReplica": 0,
        "maxReplica": 2,
        "scaleToZeroTimeout": None,
        "measure": None,
    }
    assert described.json()["model"]["task"] == "sentence-embeddings"  # the rest kept


def test_with_authentication_off_signing_in_needs_no_token(tmp_path: Path) -> None:
    env = {"INFERHOUSE_AUTH": "false", "INFERHOUSE_DEFAULT_ENDPOINT": "false"}
    server = start_server(tmp_path / "data", token=None, env=env)
    try:
        form = requests.get(server.url + "/ui/signin", timeout=30)
        assert "checks no tokens" in form.text
        browser, reply = sign_in(server.url, "")
        assert reply.status_code == 200
        assert "operator (admin)" in reply.text
        assert browser.get(server.url + "/ui/tokens", timeout=30).status_code == 200
    finally:
        server.stop()
