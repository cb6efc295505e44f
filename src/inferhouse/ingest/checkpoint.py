"""How far an ingest got, saved after every batch the server acknowledged, so that a re-run resumes.

The checkpoint counts rows in file order (bad rows included) and chains a SHA-256 over them. A re-run
skips the counted rows only if it targets the same index, namespace, endpoint and fields and those rows
still hash the same; otherwise it starts over, which is safe because upserts are idempotent by id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from inferhouse.ingest.reader import Row

CHECKPOINT_SUFFIX = ".ingest-progress.json"
_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read."""


@dataclass(frozen=True)
class Checkpoint:
    index: str
    namespace: str
    endpoint: str
    text_field: str
    id_field: str
    rows_done: int = 0
    bad_rows: int = 0
    digest: str = ""

    def advance(self, rows: Iterable[Row], bad_rows: int = 0) -> Checkpoint:
        """This checkpoint moved past ``rows``, ``bad_rows`` of which were bad."""
        digest, count = self.digest, 0
        for row in rows:
            digest, count = chain(digest, row), count + 1
        return dataclasses.replace(
            self, rows_done=self.rows_done + count, bad_rows=self.bad_rows + bad_rows, digest=digest
        )

    def same_target(self, other: Checkpoint) -> bool:
        return self.fresh() == other.fresh()

    def fresh(self) -> Checkpoint:
        return dataclasses.replace(self, rows_done=0, bad_rows=0, digest="")


def chain(digest: str, row: Row) -> str:
    return hashlib.sha256(f"{digest}\n{row.raw}".encode()).hexdigest()


def checkpoint_path(source: Path) -> Path:
    """Where a file's checkpoint lives by default: next to it, ``data.jsonl.ingest-progress.json``."""
    return source.with_name(source.name + CHECKPOINT_SUFFIX)


def load_checkpoint(path: Path) -> Checkpoint | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        body = json.loads(text)
        if body.pop("format") != _FORMAT:
            raise CheckpointError(f"{path} is in a format this version does not know")
        return Checkpoint(**body)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise CheckpointError(f"{path} is not a readable checkpoint: {error}") from error


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the checkpoint atomically: a crash leaves the old one or the new one, never half of one."""
    body = {"format": _FORMAT, **dataclasses.asdict(checkpoint)}
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def resume(
    saved: Checkpoint | None, wanted: Checkpoint, rows: Iterable[Row]
) -> tuple[Checkpoint, str | None]:
    """The checkpoint to continue from, given the ``saved`` one and the run ``wanted`` (fresh); the second
    item says why a saved checkpoint was not used."""
    if saved is None:
        return wanted, None
    if not saved.same_target(wanted):
        return wanted, "the checkpoint is for another index, namespace, endpoint or fields"
    replayed = wanted.advance(islice(rows, saved.rows_done))
    if (replayed.rows_done, replayed.digest) != (saved.rows_done, saved.digest):
        return wanted, f"the first {saved.rows_done} rows changed since the checkpoint"
    return saved, None
