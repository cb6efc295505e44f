"""The docs: the README stays a front page, and the MkDocs site builds in strict mode from the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inferhouse import errors
from inferhouse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_is_a_front_page_with_the_two_set_up_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    assert "./scripts/serve " in readme
    assert "./scripts/test " in readme


def test_every_setting_has_a_description() -> None:
    undescribed = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undescribed == []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    return out


def test_site_builds_strict_with_every_page(site: Path) -> None:
    pages = {p.relative_to(ROOT / "docs").with_suffix("") for p in (ROOT / "docs").rglob("*.md")}
    for page in pages:
        built = site / "index.html" if page.name == "index" else site / page / "index.html"
        assert built.is_file(), page


def test_environment_reference_lists_every_setting_from_the_code(site: Path) -> None:
    html = (site / "reference/environment/index.html").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"INFERHOUSE_{name.upper()}" in html


def test_error_reference_lists_every_error_class_from_the_code(site: Path) -> None:
    html = (site / "reference/errors/index.html").read_text(encoding="utf-8")
    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.InferhouseError)
    ]
    assert len(classes) > 30
    for cls in classes:
        assert f"<code>{cls.__name__}</code>" in html
        assert f"<code>{cls.kind}</code>" in html
