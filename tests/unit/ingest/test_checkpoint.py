"""The checkpoint: atomic saves, and resuming only when the target and the done rows are the same."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from inferhouse.ingest import Checkpoint, CheckpointError, Row, checkpoint_path
from inferhouse.ingest.checkpoint import load_checkpoint, resume, save_checkpoint

WANTED = Checkpoint("idx", "ns", "all-minilm-l6-v2", "text", "id")


def _rows(*texts: str) -> list[Row]:
    return [Row(line, text, {"text": text}) for line, text in enumerate(texts, start=1)]


def test_advance_counts_rows_and_chains_a_digest() -> None:
    rows = _rows("a", "b", "c")
    step = WANTED.advance(rows[:2], bad_rows=1).advance(rows[2:])
    assert (step.rows_done, step.bad_rows) == (3, 1)
    assert step.digest == WANTED.advance(rows).digest  # batch boundaries do not matter
    assert step.digest != WANTED.advance(_rows("a", "b", "C")).digest


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = checkpoint_path(tmp_path / "docs.jsonl")
    assert path.name == "docs.jsonl.ingest-progress.json"
    assert load_checkpoint(path) is None
    saved = WANTED.advance(_rows("a", "b"))
    save_checkpoint(path, saved)
    assert load_checkpoint(path) == saved
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("text", ["{", "[]", '{"format": 1}', '{"format": 99, "index": "x"}'])
def test_unreadable_checkpoints_raise(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_resume_from_a_matching_checkpoint() -> None:
    rows = _rows("a", "b", "c", "d")
    saved = WANTED.advance(rows[:2])
    assert resume(saved, WANTED, iter(rows)) == (saved, None)
    assert resume(None, WANTED, iter(rows)) == (WANTED, None)


def test_resume_starts_over_for_another_target_or_changed_rows() -> None:
    rows = _rows("a", "b", "c")
    saved = WANTED.advance(rows[:2])
    other = dataclasses.replace(WANTED, namespace="other")
    assert resume(saved, other, iter(rows)) == (
        other,
        "the checkpoint is for another index, namespace, endpoint or fields",
    )
    changed, reason = resume(saved, WANTED, iter(_rows("a", "B", "c")))
    assert changed == WANTED
    assert reason == "the first 2 rows changed since the checkpoint"
    shorter, reason = resume(saved, WANTED, iter(rows[:1]))
    assert shorter == WANTED
    assert reason is not None
