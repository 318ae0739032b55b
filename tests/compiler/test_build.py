"""build_application: a checked IR becomes a runtime Application that runs the flow."""

from __future__ import annotations

import gc
import random
import sys
import textwrap
from pathlib import Path

import pytest

from flowc.compiler import compile_source
from flowc.compiler.build import _Builder, build_application, make_action
from flowc.compiler.ir import MapNode
from flowc.compiler.lower import lower
from flowc.compiler.parse import parse_or_raise
from flowc.errors import FlowBuildError
from flowc.runtime.flow_support import branch_inputs
from flowc.runtime.parallelism import MapActions, MapActionsAndStates, MapStates
from flowc.runtime.source_maps import BranchLabel, flow_path

ACTIONS = """
from flowc.runtime import action

def bump(state, by=1):
    return state.update(n=state["n"] + by)

def double(state):
    return state.update(n=state["n"] * 2)

def square(state):
    return state.update(sq=state["x"] * state["x"])

def shout(state):
    return state.update(loud=state["word"].upper())

@action(reads=["n"], writes=["n"])
def declared(state):
    return state.update(n=state["n"] + 100)

def fail(state):
    raise ValueError("no")

def pick(state, states, top):
    values = sorted(s["sq"] for s in states)[-top:]
    return state.update(best=values)

NOT_CALLABLE = 3
"""


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    module = f"build_actions_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(ACTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))

    def compile_flow(body: str, **kw):
        text = textwrap.dedent(body).replace("MOD", module)
        path = tmp_path / "t.flow"
        path.write_text(text)
        return compile_source(text, str(path), **kw)

    yield compile_flow
    sys.modules.pop(module, None)


def run(compiled, **kw) -> dict:
    inputs = kw.pop("inputs", None)
    _, _, state = build_application(compiled.ir, **kw).run(inputs=inputs)
    return state.get_all()


def test_a_chain_runs_in_order_from_the_schema_defaults(flow) -> None:
    compiled = flow("""
        from MOD import bump, double
        state { n: int = 1 }
        action b = bump reads n writes n
        action d = double reads n writes n
        start -> b -> d -> end
    """)
    assert run(compiled) == {"n": 4}


def test_state_overrides_the_defaults(flow) -> None:
    compiled = flow("""
        from MOD import bump
        state { n: int = 1 }
        action b = bump reads n writes n
        start -> b -> end
    """)
    assert run(compiled, state={"n": 10}) == {"n": 11}


def test_bound_arguments_reach_the_callable(flow) -> None:
    compiled = flow("""
        from MOD import bump
        state { n: int = 1 }
        action b = bump(by=5) reads n writes n
        start -> b -> end
    """)
    assert run(compiled) == {"n": 6}


def test_a_loop_with_a_condition_stops_at_end(flow) -> None:
    compiled = flow("""
        from MOD import bump
        state { n: int = 0 }
        action b = bump reads n writes n
        start -> b
        b -> b when n < 5
        b -> end
    """)
    assert run(compiled) == {"n": 5}


def test_arrows_after_a_conditional_end_are_guarded(flow) -> None:
    compiled = flow("""
        from MOD import bump, double
        state { n: int = 0 }
        action b = bump reads n writes n
        action d = double reads n writes n
        start -> b
        b -> end when n >= 3
        b -> d
        d -> b
    """)
    # 0 -> 1 -> 2 -> 3 -> 6 -> 7: stops once b leaves n >= 3
    assert run(compiled) == {"n": 3}


def test_an_action_decorated_with_its_own_reads_and_writes(flow) -> None:
    compiled = flow("""
        from MOD import declared
        state { n: int = 1 }
        action x = declared
        start -> x -> end
    """)
    assert run(compiled) == {"n": 101}


def test_a_map_over_a_range_with_a_builtin_and_a_custom_reducer(flow) -> None:
    compiled = flow("""
        from MOD import square, pick
        action sq = square reads x writes sq
        map squares = sq for x in range(1, 5) {
          max_concurrency 2
          reduce all = collect(sq)
          reduce total = sum(sq)
          reduce best = pick(top=2)
        }
        start -> squares -> end
    """)
    assert run(compiled) == {"all": [1, 4, 9, 16], "total": 30, "best": [9, 16]}


def test_actions_of_a_function_seen_before_are_what_make_action_makes(flow) -> None:
    # the first action of a plain function goes through make_action; the others through the
    # maker it left behind: every one must be what make_action makes of it
    compiled = flow("""
        from MOD import bump, declared
        state { n: int = 0 }
        action one = bump reads n writes n
        action two = bump(by=2) reads n writes n
        action three = bump(by=3) reads n writes n
        action four = declared
        action five = declared
        start -> one -> two -> three -> four -> five -> end
    """)
    app = build_application(compiled.ir)
    module = sys.modules[compiled.ir.node_of("one").callable.module]
    for name in ("one", "two", "three", "four", "five"):
        node = compiled.ir.node_of(name)
        built = app.graph.get_action(name)
        expected = make_action(
            getattr(module, node.callable.name),
            name,
            [key.name for key in node.reads],
            [key.name for key in node.writes],
            {arg.name: arg.value.to_python() for arg in node.args},
            origin=node.span,
        )
        assert type(built) is type(expected) and vars(built) == vars(expected)
        assert list(vars(built)) == list(vars(expected))
    _, _, state = app.run()
    assert state["n"] == 206


def test_a_bad_binding_of_a_function_seen_before_is_f411_at_the_argument(flow) -> None:
    compiled = flow(
        """
        from MOD import bump
        state { n: int = 0 }
        action one = bump reads n writes n
        action two = bump(nope=2) reads n writes n
        start -> one -> two -> end
    """,
        import_python=False,
    )
    with pytest.raises(FlowBuildError) as caught:
        build_application(compiled.ir)
    assert caught.value.code == "F411" and "nope" in caught.value.message
    assert caught.value.span.line == 5


def test_backoff_doubles_past_retrys_default_cap_of_5_s() -> None:
    from flowc.compiler.build import retry

    source = "action a = m:f reads x writes y\nmap m = a for x in xs {\n  retry 3 backoff 30s\n}\n"
    ir = lower(parse_or_raise(source + "start -> m -> end\n", "t.flow"))
    (node,) = [d for d in ir.meta.declarations if isinstance(d, MapNode)]
    built = retry(node.options)
    assert built is not None
    assert [built.delay(n, random.Random(0)) for n in (1, 2, 3)] == [30.0, 60.0, 120.0]


def test_map_kinds_become_their_runtime_classes_with_options(flow) -> None:
    compiled = flow("""
        from MOD import square, shout
        state { word: str = "hi" }
        action sq = square reads x writes sq
        action up = shout reads word writes loud
        map a = sq for x in [1, 2] {
          retry 2 backoff 0.5s jitter 100ms
          tolerate 1
          timeout 3s
          reduce xs = collect(sq)
        }
        map b = [up as one, up as two] { reduce louds = collect(loud) }
        map c = [sq as s1, sq as s2] for x in [3] {
          reduce n = count()
          reduce sqs = collect(sq)
        }
        start -> a -> b -> c -> end
    """)
    app = build_application(compiled.ir)
    maps = {a.name: a for a in app.graph.actions}
    assert isinstance(maps["a"], MapStates)
    assert isinstance(maps["b"], MapActions)
    assert isinstance(maps["c"], MapActionsAndStates)
    options = maps["a"].options
    assert options.retry.attempts == 3 and options.retry.base_delay == 0.5
    assert options.retry.jitter == pytest.approx(0.2)
    assert options.retry.max_delay == 1.0  # the second retry's delay: 0.5 s doubled
    assert options.failure_policy.max_failures == 1
    assert options.timeout == 3.0
    _, _, state = app.run()
    assert state["xs"] == [1, 4] and state["louds"] == ["HI", "HI"] and state["n"] == 2


def test_maps_of_one_shape_share_a_class_and_keep_their_own_data(flow) -> None:
    compiled = flow("""
        from MOD import square, bump
        state { n: int = 0 }
        action sq = square reads x writes sq
        action b = bump reads n writes n
        map small = sq for x in [1, 2] {
          max_concurrency 2
          reduce smalls = collect(sq)
        }
        map large = sq for x in [5] {
          retry 1
          reduce larges = collect(sq)
        }
        map quiet = sq for x in [3] {
          tracker none
          persister none
          reduce quiets = collect(sq)
        }
        map both = [b, b(by=10) as b10] { reduce ns = collect(n) }
        start -> small -> large -> quiet -> both -> end
    """)
    app = build_application(compiled.ir)
    maps = {a.name: a for a in app.graph.actions}
    small, large, quiet, both = maps["small"], maps["large"], maps["quiet"], maps["both"]
    assert type(small) is type(large)  # one class per shape, not per map
    assert len({type(small), type(quiet), type(both)}) == 3
    assert (small.options.max_concurrency, small.options.retry) == (2, None)
    assert (large.options.max_concurrency, large.options.retry.attempts) == (None, 2)
    assert (small.writes, large.writes, both.writes) == (["smalls"], ["larges"], ["ns"])
    assert small.inputs == (["__context"], []) and both.reads == ["n"]
    # a shape without `tracker none` / `persister none` keeps the runtime's cascading methods
    assert type(small).tracker is MapActionsAndStates.tracker
    assert type(small).state_persister is MapActionsAndStates.state_persister
    assert quiet.tracker() is None and quiet.state_persister() is None
    assert quiet.state_initializer() is None
    _, _, state = app.run()
    assert (state["smalls"], state["larges"], state["quiets"]) == ([1, 4], [25], [9])
    assert state["ns"] == [1, 10]


def test_maps_whose_options_say_the_same_share_one_options_object(flow) -> None:
    compiled = flow("""
        from MOD import square
        action sq = square reads x writes sq
        map a = sq for x in [1] {
          retry 2 backoff 0.5s
          max_concurrency 4
          reduce as_ = collect(sq)
        }
        map b = sq for x in [2] {
          max_concurrency 4
          retry 2 backoff 0.5s
          reduce bs = collect(sq)
        }
        map c = sq for x in [3] {
          max_concurrency 4
          retry 2 backoff 0.25s
          reduce cs = collect(sq)
        }
        map d = sq for x in [4] {
          max_concurrency 4
          retry 2 backoff 0.5s
          key x
          reduce ds = collect(sq)
        }
        start -> a -> b -> c -> d -> end
    """)
    app = build_application(compiled.ir)
    maps = {a.name: a for a in app.graph.actions}
    assert maps["a"].options is maps["b"].options  # written in another order, same options
    assert maps["c"].options.retry.base_delay == 0.25  # another backoff: options of its own
    assert maps["d"].options.task_key == "x" and maps["d"].options is not maps["a"].options
    for name in "abcd":  # each is what the map's own options make
        node = compiled.ir.node_of(name)
        assert maps[name].options == _Builder(None).new_map_options(node.options)
    _, _, state = app.run()
    assert (state["as_"], state["bs"], state["cs"], state["ds"]) == ([1], [4], [9], [16])


def test_a_graph_is_a_map_branch_and_a_step(flow) -> None:
    compiled = flow("""
        from MOD import bump, double
        state { n: int = 1 }
        graph twice {
          action b = bump reads n writes n
          action d = double reads n writes n
          start -> b -> d -> end
        }
        map each = twice for n in [1, 2, 3] { reduce outs = collect(n) }
        start -> twice -> each -> end
    """)
    assert run(compiled) == {"n": 4, "outs": [4, 6, 8]}


def test_items_from_an_input(flow) -> None:
    compiled = flow("""
        from MOD import square
        action sq = square reads x writes sq
        map squares = sq for x in input xs { reduce all = collect(sq) }
        start -> squares -> end
    """)
    assert run(compiled, inputs={"xs": [2, 3]}) == {"all": [4, 9]}


def test_every_runtime_object_carries_its_flow_span(flow) -> None:
    compiled = flow("""
        from MOD import bump
        state { n: int = 0 }
        action b = bump reads n writes n
        start -> b
        b -> b when n < 2
        b -> end
    """)
    app = build_application(compiled.ir)
    (action,) = app.graph.actions
    assert action.origin.line == 4 and action.origin.file.endswith("t.flow")
    (transition,) = app.graph.transitions
    assert transition.origin.line == 6
    assert transition.condition.origin.line == 6


def test_a_failing_import_is_a_build_error_with_the_span(tmp_path: Path) -> None:
    text = "action a = no_such_module_xyz:fn writes n\nstart -> a -> end\n"
    compiled = compile_source(text, str(tmp_path / "t.flow"), import_python=False)
    with pytest.raises(FlowBuildError) as caught:
        build_application(compiled.ir)
    error = caught.value
    assert error.code == "F401"
    assert (error.span.line, error.span.col) == (1, 12)
    assert error.hints


def test_a_value_that_is_not_an_action_is_f410(flow) -> None:
    compiled = flow(
        """
        from MOD import NOT_CALLABLE
        action a = NOT_CALLABLE writes n
        start -> a -> end
    """,
        import_python=False,
    )
    with pytest.raises(FlowBuildError) as caught:
        build_application(compiled.ir)
    assert caught.value.code == "F410"
    assert caught.value.span.line == 3


def test_binding_an_unknown_parameter_is_f411(flow) -> None:
    compiled = flow(
        """
        from MOD import double
        state { n: int = 1 }
        action a = double(factor=3) reads n writes n
        start -> a -> end
    """,
        import_python=False,
    )
    with pytest.raises(FlowBuildError) as caught:
        build_application(compiled.ir)
    assert caught.value.code == "F411"
    assert caught.value.span.line == 4


def test_the_build_leaves_the_garbage_collector_as_it_found_it(flow, tmp_path: Path) -> None:
    compiled = flow("""
        from MOD import bump
        state { n: int = 1 }
        action b = bump reads n writes n
        start -> b -> end
    """)
    broken = compile_source(
        "action a = no_such_module_xyz:fn writes n\nstart -> a -> end\n",
        str(tmp_path / "broken.flow"),
        import_python=False,
    )
    was_enabled = gc.isenabled()
    try:
        gc.enable()
        build_application(compiled.ir)
        assert gc.isenabled()
        with pytest.raises(FlowBuildError):
            build_application(broken.ir)
        assert gc.isenabled()  # restored when the build fails too
        gc.disable()
        build_application(compiled.ir)
        assert not gc.isenabled()  # a caller's pause is kept
    finally:
        if was_enabled:
            gc.enable()


def test_actions_over_one_function_each_get_their_own_bound_arguments(flow) -> None:
    compiled = flow("""
        from MOD import bump
        state { n: int = 1 }
        action a = bump(by=2) reads n writes n
        action b = bump(by=3) reads n writes n
        action c = bump reads n writes n
        start -> a -> b -> c -> end
    """)
    assert run(compiled) == {"n": 7}


def test_a_later_action_over_the_same_function_binding_an_unknown_parameter_is_f411(
    flow,
) -> None:
    compiled = flow(
        """
        from MOD import bump
        state { n: int = 1 }
        action a = bump(by=2) reads n writes n
        action b = bump(step=3) reads n writes n
        start -> a -> b -> end
    """,
        import_python=False,
    )
    with pytest.raises(FlowBuildError) as caught:
        build_application(compiled.ir)
    assert caught.value.code == "F411"
    assert caught.value.span.line == 5


def test_a_maps_inputs_are_read_on_first_use_and_are_its_branches_inputs(flow) -> None:
    compiled = flow("""
        from MOD import bump, square
        state { n: int = 0 }
        action sq = square reads x writes sq
        action b = bump reads n writes n
        map squares = sq for x in input xs { reduce all = collect(sq) }
        map both = [b, b(by=10) as b10] { reduce ns = collect(n) }
        map tens = [b(by=10) as b10] { reduce ts = collect(n) }
        start -> squares -> both -> tens -> end
    """)
    maps = {a.name: a for a in build_application(compiled.ir).graph.actions}
    assert maps["squares"].inputs == (["xs", "__context"], [])
    assert maps["both"].inputs == (["__context"], ["by"])  # b takes `by`, b10 binds it
    assert maps["tens"].inputs == (["__context"], [])
    for made in maps.values():  # what the build worked out before it was left to the first read
        required, optional = made.inputs
        assert optional == [n for n in branch_inputs(made._branches) if n not in required]
        assert made.inputs == (required, optional)  # the same on every read


def test_a_maps_branch_labels_name_each_branch_and_note_a_failed_one(flow) -> None:
    compiled = flow("""
        from MOD import bump, fail
        state { n: int = 0 }
        action b = bump reads n writes n
        graph g {
          action inner = bump reads n writes n
          start -> inner -> end
        }
        map both = [b, g, fail as boom] { reduce ns = collect(n) }
        start -> both -> end
    """)
    app = build_application(compiled.ir)
    (made,) = app.graph.actions
    node = compiled.ir.node_of("both")
    assert made._labels() == (
        BranchLabel("b", "action", node.branches[0].span, "b"),
        BranchLabel("g", "graph", node.branches[1].span, "inner"),
        BranchLabel("boom", "action", node.branches[2].span, "boom"),
    )
    with pytest.raises(ValueError, match="no") as caught:
        app.run()
    assert "in branch 2 of map 'both', action 'boom'" in flow_path(caught.value)
