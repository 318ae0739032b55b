"""Reads a check's fixtures file: cases headed ``# title:``, each with ``# expect: CODE L:C
hint text`` lines (positions within the case's program, which starts after its header)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
_EXPECT = re.compile(r"# expect: (?P<code>F\d{3}) (?P<line>\d+):(?P<col>\d+)(?: (?P<hint>.*))?$")


@dataclass(frozen=True, slots=True)
class Expectation:
    code: str
    line: int
    col: int
    hint: str | None


@dataclass(frozen=True, slots=True)
class Case:
    title: str
    program: str
    expected: tuple[Expectation, ...]
    file: Path


def load_cases(name: str) -> list[Case]:
    path = FIXTURES / f"{name}.flow"
    cases: list[Case] = []
    for chunk in re.split(r"^(?=# title: )", path.read_text(), flags=re.M):
        if not chunk.strip():
            continue
        lines = chunk.splitlines()
        title = lines[0].removeprefix("# title: ").strip()
        expected = []
        body_start = 1
        for line in lines[1:]:
            match = _EXPECT.match(line)
            if not match:
                break
            expected.append(
                Expectation(
                    match["code"], int(match["line"]), int(match["col"]), match["hint"] or None
                )
            )
            body_start += 1
        program = "\n".join(lines[body_start:]).strip("\n") + "\n"
        cases.append(Case(title, program, tuple(expected), path))
    return cases
