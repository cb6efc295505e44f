"""Modules stay small enough to read in one sitting: none under src/inferhouse exceeds 400 lines."""

from __future__ import annotations

from pathlib import Path

import inferhouse

MAX_LINES = 400
PACKAGE = Path(inferhouse.__file__).parent


def test_no_module_is_over_400_lines() -> None:
    sizes = {path.relative_to(PACKAGE.parent).as_posix(): _lines(path) for path in PACKAGE.rglob("*.py")}
    offenders = sorted(f"{path}: {count} lines" for path, count in sizes.items() if count > MAX_LINES)
    assert sizes, f"no modules found under {PACKAGE}"
    assert offenders == [], f"modules over {MAX_LINES} lines (split them by responsibility):\n" + "\n".join(
        offenders
    )


def _lines(path: Path) -> int:
    with path.open("rb") as source:
        return sum(1 for _ in source)
