"""Long but valid input goes through every stage of the compiler.

A condition may be a flat chain of thousands of terms (`x + x + …`, `x > 0 and …`,
`x <= x <= …`, `max(x, x, …)`): the expression language allows it (only nesting is limited), so
every pass over a condition must walk such a chain in a loop, not by recursion — the checks'
type inference, the IR's JSON, the drawing, the emitted module and the build. The drawing cuts
a long condition on its arrow (a label that long is unreadable, and Graphviz refuses it).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from flowc.compiler import compile_source
from flowc.compiler.emit import emit_python
from flowc.compiler.ir_schema import dump_ir, load_ir
from flowc.compiler.render import render, render_dot
from flowc.errors import FlowCheckError

TERMS = 5_000
CONDITIONS = {
    "sum": " + ".join(["x"] * TERMS) + " > 0",
    "mixed arithmetic": " - ".join(["x * 2"] * TERMS) + " < 0",
    "and": " and ".join(["x > 0"] * TERMS),
    "comparison chain": " <= ".join(["x"] * TERMS),
    "call": "max(" + ", ".join(["x"] * TERMS) + ") > 0",
}


def flow(condition: str) -> str:
    return (
        "from long_actions import f\n"
        'state { x: int = 1, took: str = "none" }\n'
        'action a = f(label="a") reads x writes took\n'
        'action b = f(label="b") reads x writes took\n'
        "start -> a\n"
        f"a -> b when {condition}\n"
        "a -> end\n"
        "b -> end\n"
    )


@pytest.fixture
def actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "long_actions.py").write_text(
        "def f(state, label):\n    return state.update(took=label)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_a_long_flat_condition_goes_through_every_stage(name: str, actions: None) -> None:
    compiled = compile_source(flow(CONDITIONS[name]), "long.flow")
    assert compiled.diagnostics == ()
    ir = compiled.ir
    assert load_ir(dump_ir(ir)) == ir
    assert CONDITIONS[name] in json.dumps(json.loads(dump_ir(ir)))
    assert render_dot(ir).startswith("digraph")
    svg = render(ir, "svg").decode()  # real Graphviz: it refuses labels over 16,384 characters
    assert len(svg) < len(CONDITIONS[name])  # cut to CONDITION_LABEL_WIDTH, not drawn whole
    module = emit_python(ir)
    ast.parse(module)  # the emitted module is valid Python; its condition stays text
    assert repr(CONDITIONS[name]) in module
    _, _, state = compiled.build_application().run()
    assert state["took"] == "b"


def test_a_long_arithmetic_chain_of_mixed_types_is_one_diagnostic(actions: None) -> None:
    condition = 'x + "y"' + " + x" * TERMS + " > 0"
    with pytest.raises(FlowCheckError) as caught:
        compile_source(flow(condition), "long.flow")
    assert [d.code for d in caught.value.diagnostics] == ["F311"]


def test_a_long_bound_string_is_cut_in_the_drawing(actions: None) -> None:
    """Every label and tooltip is cut, not only a condition's: Graphviz refuses long ones."""
    prompt = "y" * 20_000
    text = flow("x > 0").replace('f(label="a")', f'f(label="{prompt}")')
    ir = compile_source(text, "long.flow").ir
    for show_state in (False, True):
        svg = render(ir, "svg", show_state=show_state).decode()
        assert len(svg) < len(prompt)
