"""The formatter prints canonical text: idempotent, meaning-preserving, comments kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc.compiler import ast, parse_or_raise
from flowc.compiler.format import format_module
from flowc.runtime.expression import parse_expression

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parents[2] / "examples"
SEPARATOR = "\n# ====\n"


def fmt(text: str) -> str:
    return format_module(parse_or_raise(text))


def identity_cases() -> list[str]:
    return [
        case.strip("\n") + "\n"
        for case in (FIXTURES / "identity.flow").read_text().split(SEPARATOR)
    ]


def pretty_cases() -> list[tuple[str, str, str]]:
    cases = []
    for case in (FIXTURES / "pretty.flow").read_text().split(SEPARATOR):
        title, _, rest = case.strip("\n").partition("\n")
        source, _, expected = rest.partition("\n# ----\n")
        cases.append((title.removeprefix("# title: "), source + "\n", expected.strip("\n") + "\n"))
    return cases


@pytest.mark.parametrize("text", identity_cases())
def test_canonical_text_formats_to_itself(text: str):
    assert fmt(text) == text


@pytest.mark.parametrize(("title", "source", "expected"), pretty_cases(), ids=lambda v: v)
def test_pretty_fixture_formats_as_expected_and_means_the_same(title, source, expected):
    assert fmt(source) == expected, title
    assert parse_or_raise(source) == parse_or_raise(expected), title


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.flow")), ids=lambda p: p.name)
def test_every_example_formats_idempotently_and_keeps_its_meaning(path: Path):
    text = path.read_text()
    once = fmt(text)
    assert fmt(once) == once
    assert parse_or_raise(once) == parse_or_raise(text)


def test_comments_are_kept_in_order():
    text = "# a\naction x = f  # b\n# c\ngraph g {\n  # d\n  x -> end  # e\n  # f\n}\n# g\n"
    assert [c.text for c in parse_or_raise(fmt(text)).comments] == [
        f"# {letter}" for letter in "abcdefg"
    ]


def test_empty_module_formats_to_empty_text():
    assert fmt("\n\n") == ""


# ---- generated ASTs ----------------------------------------------------------------------------

names = st.sampled_from(["a", "b", "ask", "prompt", "llm_output", "x1", "résumé", "_private"])
name_nodes = names.map(ast.Name)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(
    st.text(max_size=8).map(ast.String),
    st.integers(-(10**12), 10**12).map(ast.Number),
    finite_floats.map(ast.Number),
    st.sampled_from([True, False, None]).map(ast.Constant),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: ast.ListLiteral(tuple(items))),
        st.lists(
            st.builds(ast.DictEntry, st.text(max_size=4).map(ast.String), inner), max_size=3
        ).map(lambda entries: ast.DictLiteral(tuple(entries))),
    ),
    max_leaves=6,
)
callables = st.one_of(
    names.map(ast.CallableRef),
    st.builds(ast.CallableRef, names, st.sampled_from(["pkg.mod", "examples.llm", "m"])),
)
arguments = st.lists(
    st.builds(ast.Argument, name_nodes, values), max_size=2, unique_by=lambda a: a.name
)
key_lists = st.lists(name_nodes, max_size=3).map(tuple)
conditions = st.sampled_from(
    ["round < 3", "x and not y", "'#' in label", "len(items) >= 2 or done", "a.b[0] == -1.5"]
).map(lambda text: ast.Condition(parse_expression(text)))
durations = st.builds(
    ast.Duration,
    st.one_of(st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False)),
    st.sampled_from(sorted(ast.DURATION_UNITS)),
)
percents = st.integers(0, 100).map(ast.Percent)

actions = st.builds(
    ast.ActionDecl,
    name_nodes,
    callables,
    arguments.map(tuple),
    key_lists,
    key_lists,
    key_lists,
)
transitions = st.one_of(
    st.builds(
        lambda a, b, c: ast.Transition((ast.Endpoint(a), ast.Endpoint(b)), c),
        names,
        names,
        conditions,
    ),
    st.lists(names, min_size=1, max_size=3).map(
        lambda path: ast.Transition(tuple(map(ast.Endpoint, ["start", *path, "end"])))
    ),
)
branches = st.builds(ast.Branch, callables, arguments.map(tuple), st.one_of(st.none(), name_nodes))
item_sources = st.one_of(
    name_nodes.map(ast.StateItems),
    name_nodes.map(ast.InputItems),
    st.lists(scalars, max_size=3).map(
        lambda items: ast.LiteralItems(ast.ListLiteral(tuple(items)))
    ),
    st.builds(ast.RangeItems, st.integers(-5, 5), st.integers(-5, 50), st.sampled_from([1, 2, -1])),
)
options = st.lists(
    st.one_of(
        st.integers(1, 64).map(ast.MaxConcurrency),
        st.builds(
            ast.Executor,
            callables,
            st.one_of(
                st.none(), st.text(max_size=5).map(ast.String), st.integers(1, 9).map(ast.Number)
            ),
        ),
        st.one_of(st.integers(0, 9), percents).map(ast.Tolerate),
        st.builds(
            ast.Retry,
            st.integers(0, 9),
            st.one_of(st.none(), durations),
            st.one_of(st.none(), durations, percents),
        ),
        durations.map(ast.Timeout),
        st.integers(1, 9).map(ast.FirstK),
        st.one_of(
            names.map(lambda n: ast.FieldPath((n,))),
            st.builds(ast.CallableRef, names, st.just("pkg.keys")),
        ).map(ast.TaskKey),
        st.sampled_from(["cascade", "none"]).map(ast.Tracker),
        st.sampled_from(["cascade", "none"]).map(ast.Persister),
    ),
    max_size=4,
    unique_by=type,
)
fields = names.map(lambda n: ast.FieldPath((n,)))
reduces = st.one_of(
    st.builds(
        lambda target, reducer, field: ast.Reduce(
            (target,), ast.CallableRef(reducer), (ast.ReducerArg(field),)
        ),
        name_nodes,
        st.sampled_from(["collect", "sum", "min", "max", "concat", "first", "merge"]),
        fields,
    ),
    name_nodes.map(lambda t: ast.Reduce((t,), ast.CallableRef("count"), ())),
    st.builds(
        lambda t, k, v: ast.Reduce(
            (t,), ast.CallableRef("to_dict"), (ast.ReducerArg(k), ast.ReducerArg(v))
        ),
        name_nodes,
        fields,
        fields,
    ),
    st.builds(
        lambda targets, args: ast.Reduce(
            tuple(targets), ast.CallableRef("combine", "pkg.reducers"), args
        ),
        st.lists(name_nodes, min_size=1, max_size=2),
        st.one_of(
            st.none(),
            st.lists(st.builds(ast.ReducerArg, scalars, name_nodes), max_size=2).map(tuple),
        ),
    ),
)


@st.composite
def maps(draw: st.DrawFn) -> ast.MapDecl:
    kind = draw(st.sampled_from(list(ast.MapKind)))
    count = 1 if kind is ast.MapKind.STATES else draw(st.integers(1, 3))
    items = None
    if kind is not ast.MapKind.ACTIONS:
        items = ast.ForClause(draw(name_nodes), draw(item_sources))
    return ast.MapDecl(
        draw(name_nodes),
        kind,
        tuple(draw(branches) for _ in range(count)),
        items,
        tuple(draw(options)),
        tuple(draw(st.lists(reduces, max_size=2))),
    )


state_fields = st.builds(
    ast.StateField,
    name_nodes,
    st.sampled_from(["str", "int", "list[str]", "dict[str, any]", "optional[Answer]"]).map(
        lambda text: parse_or_raise(f"state {{ x: {text} }}").state_fields[0].type
    ),
    st.one_of(st.none(), values),
)
body_statements = st.one_of(actions, transitions, maps())
graphs = st.builds(
    lambda name, body: ast.GraphDecl(name, tuple(body)),
    name_nodes,
    st.lists(body_statements, max_size=3),
)
imports = st.builds(
    lambda source, listed: ast.ImportFrom(source, tuple(listed)),
    st.one_of(
        st.sampled_from(["pkg", "pkg.mod"]).map(ast.ModulePath),
        st.sampled_from(["lib.flow", "a b/ü.flow"]).map(ast.FlowPath),
    ),
    st.lists(
        st.builds(ast.ImportName, name_nodes, st.one_of(st.none(), name_nodes)),
        min_size=1,
        max_size=3,
    ),
)
modules = st.lists(
    st.one_of(
        names.map(lambda n: ast.FlowHeader(ast.Name(n))),
        imports,
        st.lists(state_fields, max_size=3).map(lambda f: ast.StateBlock(tuple(f))),
        body_statements,
        graphs,
    ),
    max_size=6,
).map(lambda statements: ast.Module(tuple(statements)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules)
def test_generated_asts_survive_format_and_parse(module: ast.Module):
    text = format_module(module)
    assert parse_or_raise(text) == module, text
    assert format_module(parse_or_raise(text)) == text
