"""lower() resolves names into the IR: steps, transitions in order, maps, graphs, imports."""

from __future__ import annotations

from pathlib import Path

from flowc.compiler.ast import MapKind
from flowc.compiler.ir import (
    ENTRY,
    HALT,
    ActionNode,
    FlowIR,
    GraphNode,
    ItemsFromInput,
    ItemsLiteral,
    ItemsRange,
    MapNode,
    NodeKind,
    UnknownNode,
    validate_ir,
)
from flowc.compiler.lower import MAX_NESTING, lower
from flowc.compiler.parse import parse_or_raise

EVERY_CONSTRUCT = Path(__file__).parents[2] / "examples" / "lang" / "every_construct.flow"


def lowered(text: str, file: str = "t.flow") -> FlowIR:
    ir = lower(parse_or_raise(text, file))
    assert validate_ir(ir) == []
    return ir


def test_every_construct_lowers_with_all_invariants_kept() -> None:
    ir = lower(parse_or_raise(EVERY_CONSTRUCT.read_text(), str(EVERY_CONSTRUCT)))
    assert validate_ir(ir) == []
    assert list(ir.nodes) == [ENTRY, "make_prompts", "try_all", HALT]
    assert ir.entry == "make_prompts"
    assert ir.halts == ("try_all",)
    names = [d.name for d in ir.meta.declarations]
    assert names == [
        "make_prompts", "ask", "ask_o1", "greet", "riddle", "try_all", "seeds", "models",
        "from_input",
    ]  # fmt: skip


def test_arrows_from_one_source_keep_source_order_as_their_key() -> None:
    ir = lowered(
        """
from m import f
action a = f
action b = f
start -> a
a -> b when x > 1
a -> a when x > 0
a -> b
b -> end
"""
    )
    arrows = ir.outgoing("a")
    assert [(v, t.order) for _, v, t in arrows] == [("b", 0), ("a", 1), ("b", 2)]
    assert arrows[0][2].condition.text == "x > 1"
    assert arrows[0][2].condition.expression.reads == ("x",)
    assert arrows[2][2].is_default
    assert ir.edges["a", "b", 2]["edge"] is arrows[2][2]


def test_a_chain_gives_one_arrow_per_link_each_with_its_own_span() -> None:
    ir = lowered("from m import f\naction a = f\naction b = f\nstart -> a -> b -> end\n")
    spans = [(u, v, t.span.col, t.span.end_col) for u, v, t in ir.transitions()]
    assert spans == [("start", "a", 1, 11), ("a", "b", 10, 16), ("b", "end", 15, 23)]


def test_callables_resolve_through_imports_and_aliases() -> None:
    ir = lowered(
        """
from pkg.llm import query as ask_llm
action a = ask_llm(model="x") reads p writes out
action b = pkg.other:fn
action c = missing
start -> a -> b -> c -> end
"""
    )
    a, b, c = (ir.node_of(n) for n in "abc")
    assert (a.callable.module, a.callable.name, a.callable.written) == (
        "pkg.llm",
        "query",
        "ask_llm",
    )
    assert a.args[0].value.to_python() == "x"
    assert a.read_keys == ("p",) and a.write_keys == ("out",)
    assert b.callable.qualified == "pkg.other:fn"
    assert not c.callable.resolved


def test_a_name_that_resolves_to_nothing_becomes_an_unknown_node() -> None:
    ir = lowered("from m import f\naction a = f\nstart -> a -> nowhere\n")
    node = ir.node_of("nowhere")
    assert isinstance(node, UnknownNode) and node.kind is NodeKind.UNKNOWN
    assert (node.span.line, node.span.col) == (3, 15)


