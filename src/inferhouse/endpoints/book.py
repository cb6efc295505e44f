"""The endpoints one server knows, and how their changes reach the store.

Each endpoint has a record here (how it stands on this server) and the stored row this server last wrote
or followed (with its revision). A management change is written with ``commit``, a compare-and-set on
that revision (``EndpointStore.edit``). On SQLite one server owns the rows and also saves each state an
endpoint goes through, so a restart brings it back as it was. On a shared database (``shared``) the rows
hold only what was asked of each endpoint: the states one server goes through stay its own, and other
servers follow the rows (:mod:`inferhouse.endpoints.reconcile`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from inferhouse.endpoints.config import EndpointConfig, State, StoredEndpoint, now_iso
from inferhouse.endpoints.reconcile import keep_task
from inferhouse.endpoints.store import EndpointStore
from inferhouse.errors import EndpointNotFound
from inferhouse.metrics import Metrics


class EndpointBook:
    def __init__(self, store: EndpointStore, metrics: Metrics, *, shared: bool) -> None:
        self.store = store
        self.shared = shared
        self._metrics = metrics
        self.records: dict[str, StoredEndpoint] = {}  # each endpoint as it stands on this server
        self.rows: dict[str, StoredEndpoint] = {}  # the stored row this server last wrote or followed

    def load(self) -> None:
        """Take on every stored endpoint as it was stored."""
        for row in self.store.load_all():
            self.records[row.config.name], self.rows[row.config.name] = row, row.copy()

    def __iter__(self) -> Iterator[StoredEndpoint]:
        return iter(list(self.records.values()))

    def get(self, name: str) -> StoredEndpoint:
        record = self.records.get(name)
        if record is None:
            raise EndpointNotFound(f"Endpoint {name} not found")
        return record

    # -- changes asked through this server ----------------------------------------------------------------

    def next(
        self, name: str, config: EndpointConfig | None = None, state: State | None = None
    ) -> StoredEndpoint:
        """The endpoint's next row, with ``config`` and ``state`` when they change: from the shared row, or
        on SQLite from this server's record, whose every state is stored."""
        row = (self.rows if self.shared else self.records)[name].copy()
        row.config = config or row.config
        if state is not None:
            row.status = replace(row.status, state=state, message=None, updated_at=now_iso())
        return row

    def commit(self, row: StoredEndpoint) -> StoredEndpoint:
        """Store ``row`` if the stored one is still at the revision held here (none: a new endpoint) and
        hold it; returns the endpoint's record. Raises Conflict or AlreadyExists, changing nothing, when
        another server changed or created it first."""
        held = self.rows.get(row.config.name)
        row.revision = self.store.edit(row, None if held is None else held.revision)
        self.rows[row.config.name] = row.copy()
        record = self.records.setdefault(row.config.name, row.copy())
        record.config, record.revision = row.config, row.revision
        return record

    # -- changes other servers made ------------------------------------------------------------------------

    def hold(self, row: StoredEndpoint) -> StoredEndpoint:
        """Take on a row just stored; returns the endpoint's record (new, in the row's state, or this
        server's own, whose state its caller changes)."""
        name = row.config.name
        self.rows[name] = row.copy()
        record = self.records.setdefault(name, row.copy())
        record.config, record.revision = keep_task(record.config, row.config), row.revision
        record.creator = row.creator
        return record

    def forget(self, name: str) -> None:
        del self.records[name]
        self.rows.pop(name, None)
        for state in State:
            self._metrics.endpoint_state.labels(name, state.value).set(0)

    # -- states --------------------------------------------------------------------------------------------

    def set_state(self, record: StoredEndpoint, state: State, message: str | None) -> None:
        record.status.state = state
        record.status.message = message
        record.status.updated_at = now_iso()
        if not self.shared:
            self.store.save(record)
        self.observe_state(record.config.name)

    def observe_state(self, name: str) -> None:
        current = self.records[name].status.state
        for state in State:
            self._metrics.endpoint_state.labels(name, state.value).set(1 if state is current else 0)
