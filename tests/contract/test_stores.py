"""The store contracts (EndpointStore, InferenceStore, IndexCatalog, TokenTable), run against every
backend in ``STORE_BACKENDS``: what each stores comes back whole, names are unique where the contract
says so, and no token or secret is ever held in plain text."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import cast

import pytest
from cryptography.fernet import Fernet

from inferhouse.auth import StoredToken, TokenStore, TokenTable, UseRecorder, token_hash
from inferhouse.chunking import parse_chunking_settings
from inferhouse.endpoints.config import (
    ComputeConfig,
    EndpointConfig,
    EndpointStatus,
    ModelConfig,
    State,
    StoredEndpoint,
)
from inferhouse.errors import AlreadyExists, Conflict
from inferhouse.inference.config import InferenceConfig, TaskType
from inferhouse.inference.secrets import SecretBox
from inferhouse.vectors.catalog import to_document
from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.scoring import Metric
from tests.contract.store_backends import Stores


def _endpoint(name: str, state: State = State.PENDING, creator: str | None = "creator-id") -> StoredEndpoint:
    config = EndpointConfig(
        name, ModelConfig("org/model", task="feature-extraction"), ComputeConfig(max_replica=2)
    )
    return StoredEndpoint(
        config, EndpointStatus(state, None, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"), creator=creator
    )


def _inference(inference_id: str) -> InferenceConfig:
    return InferenceConfig(
        inference_id,
        TaskType.TEXT_EMBEDDING,
        "hugging_face",
        {"url": "http://127.0.0.1:9/embed", "dimensions": 8},
        chunking=parse_chunking_settings({"strategy": "word", "max_chunk_size": 50, "overlap": 10}),
    )


def _index(name: str) -> IndexConfig:
    return IndexConfig(
        name,
        8,
        Metric.DOTPRODUCT,
        tags={"team": "search"},
        spec={"serverless": {"cloud": "local", "region": "local"}},
        created_at=1700000000.5,
        embed={"model": "e5", "field_map": {"text": "body"}},
    )


def _json(records: list[StoredEndpoint]) -> list[dict[str, object]]:
    return [record.to_json() for record in records]


# -- endpoints ------------------------------------------------------------------------------------------


def test_endpoints_come_back_whole_and_ordered_by_name(stores: Stores) -> None:
    assert stores.endpoints.load_all() == []
    second, first = _endpoint("second"), _endpoint("first", State.RUNNING, creator=None)
    first.serving = first.config
    stores.endpoints.save(second)
    stores.endpoints.save(first)
    assert _json(stores.endpoints.load_all()) == _json([first, second])


def test_saving_an_endpoint_again_replaces_it(stores: Stores) -> None:
    stores.endpoints.save(_endpoint("one"))
    updated = _endpoint("one", State.FAILED)
    updated.status.message = "out of memory"
    stores.endpoints.save(updated)
    (found,) = stores.endpoints.load_all()
    assert found.to_json() == updated.to_json()


def test_deleting_an_endpoint_forgets_it_and_a_missing_one_is_no_error(stores: Stores) -> None:
    stores.endpoints.save(_endpoint("kept"))
    stores.endpoints.save(_endpoint("gone"))
    stores.endpoints.delete("gone")
    stores.endpoints.delete("never-stored")
    assert [record.config.name for record in stores.endpoints.load_all()] == ["kept"]


def test_an_edit_is_a_compare_and_set_on_the_revision(stores: Stores) -> None:
    created = _endpoint("edited")
    first = stores.endpoints.edit(created, None)
    (found,) = stores.endpoints.load_all()
    assert found.revision == first
    assert first != ""
    assert found.to_json() == created.to_json() | {"revision": first}
    paused = _endpoint("edited", State.PAUSED)
    second = stores.endpoints.edit(paused, first)
    assert second not in ("", first)
    (found,) = stores.endpoints.load_all()
    assert (found.status.state, found.revision) == (State.PAUSED, second)


def test_a_stale_edit_is_a_conflict_and_changes_nothing(stores: Stores) -> None:
    first = stores.endpoints.edit(_endpoint("raced"), None)
    second = stores.endpoints.edit(_endpoint("raced", State.PAUSED), first)
    with pytest.raises(Conflict) as raised:
        stores.endpoints.edit(_endpoint("raced", State.SCALED_TO_ZERO), first)
    assert raised.value.status_code == 409
    assert raised.value.kind == "conflict"
    with pytest.raises(AlreadyExists):  # expecting none: the name is taken
        stores.endpoints.edit(_endpoint("raced"), None)
    (found,) = stores.endpoints.load_all()
    assert (found.status.state, found.revision) == (State.PAUSED, second)


def test_an_edit_of_a_deleted_endpoint_is_a_conflict_and_a_new_one_never_repeats_a_revision(
    stores: Stores,
) -> None:
    first = stores.endpoints.edit(_endpoint("again"), None)
    stores.endpoints.delete("again")
    with pytest.raises(Conflict):
        stores.endpoints.edit(_endpoint("again", State.PAUSED), first)
    assert stores.endpoints.load_all() == []
    recreated = stores.endpoints.edit(_endpoint("again"), None)
    assert recreated != first  # a server still holding the first one sees a change


def test_of_edits_racing_from_one_revision_exactly_one_wins(open_stores: Callable[[], Stores]) -> None:
    """Two processes' stores on one database, four threads each: one create and one edit win each race."""
    opened = [open_stores(), open_stores()]
    barrier = threading.Barrier(8)

    def race(expected: str | None, state: State) -> list[str | type[Exception]]:
        def edit(stores: Stores) -> str | type[Exception]:
            barrier.wait(10)
            try:
                return stores.endpoints.edit(_endpoint("raced", state), expected)
            except (AlreadyExists, Conflict) as lost:
                return type(lost)

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(edit, [opened[n % 2] for n in range(8)]))

    created = race(None, State.PENDING)
    winners = [outcome for outcome in created if isinstance(outcome, str)]
    assert len(winners) == 1
    assert created.count(AlreadyExists) == 7
    paused = race(winners[0], State.PAUSED)
    won = [outcome for outcome in paused if isinstance(outcome, str)]
    assert len(won) == 1
    assert paused.count(Conflict) == 7
    assert [row.revision for row in opened[1].endpoints.load_all()] == won


