"""MkDocs hook: fills the reference pages' tables from the code, so the site cannot drift from it.

``<!-- generated: environment -->`` becomes the table of :class:`inferhouse.settings.Settings` and
``<!-- generated: errors -->`` the table of the error tree in :mod:`inferhouse.errors`;
``<!-- generated: readme -->`` the repository's README.md, its links made relative to ``docs/``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from inferhouse import errors
from inferhouse.cli.serve import serve
from inferhouse.settings import Settings


def _cell(text: str) -> str:
    return text.replace("``", "`").replace("|", "\\|").replace("\n", " ")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
        return "`[]`" if value == [] else "`{}`" if value == {} else "see meaning"
    if field.default is None:
        return "unset"
    if field.default is PydanticUndefined:
        return "required"
    value = field.default
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def environment_table() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    flags = set(inspect.signature(serve).parameters)
    rows = ["| variable | flag | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"Settings.{name} has no description: give it Field(description=...)")
        flag = f"`--{name.replace('_', '-')}`" if name in flags else ""
        variable = f"`{prefix}{name.upper()}`"
        rows.append(f"| {variable} | {flag} | {_default(field)} | {_cell(field.description)} |")
    return "\n".join(rows)


def _tree(cls: type[errors.InferhouseError], depth: int) -> list[tuple[int, type[errors.InferhouseError]]]:
    found = [(depth, cls)]
    for sub in cls.__subclasses__():
        if sub.__module__ == errors.__name__:
            found += _tree(sub, depth + 1)
    return found


def errors_table() -> str:
    rows = ["| error | status | kind | meaning |", "| --- | --- | --- | --- |"]
    for depth, cls in _tree(errors.InferhouseError, 0):
        name = "&nbsp;&nbsp;" * (2 * depth) + f"`{cls.__name__}`"
        status = str(cls.status_code)
        if cls is errors.UpstreamRejected:
            status = "the upstream's 4xx"
        doc = inspect.getdoc(cls) or ""
        rows.append(f"| {name} | {status} | `{cls.kind}` | {_cell(doc.split(chr(10) + chr(10))[0])} |")
    return "\n".join(rows)


def readme() -> str:
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    text = text.replace("[benchmarks/README.md](benchmarks/README.md)", "`benchmarks/README.md`")
    return text.replace("](docs/", "](")


GENERATED = {
    "<!-- generated: environment -->": environment_table,
    "<!-- generated: errors -->": errors_table,
    "<!-- generated: readme -->": readme,
}


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    for marker, make in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown
