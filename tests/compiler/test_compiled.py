"""compile_source / compile_file: the single funnel that parses, lowers, checks and decides."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import flowc
from flowc.compiler import CompiledFlow, compile_file, compile_source
from flowc.errors import FlowCheckError, FlowSyntaxError, Severity

CLEAN = "from m import f\nstate { n: int = 0 }\naction a = f reads n writes n\nstart -> a -> end\n"


def test_a_clean_flow_compiles_to_its_ir_with_no_diagnostics() -> None:
    compiled = compile_source(CLEAN, "clean.flow", import_python=False)
    assert isinstance(compiled, CompiledFlow)
    assert compiled.ir.entry == "a" and compiled.diagnostics == ()
    assert compiled.source == CLEAN and compiled.path == "clean.flow"


def test_the_names_are_served_from_flowc_and_flowc_compiler() -> None:
    assert flowc.compile_source is compile_source
    assert flowc.CompiledFlow is CompiledFlow


def test_syntax_errors_raise_with_every_diagnostic_and_the_source() -> None:
    text = "action = f\nstart -> -> end\n"
    with pytest.raises(FlowSyntaxError) as caught:
        compile_source(text, "bad.flow")
    error = caught.value
    assert len(error.diagnostics) >= 2
    assert error.source == text
    assert " 1 | action = f" in str(error)


def test_check_errors_raise_with_all_diagnostics_errors_first() -> None:
    text = "from m import f, spare\naction a = f reads x writes y\nstart -> a -> b -> end\n"
    with pytest.raises(FlowCheckError) as caught:
        compile_source(text, "bad.flow", import_python=False)
    found = [(d.code, d.severity) for d in caught.value.diagnostics]
    assert found == [
        ("F301", Severity.ERROR),
        ("F201", Severity.ERROR),
        ("F250", Severity.WARNING),
    ]
    assert caught.value.code == "F301"
    assert "^" in str(caught.value)


def test_warnings_do_not_raise_and_strict_promotes_them() -> None:
    text = "from m import spare\n" + CLEAN
    compiled = compile_source(text, "w.flow", import_python=False)
    assert [(d.code, d.severity) for d in compiled.diagnostics] == [("F250", Severity.WARNING)]
    with pytest.raises(FlowCheckError) as caught:
        compile_source(text, "w.flow", import_python=False, strict=True)
    assert [(d.code, d.severity) for d in caught.value.diagnostics] == [("F250", Severity.ERROR)]


def test_import_python_runs_the_python_side_and_can_be_turned_off() -> None:
    text = "from no_such_module_q import f\naction a = f writes x\nstart -> a -> end\n"
    with pytest.raises(FlowCheckError) as caught:
        compile_source(text, "p.flow")
    assert caught.value.code == "F401"
    assert compile_source(text, "p.flow", import_python=False).diagnostics == ()


def test_check_errors_survive_pickling() -> None:
    with pytest.raises(FlowCheckError) as caught:
        compile_source("start -> nowhere -> end\n", "x.flow", import_python=False)
    again = pickle.loads(pickle.dumps(caught.value))
    assert again.diagnostics == caught.value.diagnostics and again.source == caught.value.source


def test_compile_file_reads_the_file_and_anchors_flow_imports(tmp_path: Path) -> None:
    (tmp_path / "lib.flow").write_text(
        "from m import f\naction p = f writes x\ngraph g { start -> p -> end }\n"
    )
    main = tmp_path / "main.flow"
    main.write_text('from "lib.flow" import g\nstart -> g -> end\n')
    compiled = compile_file(main, import_python=False)
    assert compiled.path == str(main) and compiled.ir.node_of("g").body.entry == "p"


def test_an_unreadable_file_is_a_syntax_error_not_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FlowSyntaxError) as caught:
        compile_file(tmp_path / "missing.flow")
    assert "cannot read" in caught.value.message


EVERY_CONSTRUCT = Path(__file__).parents[2] / "examples" / "lang" / "every_construct.flow"


def test_no_check_raises_on_any_program_that_parses() -> None:
    """Each one-line deletion of the every-construct file: an IR or a FlowError, never a crash."""
    lines = EVERY_CONSTRUCT.read_text().splitlines()
    outcomes = set()
    for index in range(len(lines)):
        text = "\n".join(lines[:index] + lines[index + 1 :]) + "\n"
        try:
            compile_source(text, str(EVERY_CONSTRUCT), import_python=False)
            outcomes.add("compiled")
        except (FlowSyntaxError, FlowCheckError) as error:
            outcomes.add(type(error).__name__)
    assert "FlowCheckError" in outcomes