def test_a_row_saved_before_revisions_is_edited_from_the_empty_revision(stores: Stores) -> None:
    stores.endpoints.save(_endpoint("older"))
    (found,) = stores.endpoints.load_all()
    assert found.revision == ""
    revision = stores.endpoints.edit(_endpoint("older", State.PAUSED), "")
    assert [row.revision for row in stores.endpoints.load_all()] == [revision]


def test_saving_keeps_the_revision_the_record_carries(stores: Stores) -> None:
    revision = stores.endpoints.edit(_endpoint("kept-revision"), None)
    running = _endpoint("kept-revision", State.RUNNING)
    running.revision = revision
    stores.endpoints.save(running)
    (found,) = stores.endpoints.load_all()
    assert (found.status.state, found.revision) == (State.RUNNING, revision)
    assert stores.endpoints.edit(_endpoint("kept-revision", State.PAUSED), revision) != revision


# -- inference configurations ---------------------------------------------------------------------------


def test_inference_configs_come_back_whole_with_their_sealed_secrets(stores: Stores) -> None:
    assert stores.inference.load_all() == []
    stores.inference.insert(_inference("b-embedder"), b"sealed-b")
    stores.inference.insert(_inference("a-embedder"), None)
    assert [config.to_json() for config in stores.inference.load_all()] == [
        _inference("a-embedder").to_json(),
        _inference("b-embedder").to_json(),
    ]
    assert stores.inference.sealed_secret("b-embedder") == b"sealed-b"
    assert stores.inference.sealed_secret("a-embedder") is None
    assert stores.inference.sealed_secret("unknown") is None


