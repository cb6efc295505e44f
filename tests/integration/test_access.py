"""Who may manage and call what, against a real server: every management route against every kind of
token, local model paths outside the model roots, names hidden from requests without a token, and a data
directory only its owner reads."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from inferhouse.auth import SqliteTokenTable, TokenStore
from inferhouse.storage import Database
from tests.conftest import TINY_ID
from tests.support.server import RunningServer, start_server

API = "/v2/endpoint/local"
DECLARED = "declared-tiny"
PUBLIC = "open-tiny"


@pytest.fixture(scope="module")
def model_root(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A model root with a model in it (a copy of the tiny model)."""
    import shutil

    root = tmp_path_factory.mktemp("model-root")
    shutil.copytree(tiny_model_dir, root / "tiny")
    return root


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, model_root: Path
) -> Iterator[RunningServer]:
    declared = [
        {"name": DECLARED, "model": TINY_ID, "task": "feature-extraction", "type": "private"},
        {"name": PUBLIC, "model": TINY_ID, "task": "feature-extraction", "type": "public"},
    ]
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_MODELS": json.dumps({TINY_ID: str(tiny_model_dir)}),
        "INFERHOUSE_ENDPOINTS": json.dumps(declared),
        "INFERHOUSE_MODEL_ROOTS": json.dumps([str(model_root)]),
    }
    running = start_server(tmp_path_factory.mktemp("access-data"), env=env)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tokens(server: RunningServer) -> Iterator[TokenStore]:
    db = Database.in_data_dir(server.data_dir)
    yield TokenStore(SqliteTokenTable(db))
    db.close()


@pytest.fixture(scope="module")
def creator(tokens: TokenStore) -> dict[str, str]:
    """The general user token that creates the endpoints under test."""
    return _bearer(tokens.create("creator"))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _body(name: str, repository: str = TINY_ID, access: str = "private") -> dict[str, Any]:
    return {
        "name": name,
        "type": access,
        "model": {"repository": repository, "task": "feature-extraction", "env": {"KEPT": "1"}},
        "compute": {"scaling": {"minReplica": 1, "maxReplica": 1}},
    }


def _as_admin(server: RunningServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, server.url + API + path, headers=server.headers, timeout=30, **kwargs)


def _wait_settled(server: RunningServer, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        described = _as_admin(server, "GET", f"/{name}").json()
        if described["status"]["state"] not in ("pending", "initializing", "updating"):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.1)


# -- the management matrix ----------------------------------------------------------------------------

KINDS = [
    "anonymous",
    "admin",
    "creator",  # the general token that created the endpoint
    "other-user",  # a general token that did not
    "scoped-manage",  # scoped: may manage (and call) the endpoint
    "scoped-call",  # scoped: may call the endpoint, which does not grant managing it
    "scoped-elsewhere",  # scoped: may manage another endpoint
]


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # under /v2/endpoint/local; {name} is the endpoint's
    body: dict[str, Any] | None = None


ROUTES = [
    Route("list", "GET", ""),
    Route("create", "POST", ""),
    Route("get", "GET", "/{name}"),
    # The takeover: a private endpoint made public, with a new model.env.
    Route("update", "PUT", "/{name}", {"type": "public", "model": {"env": {"TAKEN": "over"}}}),
    Route("delete", "DELETE", "/{name}"),
    Route("pause", "POST", "/{name}/pause"),
    Route("resume", "POST", "/{name}/resume"),
    Route("scale-to-zero", "POST", "/{name}/scale-to-zero"),
    Route("logs", "GET", "/{name}/logs"),
    Route("metrics", "GET", "/{name}/metrics"),
]


def _headers_for(
    kind: str, name: str, server: RunningServer, tokens: TokenStore, creator: dict[str, str]
) -> dict[str, str]:
    made: dict[str, Callable[[], dict[str, str]]] = {
        "anonymous": dict,
        "admin": lambda: server.headers,
        "creator": lambda: creator,
        "other-user": lambda: _bearer(tokens.create("other")),
        "scoped-manage": lambda: _bearer(tokens.create("manager", manages=[name])),
        "scoped-call": lambda: _bearer(tokens.create("caller", endpoints=[name])),
        "scoped-elsewhere": lambda: _bearer(tokens.create("elsewhere", manages=[DECLARED])),
    }
    return made[kind]()


