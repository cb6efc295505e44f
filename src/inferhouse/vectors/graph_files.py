"""ANN graphs saved beside their store, so a restart loads a graph instead of building it for minutes.

Each namespace's graph is the files of one *generation* (a usearch graph per segment of the graph, and
the keys it holds with the id and fingerprint of each key's row) and a small manifest naming them with
their sizes and CRCs.
A save writes a new generation, syncs it, then replaces the manifest by rename: a crash at any point
leaves either the old manifest with its intact files or the new one with its files, never a manifest
naming a half-written file. A load trusts nothing it cannot check: a missing or damaged file, or a
graph built with other settings, reads as "no saved graph", and the graph is built again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from inferhouse.storage.durable_files import fsync_path

log = logging.getLogger(__name__)

Keys = npt.NDArray[np.uint64]
_FORMAT = 1
# A graph of several segments: a version that knows one file only must not load its first and trust it.
_SEGMENTED_FORMAT = 2


@dataclass
class SavedKeys:
    """What a saved graph holds: its keys, and for each the id and fingerprint of the row it stood for."""

    keys: Keys
    ids: list[str]
    prints: npt.NDArray[np.uint64]


def graphs_directory(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".graphs")


def remove_graph_files(store_path: Path) -> None:
    shutil.rmtree(graphs_directory(store_path), ignore_errors=True)


class GraphFiles:
    """The saved graphs of one index, one manifest per namespace (named by a hash of the namespace)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _stem(self, namespace: str) -> str:
        return hashlib.sha256(namespace.encode()).hexdigest()[:24]

    def _manifest(self, namespace: str) -> Path:
        return self.directory / f"{self._stem(namespace)}.json"

    def save(
        self,
        namespace: str,
        settings: dict[str, Any],
        saved: SavedKeys,
        write_graph: Callable[[Path], list[Path]],
    ) -> None:
        """Publish a new generation: ``write_graph(path)`` writes the graph's files, the first at ``path``
        and the rest beside it, and returns them in order; the manifest goes last."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        manifest_path = self._manifest(namespace)
        previous = _read_json(manifest_path)
        generation = int(previous.get("generation", 0)) + 1 if previous else 1
        stem = f"{self._stem(namespace)}.{generation}"
        graph_path = self.directory / f"{stem}.usearch"
        keys_path = self.directory / f"{stem}.keys"
        graph_paths = write_graph(graph_path)
        keys_path.write_bytes(_encode_keys(saved))
        for path in (*graph_paths, keys_path):
            fsync_path(path)
        manifest = {
            "format": _FORMAT if len(graph_paths) == 1 else _SEGMENTED_FORMAT,
            "namespace": namespace,
            "generation": generation,
            "settings": settings,
            "count": len(saved.keys),
            # "graph" is the first segment, "graph.1" the second and so on.
            "files": {
                **{_graph_entry(number): _describe(path) for number, path in enumerate(graph_paths)},
                "keys": _describe(keys_path),
            },
        }
        staging = manifest_path.with_suffix(".json.tmp")
        staging.write_bytes(orjson.dumps(manifest))
        fsync_path(staging)
        os.replace(staging, manifest_path)
        _sync_directory(self.directory)
        if previous:
            self._remove_generation(previous)

    def load(self, namespace: str, settings: dict[str, Any]) -> tuple[list[Path], SavedKeys] | None:
        """The graph's files (a segment each) and its keys, when a complete save made with ``settings``
        exists."""
        manifest = _read_json(self._manifest(namespace))
        if not manifest:
            return None
        if manifest.get("format") not in (_FORMAT, _SEGMENTED_FORMAT) or manifest.get("settings") != settings:
            log.info("the saved graph of namespace %r was built with other settings; rebuilding", namespace)
            return None
        try:
            files = manifest["files"]
            entries = [files[_graph_entry(number)] for number in range(_count_graphs(files))]
            graph_paths = [self.directory / entry["name"] for entry in entries]
            keys_path = self.directory / files["keys"]["name"]
            for path, entry in zip([*graph_paths, keys_path], [*entries, files["keys"]], strict=True):
                if _describe(path) != entry:
                    raise ValueError("a file's size or checksum differs from the manifest")
            saved = _decode_keys(keys_path.read_bytes())
            if len(saved.keys) != manifest["count"]:
                raise ValueError("the key count differs from the manifest")
        except (OSError, KeyError, TypeError, ValueError) as error:
            log.warning("the saved graph of namespace %r is unusable (%s); rebuilding", namespace, error)
            return None
        return graph_paths, saved

    def forget(self, namespace: str) -> None:
        """Remove a namespace's saved graph (the manifest first, so no half is ever trusted)."""
        manifest_path = self._manifest(namespace)
        manifest = _read_json(manifest_path)
        manifest_path.unlink(missing_ok=True)
        if manifest:
            self._remove_generation(manifest)

    def clean(self) -> None:
        """Remove files no manifest names: what a crash in the middle of a save left behind."""
        if not self.directory.is_dir():
            return
        named = set()
        for manifest_path in self.directory.glob("*.json"):
            manifest = _read_json(manifest_path)
            for entry in (manifest.get("files") or {}).values() if manifest else ():
                named.add(entry.get("name"))
        for path in self.directory.iterdir():
            if path.suffix != ".json" and path.name not in named:
                path.unlink(missing_ok=True)

    def disk_bytes(self) -> int:
        total = 0
        for path in self.directory.glob("*") if self.directory.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):  # a generation a save just replaced
                total += path.stat().st_size
        return total

    def _remove_generation(self, manifest: dict[str, Any]) -> None:
        for entry in (manifest.get("files") or {}).values():
            with contextlib.suppress(OSError, TypeError):
                (self.directory / entry["name"]).unlink(missing_ok=True)


def _graph_entry(number: int) -> str:
    return "graph" if number == 0 else f"graph.{number}"


def _count_graphs(files: dict[str, Any]) -> int:
    count = 0
    while _graph_entry(count) in files:
        count += 1
    if count == 0:
        raise KeyError("graph")
    return count


def _encode_keys(saved: SavedKeys) -> bytes:
    ids = orjson.dumps(saved.ids)
    header = np.asarray([len(saved.keys), len(ids)], dtype="<u8").tobytes()
    return (
        header
        + saved.keys.astype("<u8", copy=False).tobytes()
        + saved.prints.astype("<u8", copy=False).tobytes()
        + ids
    )


def _decode_keys(data: bytes) -> SavedKeys:
    count, ids_length = (int(n) for n in np.frombuffer(data[:16], dtype="<u8"))
    keys_end = 16 + 8 * count
    prints_end = keys_end + 8 * count
    if len(data) != prints_end + ids_length:
        raise ValueError("the keys file has the wrong length")
    ids = orjson.loads(data[prints_end:])
    if not isinstance(ids, list) or len(ids) != count:
        raise ValueError("the keys file's ids do not match its keys")
    return SavedKeys(
        np.frombuffer(data[16:keys_end], dtype="<u8").astype(np.uint64),
        ids,
        np.frombuffer(data[keys_end:prints_end], dtype="<u8").astype(np.uint64),
    )


def _describe(path: Path) -> dict[str, Any]:
    crc = 0
    with path.open("rb") as file:
        while block := file.read(8 << 20):
            crc = zlib.crc32(block, crc)
    return {"name": path.name, "bytes": path.stat().st_size, "crc32": crc}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be synced
        fsync_path(directory)