def test_an_inference_id_is_unique(stores: Stores) -> None:
    stores.inference.insert(_inference("embedder"), b"first")
    other = _inference("embedder")
    other.service_settings = {"url": "http://127.0.0.1:9/other"}
    with pytest.raises(AlreadyExists, match=r"Inference endpoint \[embedder\] already exists"):
        stores.inference.insert(other, b"second")
    (kept,) = stores.inference.load_all()
    assert kept.to_json() == _inference("embedder").to_json()
    assert stores.inference.sealed_secret("embedder") == b"first"


def test_deleting_an_inference_config_forgets_its_secret(stores: Stores) -> None:
    stores.inference.insert(_inference("embedder"), b"sealed")
    stores.inference.delete("embedder")
    stores.inference.delete("never-stored")
    assert stores.inference.load_all() == []
    assert stores.inference.sealed_secret("embedder") is None
    stores.inference.insert(_inference("embedder"), None)  # the id is free again
    assert stores.inference.sealed_secret("embedder") is None


def test_a_secret_is_stored_sealed_never_in_plain_text(stores: Stores) -> None:
    box = SecretBox(Fernet.generate_key())
    stores.inference.insert(_inference("embedder"), box.seal("hf_plain_secret_value"))
    assert "hf_plain_secret_value" not in stores.dump()
    sealed = stores.inference.sealed_secret("embedder")
    assert sealed is not None
    assert b"hf_plain_secret_value" not in sealed
    assert box.open(sealed, "embedder") == "hf_plain_secret_value"


# -- the index catalog ----------------------------------------------------------------------------------


def test_index_configs_come_back_whole_and_ordered_by_name(stores: Stores) -> None:
    assert stores.indexes.load_all() == []
    stores.indexes.insert(_index("zeta"))
    stores.indexes.insert(_index("alpha"))
    found = stores.indexes.load_all()
    assert [to_document(config) for config in found] == [
        to_document(_index("alpha")),
        to_document(_index("zeta")),
    ]
    assert found[0].metric is Metric.DOTPRODUCT


def test_an_index_name_is_unique(stores: Stores) -> None:
    stores.indexes.insert(_index("docs"))
    with pytest.raises(AlreadyExists, match="Resource docs already exists"):
        stores.indexes.insert(IndexConfig("docs", 3, Metric.COSINE))
    (kept,) = stores.indexes.load_all()
    assert kept.dimension == 8


def test_updating_an_index_replaces_its_config(stores: Stores) -> None:
    stores.indexes.insert(_index("docs"))
    changed = _index("docs")
    changed.deletion_protection = "enabled"
    changed.tags = {"owner": "me"}
    stores.indexes.update(changed)
    assert [to_document(config) for config in stores.indexes.load_all()] == [to_document(changed)]


def test_deleting_an_index_forgets_it_and_frees_its_name(stores: Stores) -> None:
    stores.indexes.insert(_index("docs"))
    stores.indexes.insert(_index("kept"))
    stores.indexes.delete("docs")
    stores.indexes.delete("never-stored")
    assert [config.name for config in stores.indexes.load_all()] == ["kept"]
    stores.indexes.insert(IndexConfig("docs", 3, Metric.EUCLIDEAN))
    assert [config.dimension for config in stores.indexes.load_all()] == [3, 8]


# -- tokens and grants ----------------------------------------------------------------------------------


def test_a_general_token_is_found_by_its_hash_alone(stores: Stores) -> None:
    tokens = TokenStore(stores.tokens)
    token = tokens.create("ci", role="user")
    principal = tokens.lookup(token)
    assert principal is not None
    assert (principal.name, principal.role, principal.scoped) == ("ci", "user", False)
    assert tokens.lookup(token + "x") is None
    assert stores.tokens.get(principal.id) == tokens.list()[0]


