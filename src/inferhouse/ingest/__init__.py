"""Embed the rows of a JSONL or CSV file and upsert them into an index, resumably.

``reader`` turns a file into rows, ``records`` rows into ids, texts and metadata, ``checkpoint`` keeps
how far a run got, and ``pipeline`` runs the loop against a :class:`inferhouse.Client`.
"""

from inferhouse.ingest.checkpoint import Checkpoint, CheckpointError, checkpoint_path
from inferhouse.ingest.pipeline import IngestClient, IngestError, Ingestion, IngestPlan, IngestReport
from inferhouse.ingest.reader import SUPPORTED_SUFFIXES, Row, UnsupportedFormat, count_rows, read_rows
from inferhouse.ingest.records import BadRow, Fields, Record

__all__ = [
    "SUPPORTED_SUFFIXES",
    "BadRow",
    "Checkpoint",
    "CheckpointError",
    "Fields",
    "IngestClient",
    "IngestError",
    "IngestPlan",
    "IngestReport",
    "Ingestion",
    "Record",
    "Row",
    "UnsupportedFormat",
    "checkpoint_path",
    "count_rows",
    "read_rows",
]
