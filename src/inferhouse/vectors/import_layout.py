"""Pinecone's import layout on a local disk: where the Parquet files are and what their columns must be.

An import names a directory; each sub-directory is a namespace (``__default__`` is the default one) and
holds ``.parquet`` files whose rows are records:

- ``id``: string, required;
- ``values``: list of numbers (the dense vector), required;
- ``sparse_values``: struct of ``indices`` (list of integers) and ``values`` (list of numbers), optional;
- ``metadata``: a JSON object as a string, optional.

Other columns and other files are ignored, as Pinecone does. Everything here is checked before an
import starts, from the files' footers alone, so a bad directory or file is refused and nothing changes.
Only local paths and ``file://`` URIs are served: the server reads no object storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from inferhouse.errors import BadRequest

DEFAULT_NAMESPACE_DIRECTORY = "__default__"
REQUIRED_COLUMNS = ("id", "values")


@dataclass(frozen=True, slots=True)
class SourceFile:
    namespace: str
    path: Path
    rows: int


def local_directory(uri: str) -> Path:
    """The directory an import URI names: an absolute path or a ``file://`` URI; any other scheme is a 400."""
    if not isinstance(uri, str) or not uri.strip():
        raise BadRequest("uri must be a non-empty string: an absolute local directory or a file:// URI")
    if "://" in uri:
        parts = urlsplit(uri)
        if parts.scheme.lower() != "file":
            raise BadRequest(
                f"Cannot import from {parts.scheme}:// URIs: this server imports only from local "
                "directories (an absolute path or a file:// URI)"
            )
        if parts.netloc not in ("", "localhost"):
            raise BadRequest(f"A file:// URI must name a local path, not host {parts.netloc!r}")
        path = Path(unquote(parts.path))
    else:
        path = Path(uri)
    if not path.is_absolute():
        raise BadRequest(
            f"Import path {uri!r} must be absolute (the server's working directory is not yours)"
        )
    if not path.exists():
        raise BadRequest(f"Import path {uri!r} does not exist on the server")
    if not path.is_dir():
        raise BadRequest(f"Import path {uri!r} is not a directory: name the directory of namespace folders")
    return path


def namespace_of_directory(name: str) -> str:
    return "" if name == DEFAULT_NAMESPACE_DIRECTORY else name


def directory_of_namespace(namespace: str) -> str:
    """The folder a namespace's files go in; a name no folder can carry is refused."""
    if "/" in namespace or "\\" in namespace or "\0" in namespace or namespace in (".", ".."):
        raise BadRequest(f"Namespace {namespace!r} cannot be a directory name, so it cannot be exported")
    return namespace or DEFAULT_NAMESPACE_DIRECTORY


def discover(root: Path) -> list[SourceFile]:
    """Every Parquet file under ``root``'s namespace folders, its schema checked, in name order."""
    loose = sorted(path.name for path in root.glob("*.parquet") if path.is_file())
    if loose:
        raise BadRequest(
            f"Parquet files directly in the import directory ({', '.join(loose[:3])}) belong in a "
            f"namespace folder: put them in {DEFAULT_NAMESPACE_DIRECTORY}/ for the default namespace"
        )
    found = []
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        for file in sorted(path for path in folder.glob("*.parquet") if path.is_file()):
            found.append(SourceFile(namespace_of_directory(folder.name), file, _checked_rows(root, file)))
    if not found:
        raise BadRequest(
            f"No Parquet files under {root}: lay out one folder per namespace holding .parquet files "
            f"({DEFAULT_NAMESPACE_DIRECTORY}/ for the default namespace)"
        )
    return found


def _checked_rows(root: Path, file: Path) -> int:
    where = file.relative_to(root).as_posix()
    try:
        parquet = pq.ParquetFile(file)
        schema = parquet.schema_arrow
        rows = parquet.metadata.num_rows
        parquet.close()
    except (OSError, pa.ArrowException) as error:
        raise BadRequest(f"{where} is not a readable Parquet file: {error}") from None
    problem = schema_problem(schema)
    if problem:
        raise BadRequest(f"{where}: {problem}")
    return int(rows)


def schema_problem(schema: pa.Schema) -> str | None:
    """What makes ``schema`` unfit for an import, or None."""
    for name in REQUIRED_COLUMNS:
        if schema.get_field_index(name) < 0:
            return f"missing the required column {name!r} (columns: id, values, sparse_values, metadata)"
    if not _is_text(schema.field("id").type):
        return f"column 'id' must be strings, not {schema.field('id').type}"
    if not _is_number_list(schema.field("values").type):
        return f"column 'values' must be lists of numbers, not {schema.field('values').type}"
    if schema.get_field_index("metadata") >= 0 and not _is_text(schema.field("metadata").type):
        return f"column 'metadata' must be JSON strings, not {schema.field('metadata').type}"
    if schema.get_field_index("sparse_values") >= 0:
        sparse = schema.field("sparse_values").type
        if not (
            pa.types.is_struct(sparse)
            and sparse.get_field_index("indices") >= 0
            and sparse.get_field_index("values") >= 0
            and _is_number_list(sparse.field("indices").type, integers=True)
            and _is_number_list(sparse.field("values").type)
        ):
            return (
                "column 'sparse_values' must be a struct of 'indices' (list of integers) and 'values' "
                f"(list of numbers), not {sparse}"
            )
    return None


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


def _is_number_list(kind: pa.DataType, integers: bool = False) -> bool:
    listed = pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    if not listed:
        return False
    item = kind.value_type
    return bool(pa.types.is_integer(item) or (not integers and pa.types.is_floating(item)))