def test_grants_to_call_and_to_manage_come_back_apart(stores: Stores) -> None:
    tokens = TokenStore(stores.tokens)
    calls_only = tokens.lookup(tokens.create("reader", endpoints=["a", "b", "a"]))
    manages_only = tokens.lookup(tokens.create("owner", manages=["mine"]))
    both = tokens.lookup(tokens.create("both", endpoints=["a", "shared"], manages=["shared", "mine"]))
    assert calls_only is not None
    assert (calls_only.endpoints, calls_only.manages) == (frozenset({"a", "b"}), frozenset())
    assert manages_only is not None
    assert (manages_only.endpoints, manages_only.manages) == (frozenset(), frozenset({"mine"}))
    assert both is not None
    assert (both.endpoints, both.manages) == (frozenset({"a", "shared"}), frozenset({"shared", "mine"}))


def test_tokens_are_listed_oldest_first_and_counted(stores: Stores) -> None:
    stores.tokens.insert(StoredToken("h2", "second", "user", 20.0, frozenset({"x"})))
    stores.tokens.insert(StoredToken("h1", "first", "admin", 10.0, manages=frozenset({"y"})))
    stores.tokens.insert(StoredToken("h3", "third", "user", 30.0))
    assert [token.token_hash for token in stores.tokens.list()] == ["h1", "h2", "h3"]
    assert stores.tokens.list()[0] == StoredToken("h1", "first", "admin", 10.0, manages=frozenset({"y"}))
    assert stores.tokens.count() == 3
    assert stores.tokens.get("h2") == StoredToken("h2", "second", "user", 20.0, frozenset({"x"}))
    assert stores.tokens.get("unknown") is None


def test_a_token_hash_is_unique_and_a_failed_insert_leaves_nothing(stores: Stores) -> None:
    stores.tokens.insert(StoredToken("h", "first", "user", 1.0, frozenset({"a"})))
    with pytest.raises(AlreadyExists):
        stores.tokens.insert(StoredToken("h", "second", "admin", 2.0, frozenset({"b"}), frozenset({"c"})))
    assert stores.tokens.list() == [StoredToken("h", "first", "user", 1.0, frozenset({"a"}))]


def test_revoking_a_token_removes_it_with_its_grants(stores: Stores) -> None:
    tokens = TokenStore(stores.tokens)
    token = tokens.create("scoped", endpoints=["a"], manages=["b"])
    kept = tokens.create("kept")
    principal = tokens.lookup(token)
    assert principal is not None
    assert tokens.revoke(principal.id)
    assert tokens.lookup(token) is None
    assert tokens.lookup(kept) is not None
    assert not tokens.revoke(principal.id)
    assert not tokens.revoke("env-admin")  # the env admin token is not stored
    # The grants went with it: the same hash stored again holds none.
    stores.tokens.insert(StoredToken(principal.id, "again", "user", 1.0))
    again = tokens.lookup(token)
    assert again is not None
    assert not again.scoped


def test_revoking_by_name_removes_every_token_of_that_name(stores: Stores) -> None:
    tokens = TokenStore(stores.tokens)
    first, second = tokens.create("ci"), tokens.create("ci", endpoints=["a"])
    other = tokens.create("other")
    assert tokens.revoke_named("ci") == 2
    assert tokens.revoke_named("ci") == 0
    assert tokens.lookup(first) is None
    assert tokens.lookup(second) is None
    assert tokens.lookup(other) is not None
    assert tokens.count() == 1


def test_a_token_is_stored_hashed_never_in_plain_text(stores: Stores) -> None:
    tokens = TokenStore(stores.tokens)
    token = tokens.create("ci", endpoints=["a"])
    assert token not in stores.dump()
    assert all(token not in repr(stored) for stored in tokens.list())


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _recording(stores: Stores, clock: _Clock) -> TokenStore:
    """Tokens whose uses are written in place at the clock's time, so a test reads them at once."""
    return TokenStore(stores.tokens, uses=UseRecorder(stores.tokens, clock=clock, run=lambda write: write()))


