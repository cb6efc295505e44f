"""requirements/ must cover pyproject.toml: a dependency added without refreshing the pins fails here,
before a fresh install does."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(name: str) -> dict[str, str]:
    pinned = {}
    for line in (ROOT / "requirements" / f"{name}.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{line!r} in requirements/{name}.txt is not an exact pin"
            pinned[canonicalize_name(requirement.name)] = specifier.version
    return pinned


def wanted(extra: str) -> list[Requirement]:
    """The base dependencies and ``extra``'s, with the extras it names of this project
    (``inferhouse[server]``) expanded in place."""
    found = [Requirement(entry) for entry in PYPROJECT["dependencies"]]
    extras, seen = [extra], set()
    while extras:
        name = extras.pop()
        if name not in seen:
            seen.add(name)
            for entry in PYPROJECT["optional-dependencies"][name]:
                requirement = Requirement(entry)
                if canonicalize_name(requirement.name) == canonicalize_name(PYPROJECT["name"]):
                    extras.extend(requirement.extras)
                else:
                    found.append(requirement)
    return found


def test_the_server_dependencies_are_an_extra_the_sdk_does_without() -> None:
    # `pip install inferhouse` is the SDK; tests/integration/test_sdk_install.py installs it.
    assert [Requirement(entry).name for entry in PYPROJECT["dependencies"]] == ["httpx"]
    assert "torch" in {requirement.name for requirement in wanted("server")}


@pytest.mark.parametrize(
    ("pinned_set", "extra"), [("serve", "server"), ("dev", "dev"), ("examples", "examples")]
)
def test_every_dependency_is_pinned_within_its_range(pinned_set: str, extra: str) -> None:
    pinned = pins(pinned_set)
    for requirement in wanted(extra):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is missing from requirements/{pinned_set}.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{pinned_set}.txt pins {name}=={pinned[name]}, outside {requirement}"
        )


def test_the_sets_agree_on_every_shared_version() -> None:
    dev = pins("dev")
    for narrower in ("serve", "examples"):
        for name, version in pins(narrower).items():
            assert dev.get(name) == version, f"{name}: {narrower} pins {version}, dev {dev.get(name)}"


def test_torch_is_pinned_to_the_public_cpu_release() -> None:
    # A local version (2.13.0+cpu) would name a build only one index has.
    for pinned_set in ("serve", "dev", "examples"):
        assert pins(pinned_set)["torch"] == "2.13.0"