def _expected(kind: str, route: str) -> int:
    if kind == "anonymous":
        return 401
    if kind in ("admin", "creator"):
        return 200
    if route == "create":  # general tokens create; scoped ones stay within their endpoints
        return 200 if kind == "other-user" else 403
    if route == "list":  # the list shows what the token may manage; a token that manages nothing: 403
        return 403 if kind == "scoped-call" else 200
    return 200 if kind == "scoped-manage" else 403


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_management_route_by_token_kind(
    route: Route, kind: str, server: RunningServer, tokens: TokenStore, creator: dict[str, str]
) -> None:
    name = f"m-{route.name}-{kind}"[:32].rstrip("-")
    created = requests.post(server.url + API, json=_body(name), headers=creator, timeout=30)
    assert created.status_code == 200, created.text
    if route.name == "resume":
        assert _as_admin(server, "POST", f"/{name}/pause").status_code == 200
    headers = _headers_for(kind, name, server, tokens, creator)
    before = _as_admin(server, "GET", f"/{name}").json()
    body = _body(f"{name}-new") if route.name == "create" else route.body
    try:
        res = requests.request(
            route.method,
            server.url + API + route.path.format(name=name),
            json=body,
            headers=headers,
            timeout=30,
        )
        expected = _expected(kind, route.name)
        assert res.status_code == expected, res.text
        if expected == 200:
            _check_done(route.name, kind, name, res, server)
        else:
            _check_unchanged(name, before, res, server)
    finally:
        _as_admin(server, "DELETE", f"/{name}")
        _as_admin(server, "DELETE", f"/{name}-new")


def _check_done(route: str, kind: str, name: str, res: requests.Response, server: RunningServer) -> None:
    after = _as_admin(server, "GET", f"/{name}")
    if route == "list":
        listed = {item["name"] for item in res.json()["items"]}
        assert (name in listed) == (kind in ("admin", "creator", "scoped-manage"))
        assert (DECLARED in listed) == (kind in ("admin", "scoped-elsewhere"))  # no creator: admin-only
    elif route == "create":
        assert _as_admin(server, "GET", f"/{name}-new").status_code == 200
    elif route == "get":
        assert res.json()["name"] == name
    elif route == "update":
        assert after.json()["type"] == "public"
        assert after.json()["model"]["env"] == {"TAKEN": "over"}
    elif route == "delete":
        assert after.status_code == 404
    elif route == "pause":
        assert after.json()["status"]["state"] == "paused"
    elif route == "resume":
        assert after.json()["status"]["state"] in ("initializing", "running")
    elif route == "scale-to-zero":
        assert after.json()["status"]["state"] == "scaledToZero"
    elif route == "logs":
        assert "created" in res.text


def _check_unchanged(
    name: str, before: dict[str, Any], res: requests.Response, server: RunningServer
) -> None:
    """A refused request changes nothing and tells nothing of the endpoint's configuration."""
    assert "KEPT" not in res.text
    after = _as_admin(server, "GET", f"/{name}")
    assert after.status_code == 200
    assert {key: value for key, value in after.json().items() if key != "status"} == {
        key: value for key, value in before.items() if key != "status"
    }
    was = before["status"]["state"]
    now = after.json()["status"]["state"]
    assert now == "paused" if was == "paused" else now in ("pending", "initializing", "running")


def test_a_token_without_management_grants_reaches_no_management_route(
    server: RunningServer, tokens: TokenStore
) -> None:
    scoped = _bearer(tokens.create("caller", endpoints=[DECLARED]))
    res = requests.get(server.url + API, headers=scoped, timeout=30)
    assert res.status_code == 403
    assert "scoped" in res.json()["error"]


def test_endpoints_without_a_recorded_creator_are_managed_by_admins_only(
    server: RunningServer, tokens: TokenStore, creator: dict[str, str]
) -> None:
    # DECLARED comes from INFERHOUSE_ENDPOINTS: no token created it.
    for headers in (creator, _bearer(tokens.create("another"))):
        res = requests.put(
            f"{server.url}{API}/{DECLARED}", json={"type": "public"}, headers=headers, timeout=30
        )
        assert res.status_code == 403
        assert "may not manage" in res.json()["error"]
    assert _as_admin(server, "GET", f"/{DECLARED}").json()["type"] == "private"
    anonymous = requests.post(f"{server.url}/endpoints/{DECLARED}", json={"inputs": "x"}, timeout=30)
    assert anonymous.status_code == 401


