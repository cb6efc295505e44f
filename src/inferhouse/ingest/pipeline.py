"""The ingest loop: read a batch, embed its texts, upsert the vectors, then advance the checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from inferhouse.client import InferhouseAPIError
from inferhouse.ingest.checkpoint import Checkpoint, CheckpointError, load_checkpoint, resume, save_checkpoint
from inferhouse.ingest.reader import Row, read_rows
from inferhouse.ingest.records import BadRow, Fields, Record, batched, split_batch


class IngestClient(Protocol):
    """What the loop needs of :class:`inferhouse.Client`; tests pass a fake."""

    def embed(self, texts: list[str], *, endpoint: str) -> list[list[float]]: ...

    def describe_index(self, name: str) -> object: ...

    def create_index(self, name: str, dimension: int) -> object: ...

    def upsert(self, index: str, vectors: Iterable[Mapping[str, Any]], namespace: str = "") -> int: ...

    def create_index_for_model(
        self,
        name: str,
        model: str,
        *,
        text_field: str = ...,
        chunking_settings: Mapping[str, Any] | None = ...,
    ) -> object: ...

    def upsert_records(
        self, index: str, records: Iterable[Mapping[str, Any]], namespace: str = ""
    ) -> int: ...


class IngestError(Exception):
    """The ingest cannot go on; the checkpoint keeps what was done."""


@dataclass(frozen=True)
class IngestPlan:
    """Where rows go. With ``endpoint`` the client embeds each row's text and upserts vectors; with
    ``inference_id`` the index embeds: rows go as text records into an integrated index, which chunks
    them (by ``chunking`` when the ingest creates it) and embeds the chunks server-side."""

    index: str
    endpoint: str | None
    namespace: str = ""
    text_field: str = "text"
    id_field: str = "id"
    batch_size: int = 64
    create: bool = True
    limit: int | None = None  # rows to do in this run; a later run resumes
    inference_id: str | None = None
    chunking: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.endpoint is None) == (self.inference_id is None):
            raise ValueError("give exactly one of an endpoint or an inference id")

    @property
    def model(self) -> str:
        """What embeds, as the checkpoint records it (so a resume never mixes two models)."""
        return self.endpoint if self.endpoint is not None else f"inference:{self.inference_id}"


@dataclass
class IngestReport:
    resumed_at: int = 0  # rows a checkpoint let this run skip
    rows_done: int = 0  # rows done by every run so far, bad ones included
    upserted: int = 0  # vectors this run upserted
    bad_rows: int = 0  # bad rows this run met
    created_index: bool = False


def _ignore(_: Any) -> None:
    return None


class Ingestion:
    """One ingest of ``source`` into an index; built before it runs so that callers can see where it
    resumes (``resumed_at``) and why a checkpoint was not used (``restart_reason``)."""

    def __init__(self, source: Path, plan: IngestPlan, checkpoint_file: Path) -> None:
        if plan.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        self.source, self.plan, self.checkpoint_file = source, plan, checkpoint_file
        integrated = plan.inference_id is not None
        self.fields = Fields(
            plan.text_field, plan.id_field, id_prefix=source.stem, text_is_metadata=not integrated
        )
        wanted = Checkpoint(plan.index, plan.namespace, plan.model, plan.text_field, plan.id_field)
        self.checkpoint, self.restart_reason = _starting_point(source, wanted, checkpoint_file)
        self.resumed_at = self.checkpoint.rows_done
        self._index_ready = False

    def run(
        self,
        client: IngestClient,
        *,
        on_batch: Callable[[int], None] = _ignore,
        on_bad_row: Callable[[BadRow], None] = _ignore,
    ) -> IngestReport:
        """Ingest the rows not done yet; ``on_batch`` hears how many rows each finished batch held."""
        report = IngestReport(resumed_at=self.resumed_at, rows_done=self.checkpoint.rows_done)
        self._index_ready = _index_exists(client, self.plan.index)
        if not self._index_ready and not self.plan.create:
            raise IngestError(f"index {self.plan.index!r} does not exist (and --no-create was given)")
        for batch in batched(self._pending_rows(), self.plan.batch_size):
            records, bad = split_batch(batch, self.fields)
            for row in bad:
                on_bad_row(row)
            if records:
                report.upserted += self._write(client, records, report)
            # Only now, with the server's acknowledgement, is the batch done.
            self.checkpoint = self.checkpoint.advance(batch, len(bad))
            save_checkpoint(self.checkpoint_file, self.checkpoint)
            report.rows_done, report.bad_rows = self.checkpoint.rows_done, report.bad_rows + len(bad)
            on_batch(len(batch))
        return report

    def _write(self, client: IngestClient, records: list[Record], report: IngestReport) -> int:
        """Embed and upsert ``records``; the first vectors tell a missing index its dimension."""
        plan = self.plan
        if plan.inference_id is not None:
            if not self._index_ready:
                report.created_index = _create_integrated_index(client, plan)
                self._index_ready = True
            texts = [record.text_record(plan.text_field) for record in records]
            return client.upsert_records(plan.index, texts, plan.namespace)
        assert plan.endpoint is not None  # one of the two, checked by the plan
        vectors = client.embed([record.text for record in records], endpoint=plan.endpoint)
        if not self._index_ready:
            report.created_index = _create_index(client, self.plan.index, len(vectors[0]))
            self._index_ready = True
        pairs = zip(records, vectors, strict=True)
        return client.upsert(self.plan.index, [record.vector(v) for record, v in pairs], self.plan.namespace)

    def _pending_rows(self) -> Iterable[Row]:
        rows = islice(read_rows(self.source), self.checkpoint.rows_done, None)
        return rows if self.plan.limit is None else islice(rows, self.plan.limit)


def _starting_point(source: Path, wanted: Checkpoint, checkpoint_file: Path) -> tuple[Checkpoint, str | None]:
    try:
        saved = load_checkpoint(checkpoint_file)
    except CheckpointError as error:
        return wanted, str(error)
    return resume(saved, wanted, read_rows(source))


def _index_exists(client: IngestClient, name: str) -> bool:
    try:
        client.describe_index(name)
    except InferhouseAPIError as error:
        if error.status_code == 404:
            return False
        raise
    return True


def _create_integrated_index(client: IngestClient, plan: IngestPlan) -> bool:
    """Create an index that embeds with the plan's inference id; False if another writer made it."""
    assert plan.inference_id is not None
    try:
        client.create_index_for_model(
            plan.index, plan.inference_id, text_field=plan.text_field, chunking_settings=plan.chunking
        )
    except InferhouseAPIError as error:
        if error.status_code != 409:
            raise
        return False
    return True


def _create_index(client: IngestClient, name: str, dimension: int) -> bool:
    """Create the index with the endpoint's dimension; False if another writer made it meanwhile."""
    try:
        client.create_index(name, dimension)
    except InferhouseAPIError as error:
        if error.status_code != 409:
            raise
        return False
    return True