def test_a_token_records_its_last_use_at_most_once_a_minute(stores: Stores) -> None:
    clock = _Clock(1000.0)
    tokens = _recording(stores, clock)
    token = tokens.create("ci")
    (stored,) = tokens.list()
    assert stored.last_used is None
    assert tokens.lookup(token) is not None
    assert stores.tokens.get(stored.token_hash) == replace(stored, last_used=1000.0)
    clock.now = 1059.0  # within the minute: remembered, not written
    assert tokens.lookup(token) is not None
    assert tokens.list()[0].last_used == 1000.0
    clock.now = 1060.5
    assert tokens.lookup(token) is not None
    assert tokens.list()[0].last_used == 1060.5
    assert tokens.lookup(token + "x") is None


def test_each_token_is_throttled_on_its_own_and_an_earlier_time_never_overwrites(stores: Stores) -> None:
    clock = _Clock(500.0)
    tokens = _recording(stores, clock)
    first, second = tokens.create("first"), tokens.create("second")
    tokens.lookup(first)
    clock.now = 510.0
    tokens.lookup(second)
    assert {token.name: token.last_used for token in tokens.list()} == {"first": 500.0, "second": 510.0}
    # Another server sharing the database wrote later; this server's older time must not go back.
    digest = token_hash(first)
    stores.tokens.record_use(digest, 900.0)
    clock.now = 600.0
    tokens.lookup(first)
    assert {token.name: token.last_used for token in tokens.list()} == {"first": 900.0, "second": 510.0}
    stores.tokens.record_use("not-stored", 1.0)  # nothing to update, nothing raised
    assert stores.tokens.count() == 2


def test_a_failing_write_is_logged_and_the_lookup_still_answers(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    class Failing:
        def __getattr__(self, name: str) -> object:
            return getattr(stores.tokens, name)

        def record_use(self, token_hash: str, at: float) -> None:
            raise OSError("disk gone")

    table = cast(TokenTable, Failing())
    tokens = TokenStore(table, uses=UseRecorder(table, clock=_Clock(1.0), run=lambda write: write()))
    token = tokens.create("ci")
    with caplog.at_level(logging.WARNING, logger="inferhouse.auth.last_used"):
        principal = tokens.lookup(token)
    assert principal is not None
    assert principal.name == "ci"
    assert "Could not record when a token was last used" in caplog.text
    assert tokens.list()[0].last_used is None


def test_the_env_admin_token_is_not_stored_so_not_recorded(stores: Stores) -> None:
    tokens = TokenStore(
        stores.tokens, "ih_env", uses=UseRecorder(stores.tokens, clock=_Clock(5.0), run=lambda write: write())
    )
    assert tokens.lookup("ih_env") is not None
    assert tokens.list() == []


# -- persistence ------------------------------------------------------------------------------------------


def test_everything_comes_back_after_a_reopen(open_stores: Callable[[], Stores]) -> None:
    stores = open_stores()
    endpoint = _endpoint("kept", State.SCALED_TO_ZERO)
    stores.endpoints.save(endpoint)
    stores.inference.insert(_inference("embedder"), b"sealed")
    stores.indexes.insert(_index("docs"))
    token = TokenStore(stores.tokens).create("ci", endpoints=["kept"], manages=["other"])
    stores.tokens.record_use(token_hash(token), 1700000001.25)
    stores.close()

    again = open_stores()
    assert _json(again.endpoints.load_all()) == _json([endpoint])
    assert [config.to_json() for config in again.inference.load_all()] == [_inference("embedder").to_json()]
    assert again.inference.sealed_secret("embedder") == b"sealed"
    assert [to_document(config) for config in again.indexes.load_all()] == [to_document(_index("docs"))]
    assert [stored.last_used for stored in again.tokens.list()] == [1700000001.25]
    principal = TokenStore(again.tokens).lookup(token)
    assert principal is not None
    assert (principal.name, principal.endpoints, principal.manages) == (
        "ci",
        frozenset({"kept"}),
        frozenset({"other"}),
    )
