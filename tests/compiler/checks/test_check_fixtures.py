"""Every check against its fixtures: each failing program yields exactly the expected
diagnostics (code, line, column) with the expected hint, and each passing program yields none.

The fixtures live in ``fixtures/<check>.flow``; Python-side fixtures import ``fixture_actions``
from the same directory.
"""

from __future__ import annotations

import pytest
from fixture_cases import Case, load_cases

from flowc.compiler.checks import run_checks
from flowc.compiler.lower import lower
from flowc.compiler.parse import parse_or_raise

CHECK_FILES = (
    "names",
    "entry",
    "unreachable",
    "loops",
    "dead_ends",
    "shadowed",
    "dataflow",
    "maps",
    "conditions",
    "defaults",
    "unused",
    "python",
    "lowering",
)
CASES = [case for name in CHECK_FILES for case in load_cases(name)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file.stem}: {c.title}")
def test_fixture(case: Case) -> None:
    module = parse_or_raise(case.program, str(case.file))
    found = run_checks(lower(module), import_python=case.file.stem == "python")
    positions = sorted((d.code, d.span.line, d.span.col) for d in found if d.span)
    expected = sorted((e.code, e.line, e.col) for e in case.expected)
    assert positions == expected, [
        f"{d.code} {d.span.line}:{d.span.col} {d.message}" for d in found
    ]
    for expectation in case.expected:
        if expectation.hint is None:
            continue
        matching = [
            d
            for d in found
            if (d.code, d.span.line, d.span.col)
            == (expectation.code, expectation.line, expectation.col)
        ]
        hints = [hint for d in matching for hint in d.hints]
        assert any(expectation.hint in hint for hint in hints), hints


def test_every_check_has_a_passing_and_a_failing_program() -> None:
    for name in CHECK_FILES:
        cases = load_cases(name)
        assert any(not c.expected for c in cases), f"{name} has no passing program"
        assert any(c.expected for c in cases), f"{name} has no failing program"


def test_a_callables_own_declaration_counts_only_when_the_checks_may_import() -> None:
    (case,) = [c for c in load_cases("python") if c.title.startswith("a key an action's @action")]
    ir = lower(parse_or_raise(case.program, str(case.file)))
    assert [d.code for d in run_checks(ir, import_python=True)] == ["F301"]
    assert run_checks(ir, import_python=False) == []  # unknown without importing: none declared


def test_a_model_or_enum_default_is_validated_only_when_the_checks_may_import() -> None:
    (case,) = [c for c in load_cases("python") if c.title.startswith("a model default pydantic")]
    ir = lower(parse_or_raise(case.program, str(case.file)))
    assert [d.code for d in run_checks(ir, import_python=True)] == ["F312", "F312"]
    assert run_checks(ir, import_python=False) == []  # the classes are unknown without importing
