"""The data directory holds token hashes, encrypted secrets and users' vectors: its owner alone reads it."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600
# Everything the server process creates afterwards (ONNX exports, journals, temporary files) is owner-only.
OWNER_ONLY_UMASK = 0o077


def create_owner_only(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists; SQLite gives its -wal and -shm files the
    main file's mode, so a database created this way stays owner-only whatever the umask."""
    path.parent.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE))


def secure_data_dir(data_dir: Path) -> None:
    """Make the data directory 0700 and take group and other bits off everything already in it (a data
    directory written by an older version); entries owned by another user are left alone."""
    data_dir.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    uid = os.getuid()
    _tighten(data_dir, uid)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            _tighten(Path(root) / name, uid)


def _tighten(path: Path, uid: int) -> None:
    info = path.lstat()
    if info.st_uid != uid or path.is_symlink() or not info.st_mode & 0o077:
        return
    try:
        path.chmod(info.st_mode & 0o700)
    except OSError as error:  # a read-only mount: the server still runs, the operator is told
        log.warning("could not make %s owner-only: %s", path, error)
