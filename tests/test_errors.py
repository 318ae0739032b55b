"""flowc.errors: what every user-facing failure carries and how it reads."""

from __future__ import annotations

import pickle

from flowc.errors import (
    EXCERPT_WIDTH,
    MAX_ERRORS_SHOWN,
    Diagnostic,
    FlowCheckError,
    FlowRuntimeError,
    Span,
    format_diagnostic,
    source_line,
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


def test_the_excerpt_counts_lines_as_the_lexer_does_by_newlines_alone() -> None:
    """A form feed in a comment is not a line break to the lexer, nor to the excerpt."""
    source = "flow t # a form feed \f here\r\nload -> x\r\naction a = f()\r\n"
    diagnostic = Diagnostic("F203", "'f' is not imported", Span("t.flow", 3, 12, 3, 13))
    assert format_diagnostic(diagnostic, source).splitlines()[1:] == [
        " 3 | action a = f()",
        "   |            ^",
    ]


def test_a_long_line_is_cut_around_the_span_with_the_caret_still_under_it() -> None:
    fields = ", ".join(f"k{i}: int = {i}" for i in range(2000))
    source = f"flow t\nstate {{ {fields} }}\n"
    column = source.splitlines()[1].index("k1000:") + 1
    span = Span("t.flow", 2, column, 2, column + 5)
    excerpt = format_diagnostic(Diagnostic("F252", "unused", span), source).splitlines()[1:]
    shown, caret = excerpt[0].removeprefix(" 2 | "), excerpt[1].removeprefix("   | ")
    assert shown.startswith("…") and shown.endswith("…") and len(shown) == EXCERPT_WIDTH + 2
    assert caret.strip() == "^^^^^" and shown[caret.index("^") :].startswith("k1000")


def test_source_line_finds_each_line_and_nothing_past_the_last() -> None:
    assert [source_line("a\nb\n", n) for n in (0, 1, 2, 3)] == [None, "a", "b", None]
    assert [source_line("a\n\nc", n) for n in (1, 2, 3, 4)] == ["a", "", "c", None]
    assert source_line("", 1) is None


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
