"""Signing in to the dashboard the way a browser's form does, for HTTP-level tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(url: str, token: str) -> tuple[requests.Session, requests.Response]:
    """A session signed in with ``token`` (or refused: the reply says which)."""
    browser = requests.Session()
    form = browser.get(url + "/ui/signin", timeout=30)
    reply = browser.post(url + "/ui/signin", data={"csrf": csrf_of(form.text), "token": token}, timeout=30)
    return browser, reply


def admin_session(url: str, token: str | None) -> requests.Session:
    """A session signed in with the server's admin token (the fixture most dashboard tests share)."""
    assert token is not None
    browser, reply = sign_in(url, token)
    assert reply.status_code == 200
    return browser


def declared_endpoints(model_dir: Path, *names: str) -> dict[str, str]:
    """A server's env with only ``names`` as endpoints, each the tiny sentence model at ``model_dir``."""
    endpoints = [{"name": name, "model": str(model_dir), "task": "sentence-embeddings"} for name in names]
    return {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ENDPOINTS": json.dumps(endpoints)}
