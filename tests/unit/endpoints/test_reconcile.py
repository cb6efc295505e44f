"""The plan a server follows when other servers on its database change endpoints: what each new
revision of a stored row asks of the endpoint this server holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from inferhouse.endpoints.config import (
    ComputeConfig,
    EndpointConfig,
    EndpointStatus,
    ModelConfig,
    State,
    StoredEndpoint,
)
from inferhouse.endpoints.reconcile import Action, Held, Step, keep_task, plan


def _row(name: str, state: State = State.PENDING, revision: str = "r1", **model: str) -> StoredEndpoint:
    config = EndpointConfig(name, ModelConfig(model.get("repository", "org/model"), task="custom"))
    return StoredEndpoint(config, EndpointStatus(state), revision=revision)


def _held(row: StoredEndpoint, state: State = State.RUNNING, running: bool = True) -> Held:
    return Held(row, state, running)


def _next(row: StoredEndpoint, state: State | None = None, **changes: object) -> StoredEndpoint:
    """The row another server stores next: a new revision, with its state and configuration changes."""
    config = replace(row.config, **changes)  # type: ignore[arg-type]
    return StoredEndpoint(config, EndpointStatus(state or row.status.state), revision=row.revision + "+")


def _action(held: Held, row: StoredEndpoint) -> Action | None:
    steps = plan({row.config.name: held}, [row])
    assert len(steps) <= 1
    return steps[0].action if steps else None


def test_nothing_to_do_while_the_revisions_match_whatever_the_state_here() -> None:
    row = _row("same")
    for state, running in [(State.RUNNING, True), (State.FAILED, False), (State.SCALED_TO_ZERO, False)]:
        assert plan({"same": _held(row, state, running)}, [row.copy()]) == []


def test_new_rows_start_when_they_should_run_and_are_taken_on_otherwise() -> None:
    rows = [_row("b-new"), _row("a-paused", State.PAUSED), _row("c-zero", State.SCALED_TO_ZERO)]
    assert [(step.action, step.name) for step in plan({}, rows)] == [
        (Action.ADOPT, "a-paused"),
        (Action.START, "b-new"),
        (Action.ADOPT, "c-zero"),
    ]


def test_a_row_gone_stops_the_endpoint_here_first() -> None:
    kept, gone = _row("kept"), _row("gone")
    steps = plan({"kept": _held(kept), "gone": _held(gone)}, [kept, _row("added")])
    assert steps == [Step(Action.STOP, "gone", None), Step(Action.START, "added", steps[1].row)]


def test_a_pause_unloads_wherever_it_is_not_paused_yet() -> None:
    row = _row("p")
    paused = _next(row, State.PAUSED)
    assert _action(_held(row), paused) is Action.PAUSE
    assert _action(_held(row, State.FAILED, running=False), paused) is Action.PAUSE
    assert _action(_held(row, State.PAUSED, running=False), paused) is Action.ADOPT


def test_a_resume_starts_what_is_not_running() -> None:
    paused = _row("r", State.PAUSED)
    resumed = _next(paused, State.PENDING)
    assert _action(_held(paused, State.PAUSED, running=False), resumed) is Action.START
    zero = _row("r", State.SCALED_TO_ZERO)
    assert (
        _action(_held(zero, State.SCALED_TO_ZERO, running=False), _next(zero, State.PENDING)) is Action.START
    )
    # Woken here by a request meanwhile: it runs already.
    assert _action(_held(zero, State.RUNNING), _next(zero, State.PENDING)) is Action.ADOPT


def test_scale_to_zero_unloads_everywhere_even_where_a_request_woke_it() -> None:
    row = _row("z")
    asked = _next(row, State.SCALED_TO_ZERO)
    assert _action(_held(row), asked) is Action.SCALE_TO_ZERO
    assert _action(_held(row, State.SCALED_TO_ZERO, running=False), asked) is Action.ADOPT
    # Asked again while scaled to zero (same configuration): copies woken since unload again.
    assert _action(_held(asked, State.RUNNING), _next(asked)) is Action.SCALE_TO_ZERO


def test_a_new_model_while_scaled_to_zero_reloads_only_where_a_request_woke_it() -> None:
    zero = _row("z", State.SCALED_TO_ZERO)
    other_model = _next(zero, model=ModelConfig("org/other", task="custom"))
    assert _action(_held(zero, State.RUNNING), other_model) is Action.REPLACE
    assert _action(_held(zero, State.SCALED_TO_ZERO, running=False), other_model) is Action.ADOPT


def test_a_new_configuration_replaces_a_running_copy_only_when_it_needs_a_reload() -> None:
    row = _row("u")
    assert _action(_held(row), _next(row, model=ModelConfig("org/other", task="custom"))) is Action.REPLACE
    assert _action(_held(row), _next(row, compute=ComputeConfig(max_replica=3))) is Action.REPLACE
    assert _action(_held(row), _next(row, type="public")) is Action.ADOPT
    scaling = ComputeConfig(min_replica=0, scale_to_zero_timeout=5)
    assert _action(_held(row), _next(row, compute=scaling)) is Action.REPLACE
    # Loading here: the load starts over with the new configuration.
    loading = _held(row, State.INITIALIZING, running=True)
    assert _action(loading, _next(row, model=ModelConfig("org/other", task="custom"))) is Action.REPLACE


def test_a_change_after_a_failure_here_tries_again_and_an_idle_copy_stays_asleep() -> None:
    row = _row("f")
    changed = _next(row, model=ModelConfig("org/fixed", task="custom"))
    assert _action(_held(row, State.FAILED, running=False), changed) is Action.START
    assert _action(_held(row, State.FAILED, running=False), _next(row)) is Action.START  # resumed elsewhere
    # Scaled to zero here for want of requests: the next request loads the new configuration.
    assert _action(_held(row, State.SCALED_TO_ZERO, running=False), changed) is Action.ADOPT


def test_a_state_an_older_version_stored_runs_nothing() -> None:
    row = _row("old")
    assert _action(_held(row, State.FAILED, running=False), _next(row, State.FAILED)) is Action.ADOPT


@pytest.mark.parametrize("stored_task", [None, "custom"])
def test_the_task_a_server_learned_from_the_model_is_kept_for_the_same_model(stored_task: str | None) -> None:
    learned = EndpointConfig("t", ModelConfig("org/model", task="sentence-embeddings"))
    stored = EndpointConfig("t", ModelConfig("org/model", task=stored_task), type="public")
    expected = "sentence-embeddings" if stored_task is None else "custom"
    assert keep_task(learned, stored).model.task == expected
    assert keep_task(learned, stored).type == "public"
    other = EndpointConfig("t", ModelConfig("org/other"))
    assert keep_task(learned, other).model.task is None