# -- local model paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/root/.ssh", "/etc", "/no/such/dir", "~", "/tmp/../etc"])
def test_a_user_token_cannot_probe_the_filesystem(
    path: str, server: RunningServer, creator: dict[str, str], model_root: Path
) -> None:
    try:
        res = requests.post(server.url + API, json=_body("probe", path), headers=creator, timeout=30)
        assert res.status_code == 403
        # One message whether the directory exists or not: it only repeats what the caller sent.
        assert res.json()["error"].replace(path, "<path>") == (
            "Model directory <path> is not under a model root of this server "
            f"(INFERHOUSE_MODEL_ROOTS: {model_root}); name a model id, or ask an admin"
        )
        assert _as_admin(server, "GET", "/probe").status_code == 404
    finally:
        _as_admin(server, "DELETE", "/probe")


def test_a_user_token_names_directories_under_a_model_root(
    server: RunningServer, creator: dict[str, str], model_root: Path
) -> None:
    body = _body("rooted", str(model_root / "tiny"))
    assert requests.post(server.url + API, json=body, headers=creator, timeout=30).status_code == 200
    try:
        assert _wait_settled(server, "rooted")["status"]["state"] == "running"
        # Moving it outside the roots by an update is refused the same way, and changes nothing.
        moved = {"model": {"repository": "/etc"}}
        res = requests.put(f"{server.url}{API}/rooted", json=moved, headers=creator, timeout=30)
        assert res.status_code == 403
        assert "not under a model root" in res.json()["error"]
        assert _as_admin(server, "GET", "/rooted").json()["model"]["repository"] == str(model_root / "tiny")
    finally:
        _as_admin(server, "DELETE", "/rooted")


def test_an_admin_token_may_name_any_directory(server: RunningServer) -> None:
    res = _as_admin(server, "POST", "", json=_body("admin-path", "/no/such/dir"))
    try:
        assert res.status_code == 200
        described = _wait_settled(server, "admin-path")
        assert described["status"]["state"] == "failed"
        assert "does not exist" in described["status"]["message"]
    finally:
        _as_admin(server, "DELETE", "/admin-path")


def test_only_an_admin_turns_on_remote_code(
    server: RunningServer, creator: dict[str, str], model_root: Path
) -> None:
    remote = _body("remote", str(model_root / "tiny"))
    remote["model"]["env"] = {"HF_TRUST_REMOTE_CODE": "true"}
    res = requests.post(server.url + API, json=remote, headers=creator, timeout=30)
    assert res.status_code == 403
    assert "HF_TRUST_REMOTE_CODE" in res.json()["error"]
    assert _as_admin(server, "GET", "/remote").status_code == 404
    plain = _body("remote", str(model_root / "tiny"))
    assert requests.post(server.url + API, json=plain, headers=creator, timeout=30).status_code == 200
    try:
        _wait_settled(server, "remote")
        turn_on = {"model": {"env": {"HF_TRUST_REMOTE_CODE": "1"}}}
        res = requests.put(f"{server.url}{API}/remote", json=turn_on, headers=creator, timeout=30)
        assert res.status_code == 403
        assert _as_admin(server, "GET", "/remote").json()["model"]["env"] == {"KEPT": "1"}
        # Once an admin has allowed it for this model, its creator may go on updating the endpoint.
        assert _as_admin(server, "PUT", "/remote", json=turn_on).status_code == 200
        _wait_settled(server, "remote")
        scale = {"compute": {"scaling": {"minReplica": 0, "maxReplica": 1}}}
        res = requests.put(f"{server.url}{API}/remote", json=scale, headers=creator, timeout=30)
        assert res.status_code == 200, res.text
    finally:
        _as_admin(server, "DELETE", "/remote")


# -- names hidden from requests without a token --------------------------------------------------------

CALL_ROUTES = [
    ("POST", "/endpoints/{name}"),
    ("GET", "/endpoints/{name}/health"),
    ("POST", "/endpoints/{name}/embed"),
    ("GET", "/endpoints/{name}/info"),
    ("POST", "/endpoints/{name}/v1/embeddings"),
    ("POST", "/endpoints/{name}/generate"),
    ("GET", API + "/{name}"),
    ("POST", API + "/{name}/pause"),
]


@pytest.mark.parametrize(("method", "path"), CALL_ROUTES)
def test_without_a_token_an_unknown_name_and_a_private_one_look_the_same(
    method: str, path: str, server: RunningServer
) -> None:
    body = {"inputs": "x"}
    private = requests.request(method, server.url + path.format(name=DECLARED), json=body, timeout=30)
    unknown = requests.request(method, server.url + path.format(name="no-such-one"), json=body, timeout=30)
    assert private.status_code == unknown.status_code == 401
    assert private.text.replace(DECLARED, "NAME") == unknown.text.replace("no-such-one", "NAME")


@pytest.mark.parametrize("path", ["/v1/embeddings", "/v1/chat/completions", f"/models/{TINY_ID}"])
def test_without_a_token_model_routes_answer_401_whatever_the_name(path: str, server: RunningServer) -> None:
    for model in (DECLARED, "no-such-one"):
        res = requests.post(server.url + path, json={"model": model, "input": "x", "inputs": "x"}, timeout=30)
        assert res.status_code == 401


def test_health_names_public_endpoints_only_unless_asked_by_an_admin(
    server: RunningServer, creator: dict[str, str]
) -> None:
    for headers in ({}, creator, _bearer("ih_not-a-token")):
        res = requests.get(server.url + "/health", headers=headers, timeout=30)
        assert res.status_code == 200
        assert set(res.json()["endpoints"]) == {PUBLIC}
    everything = requests.get(server.url + "/health", headers=server.headers, timeout=30).json()["endpoints"]
    assert {DECLARED, PUBLIC} <= set(everything)


# -- the data directory -------------------------------------------------------------------------------


def test_the_data_directory_is_readable_by_its_owner_only(tmp_path: Path, tiny_model_dir: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_MODELS": json.dumps({TINY_ID: str(tiny_model_dir)}),
        # ONNX Runtime, so its export lands in the data directory too.
        "INFERHOUSE_ENDPOINTS": json.dumps([{"name": "tiny", "model": TINY_ID, "backend": "onnx"}]),
    }
    running = start_server(data_dir, env=env)
    try:
        url, headers = running.url, running.headers
        index = {"name": "owned", "dimension": 2, "metric": "cosine", "spec": {"serverless": {}}}
        assert requests.post(url + "/indexes", json=index, headers=headers, timeout=30).status_code in (
            200,
            201,
        )
        vectors = {"vectors": [{"id": "a", "values": [0.1, 0.2]}]}
        upserted = requests.post(
            url + "/indexes/owned/vectors/upsert", json=vectors, headers=headers, timeout=30
        )
        assert upserted.status_code == 200, upserted.text
        embedded = requests.post(url + "/endpoints/tiny", json={"inputs": "x"}, headers=headers, timeout=60)
        assert embedded.status_code == 200, embedded.text
        seen = _modes(data_dir)
    finally:
        running.stop()
    assert any(path.endswith(".sqlite3") for path in seen), seen
    assert any(path.endswith("-wal") for path in seen), seen
    assert any(path.startswith("onnx/") for path in seen), seen
    loose = {path: oct(mode) for path, mode in seen.items() if mode & 0o077}
    assert loose == {}


def _modes(data_dir: Path) -> dict[str, int]:
    """Every entry's permission bits, the data directory's own as "."; the test's server log is not the
    server's."""
    modes = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for path in data_dir.rglob("*"):
        relative = str(path.relative_to(data_dir))
        if relative != "server.log":
            modes[relative] = stat.S_IMODE(path.lstat().st_mode)
    return modes


def test_an_unknown_model_error_does_not_name_private_endpoints(
    server: RunningServer, creator: dict[str, str]
) -> None:
    body = {"name": "by-model", "embed": {"model": "no-such-model", "field_map": {"text": "text"}}}
    res = requests.post(server.url + "/indexes/create-for-model", json=body, headers=creator, timeout=30)
    assert res.status_code == 400
    message = res.json()["error"]["message"]
    assert PUBLIC in message
    assert DECLARED not in message
