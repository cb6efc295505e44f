"""How a server follows endpoints that other servers sharing its database create, change and delete: a
pure plan, from what this server holds of each endpoint and the rows the database holds now, of what to
start, replace, pause, scale to zero, stop, or just take on. ``EndpointManager.follow`` carries it out.

A stored row says what was last asked of an endpoint (its configuration, and whether it should run, be
paused or be scaled to zero) and carries a revision that every management change renews. An endpoint
whose revision this server already holds needs nothing: what each server goes through on its own
(loading, failing, scaling to zero for want of requests) is its own and is not written to a shared row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from inferhouse.endpoints.config import RESTARTED_STATES, EndpointConfig, State, StoredEndpoint


class Action(StrEnum):
    START = "start"  # load it here: new, resumed, or changed after it failed here
    REPLACE = "replace"  # load the new configuration; a loaded copy serves until the new one is up
    ADOPT = "adopt"  # take on the stored configuration; nothing to load or unload
    PAUSE = "pause"  # unload and refuse requests
    SCALE_TO_ZERO = "scale-to-zero"  # unload until the next request
    STOP = "stop"  # deleted: unload and forget


@dataclass(frozen=True)
class Held:
    """What this server holds of one endpoint."""

    row: StoredEndpoint  # the stored row it last wrote or followed
    state: State  # the endpoint's state on this server
    running: bool  # loaded or loading here


@dataclass(frozen=True)
class Step:
    action: Action
    name: str
    row: StoredEndpoint | None  # the row to follow; None for STOP


def plan(held: Mapping[str, Held], stored: Iterable[StoredEndpoint]) -> list[Step]:
    """The steps that bring ``held`` in line with ``stored``, in name order, deletions first."""
    rows = {row.config.name: row for row in stored}
    steps = [Step(Action.STOP, name, None) for name in sorted(held.keys() - rows.keys())]
    for name in sorted(rows):
        row, mine = rows[name], held.get(name)
        if mine is None:
            steps.append(
                Step(Action.START if row.status.state in RESTARTED_STATES else Action.ADOPT, name, row)
            )
        elif row.revision != mine.row.revision:
            steps.append(Step(_change(mine, row), name, row))
    return steps


def _change(mine: Held, row: StoredEndpoint) -> Action:
    """What a new revision of an endpoint this server holds asks of it."""
    before, wanted = mine.row, row.status.state
    reloads = row.config.needs_reload(before.config)
    if wanted is State.PAUSED:
        return Action.PAUSE if mine.state is not State.PAUSED else Action.ADOPT
    if wanted is State.SCALED_TO_ZERO:
        # Scaled to zero just now, or asked again (the same configuration): every server unloads. A new
        # configuration while scaled to zero reloads only where a request has woken the endpoint.
        if before.status.state is not State.SCALED_TO_ZERO or row.config == before.config:
            return Action.SCALE_TO_ZERO if mine.state is not State.SCALED_TO_ZERO else Action.ADOPT
        return Action.REPLACE if mine.running and reloads else Action.ADOPT
    if wanted not in RESTARTED_STATES:  # a state stored by an older version (failed): nothing to run
        return Action.ADOPT
    if mine.running:
        return Action.REPLACE if reloads else Action.ADOPT
    if before.status.state not in RESTARTED_STATES or mine.state is State.FAILED:
        return Action.START  # resumed, or changed after its load failed here: try again
    return Action.ADOPT  # scaled to zero here for want of requests: the next request loads the new one


def keep_task(held: EndpointConfig, stored: EndpointConfig) -> EndpointConfig:
    """``stored``, with the task this server learned from the model when ``stored`` names none for the
    same model (a server fills in the task when it loads a model created without one)."""
    task = held.model.task
    if stored.model.task is None and task is not None and replace(held.model, task=None) == stored.model:
        return stored.with_task(task)
    return stored