def test_maps_and_graphs_may_be_used_before_they_are_declared() -> None:
    ir = lowered(
        """
from m import f
start -> g -> fan -> end
graph g {
  start -> inner -> end
  action inner = f reads p writes q
}
map fan = inner2 for p in ps { reduce qs = collect(q) }
action inner2 = f reads p writes q
"""
    )
    graph = ir.node_of("g")
    assert isinstance(graph, GraphNode)
    assert graph.body.entry == "inner" and graph.body.halts == ("inner",)
    fan = ir.node_of("fan")
    assert isinstance(fan, MapNode) and fan.map_kind is MapKind.STATES
    assert fan.branches[0].step is ir.declaration("inner2")
    assert fan.writes == ("qs",)


def test_a_graph_body_sees_outer_declarations_as_its_own_steps() -> None:
    ir = lowered(
        """
from m import f
action outer = f
graph g { start -> outer -> end }
start -> g -> end
"""
    )
    body = ir.node_of("g").body
    assert body.node_of("outer") is ir.declaration("outer")


def test_rebinding_branches_merge_arguments_and_take_the_alias_as_name() -> None:
    ir = lowered(
        """
from m import query
action ask = query(model="a", t=0.2) reads p writes out
map m2 = [ask(model="b") as b, ask] { reduce outs = collect(out) }
start -> m2 -> end
"""
    )
    first, second = ir.node_of("m2").branches
    assert first.name == "b" and first.ref == "ask"
    assert isinstance(first.step, ActionNode) and first.step.name == "b"
    assert {a.name: a.value.to_python() for a in first.step.args} == {"model": "b", "t": 0.2}
    assert first.step.read_keys == ("p",)
    assert second.step is ir.declaration("ask")
    assert ir.node_of("m2").map_kind is MapKind.ACTIONS


def test_map_items_and_options_are_typed() -> None:
    ir = lowered(
        """
from m import f
action a = f reads x writes y
map r = a for x in range(1, 10, 2) {
  tolerate 3
  retry 2 backoff 250ms jitter 10%
  timeout 1m
  executor dask "tcp://h:1"
  key x
}
map l = a for x in [1, "two"]
map i = a for x in input xs
start -> r -> l -> i -> end
"""
    )
    r, listed, i = (ir.node_of(n) for n in "rli")
    assert isinstance(r.items.source, ItemsRange)
    assert (r.items.source.start, r.items.source.step) == (1, 2)
    options = r.options
    assert (options.tolerate_count, options.tolerate_fraction) == (3, None)
    assert options.retry.backoff_seconds == 0.25 and options.retry.jitter_fraction == 0.1
    assert options.timeout_seconds == 60.0
    assert options.executor.kind == "dask" and options.executor.arg.value == "tcp://h:1"
    assert options.task_key.field_path == ("x",)
    assert [name for name, _ in options.spans] == [
        "tolerate",
        "retry",
        "timeout",
        "executor",
        "key",
    ]
    assert isinstance(
        listed.items.source, ItemsLiteral
    ) and listed.items.source.values.to_python() == [
        1,
        "two",
    ]
    assert isinstance(i.items.source, ItemsFromInput) and i.items.source.input.name == "xs"


def test_duplicates_are_all_kept_in_declarations_and_the_first_wins() -> None:
    ir = lowered("from m import f, g\naction a = f\naction a = g\nstart -> a -> end\n")
    first, second = ir.meta.declarations
    assert ir.node_of("a") is first
    assert (first.callable.name, second.callable.name) == ("f", "g")


def test_a_flow_file_import_lowers_that_file_relative_to_the_importer(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "riddles.flow").write_text(
        "from m import f\ngraph riddle { action p = f\nstart -> p -> end }\n"
    )
    main = tmp_path / "main.flow"
    main.write_text('from "lib/riddles.flow" import riddle as r\nstart -> r -> end\n')
    ir = lowered(main.read_text(), str(main))
    node = ir.node_of("r")
    assert isinstance(node, GraphNode) and node.body.entry == "p"
    assert node.span.file == str(main)
    assert node.body.meta.span.file.endswith("riddles.flow")
    assert ir.meta.problems == ()


def test_flow_import_problems_are_recorded_not_raised(tmp_path: Path) -> None:
    (tmp_path / "a.flow").write_text('from "b.flow" import x\n')
    (tmp_path / "b.flow").write_text('from "a.flow" import y\n')
    (tmp_path / "bad.flow").write_text("action = \n")
    main = tmp_path / "main.flow"
    text = (
        'from "a.flow" import x\nfrom "missing.flow" import z\nfrom "bad.flow" import w\n'
        'from "b.flow" import nope\n'
    )
    ir = lowered(text, str(main))
    codes = [d.code for d in ir.meta.problems]
    assert set(codes) == {"F220", "F221", "F222", "F223"}
    assert codes.count("F222") == 1  # reported once, where the cycle closes
    cycle = next(d for d in ir.meta.problems if d.code == "F222")
    assert cycle.message == "import cycle: a.flow → b.flow → a.flow"


def test_copies_are_shallow_and_safe_because_attributes_are_frozen() -> None:
    ir = lowered("from m import f\naction a = f\nstart -> a -> end\n")
    copy = ir.copy()
    assert copy == ir and copy is not ir
    copy.remove_node("a")
    assert "a" in ir and copy != ir


def graph_chain(graphs: int) -> str:
    """``graphs`` graphs, each but the last running the next as its one step."""
    lines = [f"graph g{i} {{\n  start -> g{i + 1} -> end\n}}" for i in range(graphs - 1)]
    lines.append(f"graph g{graphs - 1} {{\n  action a = m:f writes x\n  start -> a -> end\n}}")
    return "\n".join([*lines, "start -> g0 -> end", ""])


def test_graphs_may_nest_up_to_the_limit_and_every_stage_walks_them() -> None:
    from flowc.compiler.checks import run_checks
    from flowc.compiler.emit import emit_python
    from flowc.compiler.ir_schema import dump_ir, load_ir
    from flowc.compiler.render import render_dot

    ir = lower(parse_or_raise(graph_chain(MAX_NESTING - 1), "deep.flow"))
    assert ir.meta.problems == () and run_checks(ir, import_python=False) == []
    assert load_ir(dump_ir(ir)) == ir
    assert "g30" in render_dot(ir) and "g30" in emit_python(ir)


def test_graphs_nested_deeper_are_f225_not_a_crash() -> None:
    from flowc.compiler.checks import run_checks

    ir = lower(parse_or_raise(graph_chain(400), "deep.flow"))
    codes = [d.code for d in run_checks(ir, import_python=False)]
    assert set(codes) == {"F225"}  # and no "unknown step" where the nesting stopped


def test_flow_files_importing_one_another_too_deep_are_f225_not_a_crash(tmp_path: Path) -> None:
    files = 300
    for i in range(files - 1):
        (tmp_path / f"f{i}.flow").write_text(
            f'from "f{i + 1}.flow" import g{i + 1}\ngraph g{i} {{\n  start -> g{i + 1} -> end\n}}\n'
        )
    (tmp_path / f"f{files - 1}.flow").write_text(
        f"graph g{files - 1} {{\n  action a = m:f writes x\n  start -> a -> end\n}}\n"
    )
    main = tmp_path / "main.flow"
    main.write_text('from "f0.flow" import g0\nstart -> g0 -> end\n')
    ir = lower(parse_or_raise(main.read_text(), str(main)))
    assert "F225" in {d.code for d in ir.meta.problems}


def test_a_flow_nested_to_the_limit_builds_and_runs(tmp_path: Path) -> None:
    from flowc.compiler import compile_source

    (tmp_path / "nest_actions.py").write_text("def f(state):\n    return state.update(x=1)\n")
    source = graph_chain(MAX_NESTING - 1).replace("m:f", "nest_actions:f")
    compiled = compile_source(source, str(tmp_path / "deep.flow"))
    assert not compiled.diagnostics
    _, _, state = compiled.build_application().run()
    assert state["x"] == 1
