"""flowc.errors: what every user-facing failure carries and how it reads."""

from __future__ import annotations

import pickle

from flowc.errors import (
    MAX_ERRORS_SHOWN,
    Diagnostic,
    FlowCheckError,
    FlowRuntimeError,
    Span,
    format_diagnostic,
)

SOURCE = "flow etl\nload -> sumarize\n"


def test_a_diagnostic_reads_file_line_col_code_caret_and_hint() -> None:
    diagnostic = Diagnostic(
        "F201",
        "'sumarize' is not an action",
        Span("etl.flow", 2, 9, 2, 17),
        hints=("did you mean 'summarize'?",),
    )
    assert format_diagnostic(diagnostic, SOURCE).splitlines() == [
        "etl.flow:2:9: error[F201]: 'sumarize' is not an action",
        " 2 | load -> sumarize",
        "   |         ^^^^^^^^",
        "   = hint: did you mean 'summarize'?",
    ]


def test_a_span_into_another_file_gets_no_excerpt_from_this_one() -> None:
    diagnostic = Diagnostic("F221", "broken import", Span("lib.flow", 2, 1, 2, 5))
    assert " 2 |" not in format_diagnostic(diagnostic, SOURCE, source_file="etl.flow")
    error = FlowCheckError(diagnostics=[diagnostic], source=SOURCE, source_file="etl.flow")
    assert str(error) == "lib.flow:2:1: error[F221]: broken import"


def test_an_error_exposes_its_first_diagnostic_and_shows_a_bounded_number() -> None:
    many = [Diagnostic("F201", f"problem {i}", Span("f.flow", 1, 1)) for i in range(25)]
    error = FlowCheckError(diagnostics=many)
    assert (error.code, error.span, error.message) == ("F201", Span("f.flow", 1, 1), "problem 0")
    assert str(error).count("error[F201]") == MAX_ERRORS_SHOWN
    assert str(error).endswith(f"… and {25 - MAX_ERRORS_SHOWN} more")


def test_errors_survive_pickling_across_processes() -> None:
    class BranchValueError(FlowRuntimeError, ValueError):
        default_code = "F520"

    error = FlowRuntimeError("it broke", code="F520", span=Span("f.flow", 3, 4), hints=("retry",))
    error.extra = "kept"
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.code, copy.span, copy.hints, copy.extra) == (
        FlowRuntimeError,
        "F520",
        Span("f.flow", 3, 4),
        ("retry",),
        "kept",
    )
    assert isinstance(BranchValueError("x"), ValueError)
