"""Signing in to the dashboard the way a browser's form does, for HTTP-level tests."""

from __future__ import annotations

import re

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
