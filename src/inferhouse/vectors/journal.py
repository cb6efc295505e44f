"""An append-only journal of framed entries in numbered segment files, synced before an append returns.

The vector store acknowledges a write once its entry is here, and folds entries into SQLite later, in
larger transactions. One ``write`` and one ``fdatasync`` per batch is several times cheaper than an
SQLite transaction that inserts a thousand 1.5 KB rows, so bulk loads are not held to SQLite's pace.

A frame is ``<length: u32><crc32: u32><payload>``. A crash can leave only the last frame of the last
segment torn; opening the journal cuts such a tail off, since its writer was never told it succeeded.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_HEADER = struct.Struct("<II")
_SUFFIX = ".log"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where an entry starts: segment number, then byte offset within it."""

    segment: int
    offset: int


class Journal:
    def __init__(self, directory: Path, segment_bytes: int = 64 << 20) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        segments = self.segments()
        self._segment = segments[-1] if segments else 1
        self._fd = os.open(self._file(self._segment), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = self._cut_torn_tail()
        if not segments:
            self._sync_directory()

    def segments(self) -> list[int]:
        return sorted(int(path.stem) for path in self.directory.glob(f"*{_SUFFIX}") if path.stem.isdigit())

    @property
    def start(self) -> Position:
        """Where the oldest entry still kept begins."""
        segments = self.segments()
        return Position(segments[0] if segments else self._segment, 0)

    @property
    def end(self) -> Position:
        """Just past the last acknowledged entry: where the next one will begin."""
        with self._lock:
            return Position(self._segment, self._size)

    def append(self, parts: Sequence[bytes | memoryview]) -> Position:
        """Write one entry, the concatenation of ``parts``; once this returns it is on disk. Returns the
        new end of the journal."""
        length = sum(len(part) for part in parts)
        checksum = 0
        for part in parts:
            checksum = zlib.crc32(part, checksum)
        frame = [_HEADER.pack(length, checksum), *parts]
        size = _HEADER.size + length
        with self._lock:
            if self._size and self._size + size > self._segment_bytes:
                self._rotate()
            try:
                written = os.writev(self._fd, frame)
                if written < size:  # rare (a signal, a full disk): finish with plain writes
                    rest = memoryview(b"".join(frame))[written:]
                    while rest:
                        rest = rest[os.write(self._fd, rest) :]
                os.fdatasync(self._fd)
            except OSError:
                os.ftruncate(self._fd, self._size)  # a failed append leaves nothing a reader could take
                raise
            self._size += size
            return Position(self._segment, self._size)

    def read(self, start: Position, end: Position, max_bytes: int) -> tuple[list[bytes], Position]:
        """Whole entries from ``start`` (an entry boundary) up to ``end``, stopping once ``max_bytes``
        are read; returns them and where the next read should begin."""
        payloads: list[bytes] = []
        total = 0
        position = start
        while position < end and total < max_bytes:
            limit = end.offset if position.segment == end.segment else None  # earlier segments: to EOF
            with open(self._file(position.segment), "rb") as segment:
                segment.seek(position.offset)
                offset = position.offset
                exhausted = False
                while (limit is None or offset < limit) and total < max_bytes:
                    payload = _read_frame(segment.read(_HEADER.size), segment)
                    if payload is None:
                        exhausted = True
                        break
                    payloads.append(payload)
                    offset += _HEADER.size + len(payload)
                    total += _HEADER.size + len(payload)
                size = os.fstat(segment.fileno()).st_size
            if exhausted and (limit is not None or offset != size):
                raise ValueError(f"journal entry at {Position(position.segment, offset)} is damaged")
            position = Position(position.segment + 1, 0) if exhausted else Position(position.segment, offset)
        return payloads, position

    def release_before(self, segment: int) -> None:
        """Delete whole segments numbered below ``segment``: everything in them is safely elsewhere."""
        with self._lock:
            for number in self.segments():
                if number < min(segment, self._segment):
                    self._file(number).unlink(missing_ok=True)

    def rotate_if_used(self) -> None:
        """Start a fresh segment when the current one holds anything, so the old one can be released."""
        with self._lock:
            if self._size:
                self._rotate()

    @property
    def current_segment(self) -> int:
        return self._segment

    def close(self) -> None:
        with self._lock:
            os.close(self._fd)

    def _rotate(self) -> None:
        os.close(self._fd)
        self._segment += 1
        self._fd = os.open(self._file(self._segment), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0
        self._sync_directory()  # the new file's name must be durable before entries in it are acknowledged

    def _cut_torn_tail(self) -> int:
        whole = 0
        with open(self._file(self._segment), "rb") as segment:
            while (payload := _read_frame(segment.read(_HEADER.size), segment)) is not None:
                whole += _HEADER.size + len(payload)
        if os.fstat(self._fd).st_size != whole:
            os.ftruncate(self._fd, whole)
            os.fsync(self._fd)
        return whole

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _file(self, number: int) -> Path:
        return self.directory / f"{number:08d}{_SUFFIX}"


def _read_frame(header: bytes, segment: BinaryIO) -> bytes | None:
    """The payload after ``header``, or None at the end or at a torn or corrupt frame."""
    if len(header) < _HEADER.size:
        return None
    length, checksum = _HEADER.unpack(header)
    payload = segment.read(length)
    if len(payload) < length or zlib.crc32(payload) != checksum:
        return None
    return payload
