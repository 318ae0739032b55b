"""Golden DOT files: each example's drawing is pinned byte for byte in tests/compiler/golden/.

After a deliberate change to the drawing (or to an example), regenerate them with
``FLOWC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/compiler/test_render_golden.py`` and review the
diff like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowc.compiler.lower import lower
from flowc.compiler.parse import parse
from flowc.compiler.render import render_dot

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted(ROOT.glob("examples/*/*.flow"))
UPDATE = os.environ.get("FLOWC_UPDATE_GOLDEN") == "1"

# (golden suffix, options): every example with the defaults; the language tour in every form.
VARIANTS = {"": {}}
TOUR_VARIANTS = {
    ".state": {"show_state": True},
    ".tb-depth0": {"rankdir": "TB", "depth": 0},
}


def cases() -> list[tuple[Path, str, dict]]:
    found = [(path, suffix, options) for path in EXAMPLES for suffix, options in VARIANTS.items()]
    tour = ROOT / "examples/lang/every_construct.flow"
    found += [(tour, suffix, options) for suffix, options in TOUR_VARIANTS.items()]
    return found


def drawing(path: Path, options: dict) -> str:
    relative = path.relative_to(ROOT).as_posix()
    module, diagnostics = parse(path.read_text(encoding="utf-8"), relative)
    assert module is not None, diagnostics
    return render_dot(lower(module, file=relative), **options)


@pytest.mark.parametrize(
    "path, suffix, options",
    cases(),
    ids=[f"{p.parent.name}/{p.stem}{s}" for p, s, _ in cases()],
)
def test_drawing_matches_its_golden_dot_file(path: Path, suffix: str, options: dict):
    golden = GOLDEN / f"{path.stem}{suffix}.dot"
    dot = drawing(path, options)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(dot, encoding="utf-8")
    assert golden.exists(), (
        f"no golden file for {path.relative_to(ROOT)}; create it with "
        "FLOWC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/compiler/test_render_golden.py"
    )
    assert dot == golden.read_text(encoding="utf-8")


def test_every_golden_file_belongs_to_an_example():
    expected = {f"{p.stem}{s}.dot" for p, s, _ in cases()}
    assert {g.name for g in GOLDEN.glob("*.dot")} <= expected
