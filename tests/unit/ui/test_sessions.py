"""Dashboard sessions: found by id while fresh, gone once idle too long, ended, or pushed out."""

from __future__ import annotations

from inferhouse.ui.sessions import SessionStore


def test_a_session_is_found_by_its_id_until_it_ends() -> None:
    store = SessionStore()
    session = store.start("ih_token", "admin", "admin")
    assert store.find(session.id) is session
    assert session.token == "ih_token"
    assert session.id != session.csrf
    store.end(session.id)
    assert store.find(session.id) is None


def test_an_idle_session_expires() -> None:
    store = SessionStore(idle_seconds=0)
    session = store.start("ih_token", "admin", "admin")
    session.last_seen -= 1
    assert store.find(session.id) is None


def test_the_least_recently_used_session_goes_first_when_full() -> None:
    store = SessionStore(limit=2)
    first, second = store.start("a", "a", "user"), store.start("b", "b", "user")
    assert store.find(first.id) is first  # now the most recently used
    store.start("c", "c", "user")
    assert store.find(second.id) is None
    assert store.find(first.id) is first


def test_the_csrf_check_takes_only_the_sessions_own_value() -> None:
    session = SessionStore().start("t", "n", "user")
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("")
    assert not session.csrf_matches(session.csrf + "x")


def test_unknown_and_missing_ids_find_nothing() -> None:
    store = SessionStore()
    assert store.find(None) is None
    assert store.find("") is None
    assert store.find("not-a-session") is None
