"""Codes stay stable and documented: every code the compiler's checks can raise is in
docs/compiler.md's table, every code in the table is raised somewhere, and each has a fixture."""

from __future__ import annotations

import re
from pathlib import Path

from fixture_cases import FIXTURES

ROOT = Path(__file__).parents[3]
SOURCES = [
    *sorted((ROOT / "flowc" / "compiler" / "checks").glob("*.py")),
    ROOT / "flowc" / "compiler" / "lower.py",
    ROOT / "flowc" / "compiler" / "python_refs.py",
]
CODE = re.compile(r'"(F[2-4]\d\d)"')


def raised_codes() -> set[str]:
    return {code for path in SOURCES for code in CODE.findall(path.read_text())}


def documented_codes() -> set[str]:
    text = (ROOT / "docs" / "compiler.md").read_text()
    return set(re.findall(r"^\| (F\d{3}) \|", text, flags=re.M))


def test_every_raised_code_is_documented_and_every_documented_code_is_raised() -> None:
    assert raised_codes() == documented_codes()


def test_every_code_has_a_failing_fixture() -> None:
    expected = set()
    for path in FIXTURES.glob("*.flow"):
        expected |= set(re.findall(r"^# expect: (F\d{3}) ", path.read_text(), flags=re.M))
    assert documented_codes() - expected == set()
