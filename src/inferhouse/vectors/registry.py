"""The control plane: which indexes exist, their configuration in the catalog, their files."""

from __future__ import annotations

import logging
import threading
import time

from inferhouse.errors import AlreadyExists, BadRequest, Forbidden, IndexNotFound
from inferhouse.vectors.backend import IndexStorage, SearchIndex
from inferhouse.vectors.catalog import IndexCatalog
from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.quantization import QUANTIZATION_TAG, Quantization, check_unchanged
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.validation import check_dimension, check_index_name

log = logging.getLogger(__name__)

PROTECTION_STATES = ("enabled", "disabled")


def parse_metric(value: object) -> Metric:
    try:
        return Metric(str(value or "cosine"))
    except ValueError:
        raise BadRequest(f"Metric must be one of cosine, euclidean, dotproduct; got {value!r}") from None


class IndexRegistry:
    """Opens every index at start-up and runs the one background thread that keeps their ANN graphs
    in step with their rows."""

    def __init__(self, catalog: IndexCatalog, storage: IndexStorage) -> None:
        self._catalog = catalog
        self.storage = storage
        self._lock = threading.Lock()
        self._indexes: dict[str, SearchIndex] = {}
        self._reserved: set[str] = set()  # names a restore will publish an index under
        for config in catalog.load_all():
            self._indexes[config.name] = self._open(config)
        self._stop = threading.Event()
        self._maintainer = threading.Thread(target=self._maintain, name="ann-maintainer", daemon=True)
        self._maintainer.start()

    def _open(self, config: IndexConfig) -> SearchIndex:
        return self.storage.open(config)

    def _maintain(self) -> None:
        while not self._stop.is_set():
            busy = False
            for index in list(self._indexes.values()):
                try:
                    busy = index.maintain() or busy
                except Exception:  # a graph failure must not stop the others; exact search still answers
                    log.exception("maintaining the ANN graph of %s failed", index.config.name)
            if not busy:
                self._stop.wait(0.2)

    def create(self, config: IndexConfig) -> SearchIndex:
        check_index_name(config.name)
        config.dimension = check_dimension(config.dimension)  # 8.0 is stored as 8
        if config.deletion_protection not in PROTECTION_STATES:
            raise BadRequest("deletion_protection must be enabled or disabled")
        self.check_quantization(config)
        config.created_at = config.created_at or time.time()
        with self._lock:
            if config.name in self._indexes or config.name in self._reserved:
                raise AlreadyExists(f"Resource {config.name} already exists")
            self.storage.clear(config.name)  # leftovers of a crash mid-delete
            index = self._open(config)
            self._catalog.insert(config)
            self._indexes[config.name] = index
        return index

    def check_quantization(self, config: IndexConfig) -> None:
        """A 400 unless this backend can hold ``config``'s quantization (pgvector keeps the vectors in
        PostgreSQL, so it takes none)."""
        if config.quantization is not Quantization.NONE and self.storage.name != "embedded":
            raise BadRequest(
                f"Tag {QUANTIZATION_TAG} applies to the embedded backend; the {self.storage.name} backend "
                "keeps vectors in its database"
            )

    def get(self, name: str) -> SearchIndex:
        index = self._indexes.get(name)
        if index is None:
            raise IndexNotFound(f"Resource {name} not found")
        return index

    def using_model(self, model: str) -> list[str]:
        """Indexes whose integrated inference embeds with ``model``."""
        return [
            name
            for name, index in sorted(self._indexes.items())
            if (index.config.embed or {}).get("model") == model
        ]

    def list(self) -> list[SearchIndex]:
        return [self._indexes[name] for name in sorted(self._indexes)]

    def configure(
        self, name: str, deletion_protection: str | None, tags: dict[str, str] | None
    ) -> SearchIndex:
        with self._lock:
            index = self.get(name)
            config = index.config
            if deletion_protection is not None:
                if deletion_protection not in PROTECTION_STATES:
                    raise BadRequest("deletion_protection must be enabled or disabled")
                config.deletion_protection = deletion_protection
            if tags is not None:
                check_unchanged(config.tags, tags)
                merged = {**config.tags, **tags}
                config.tags = {key: value for key, value in merged.items() if value != ""}  # "" removes a tag
            self._catalog.update(config)
        return index

    def delete(self, name: str) -> None:
        with self._lock:
            index = self.get(name)
            if index.config.deletion_protection == "enabled":
                raise Forbidden(
                    f"Deletion protection is enabled for this index. Disable it to delete {name}."
                )
            self._catalog.delete(name)
            del self._indexes[name]
            index.destroy()

    def reload(self) -> None:
        """Read the catalog again, as another server sharing it (and the vectors: pgvector) created,
        configured or deleted indexes: new ones open, changed ones take the new configuration, gone
        ones are forgotten here (the server that deleted one dropped its data)."""
        with self._lock:  # read under the lock, so a create or delete in flight here is seen whole
            configs = {config.name: config for config in self._catalog.load_all()}
            for name in [name for name in self._indexes if name not in configs]:
                self._indexes.pop(name).close()
            for name, config in configs.items():
                found = self._indexes.get(name)
                if found is None:
                    self._indexes[name] = self._open(config)
                else:
                    found.config = config

    # -- restores: a name held while a backup is copied under it, then the published index opened -------

    def reserve(self, name: str) -> None:
        """Hold ``name`` for an index a restore will publish; AlreadyExists when it is taken or held."""
        check_index_name(name)
        with self._lock:
            if name in self._indexes or name in self._reserved:
                raise AlreadyExists(f"Resource {name} already exists")
            self._reserved.add(name)

    def release(self, name: str) -> None:
        with self._lock:
            self._reserved.discard(name)

    def adopt(self, config: IndexConfig) -> SearchIndex:
        """Open an index whose data and catalog row a restore has just published (loading it may take a
        while: outside the lock)."""
        index = self._open(config)
        with self._lock:
            found = self._indexes.setdefault(config.name, index)  # a reload may have opened it (pgvector)
        if found is not index:
            index.close()
        return found

    def close(self) -> None:
        self._stop.set()
        self._maintainer.join(timeout=30)
        for index in self._indexes.values():
            index.close()
