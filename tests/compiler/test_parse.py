"""Every construct of the language parses to the expected AST; input quirks are handled."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowc.compiler import ast, parse, parse_or_raise
from flowc.compiler.ast import (
    ActionDecl,
    Argument,
    Branch,
    CallableRef,
    Condition,
    Constant,
    DictEntry,
    DictLiteral,
    Duration,
    Endpoint,
    FieldPath,
    FlowHeader,
    FlowPath,
    ForClause,
    GraphDecl,
    ImportFrom,
    ImportName,
    InputItems,
    ListLiteral,
    LiteralItems,
    MapDecl,
    MapKind,
    ModulePath,
    Name,
    Number,
    Percent,
    RangeItems,
    Reduce,
    ReducerArg,
    StateBlock,
    StateField,
    StateItems,
    String,
    Transition,
    TypeRef,
)
from flowc.compiler.parse import parse_file
from flowc.errors import FlowSyntaxError
from flowc.runtime.expression import parse_expression

EXAMPLES = Path(__file__).parents[2] / "examples"


STR = TypeRef(Name("str"))


def only(text: str) -> ast.Statement:
    module = parse_or_raise(text)
    assert len(module.statements) == 1, module.statements
    return module.statements[0]


def names(*values: str) -> tuple[Name, ...]:
    return tuple(Name(v) for v in values)


def test_flow_header_names_the_flow():
    module = parse_or_raise("flow prompt_lab\n")
    assert module.statements == (FlowHeader(Name("prompt_lab")),)
    assert module.name == "prompt_lab"


def test_import_from_python_module_with_alias():
    assert only("from examples.llm import query_llm, score as score_answer") == ImportFrom(
        ModulePath("examples.llm"),
        (ImportName(Name("query_llm")), ImportName(Name("score"), Name("score_answer"))),
    )


def test_import_graphs_from_another_flow_file():
    statement = only('from "lib/riddles.flow" import riddle')
    assert statement == ImportFrom(FlowPath("lib/riddles.flow"), (ImportName(Name("riddle")),))


def test_state_fields_with_types_and_defaults():
    text = """state {
      prompts: list[str] = []
      scores: dict[str, float] = {"a": 1.5}
      round: int = 0
      best: optional[Answer] = None
      done: bool = false
      label: str
    }"""
    assert only(text) == StateBlock(
        (
            StateField(Name("prompts"), TypeRef(Name("list"), (STR,)), ListLiteral(())),
            StateField(
                Name("scores"),
                TypeRef(Name("dict"), (TypeRef(Name("str")), TypeRef(Name("float")))),
                DictLiteral((DictEntry(String("a"), Number(1.5)),)),
            ),
            StateField(Name("round"), TypeRef(Name("int")), Number(0)),
            StateField(
                Name("best"), TypeRef(Name("optional"), (TypeRef(Name("Answer")),)), Constant(None)
            ),
            StateField(Name("done"), TypeRef(Name("bool")), Constant(False)),
            StateField(Name("label"), TypeRef(Name("str"))),
        )
    )


def test_state_fields_may_share_a_line_separated_by_commas():
    block = only("state { a: int = 1, b: str = 'x' }")
    assert [f.name.value for f in block.fields] == ["a", "b"]


def test_action_with_bound_params_reads_writes_and_inputs():
    text = (
        'action ask = query_llm(model="gpt-4", temperature=0.2) '
        "reads prompt, history writes llm_output inputs user"
    )
    assert only(text) == ActionDecl(
        Name("ask"),
        CallableRef("query_llm"),
        (Argument(Name("model"), String("gpt-4")), Argument(Name("temperature"), Number(0.2))),
        names("prompt", "history"),
        names("llm_output"),
        names("user"),
    )


def test_action_clauses_may_continue_on_the_following_lines():
    text = "action ask = query_llm\n    reads prompt\n    # why\n    writes llm_output\n"
    assert only(text) == ActionDecl(
        Name("ask"), CallableRef("query_llm"), reads=names("prompt"), writes=names("llm_output")
    )


def test_action_callable_may_be_module_colon_function():
    action = only("action greet = examples.greet:hello")
    assert action.target == CallableRef("hello", "examples.greet")
    assert action.target.qualified == "examples.greet:hello"


def test_same_callable_bound_several_ways_under_several_names():
    module = parse_or_raise('action gpt4 = ask(model="gpt-4")\naction o1 = ask(model="o1")\n')
    assert [(a.name.value, a.args[0].value) for a in module.actions] == [
        ("gpt4", String("gpt-4")),
        ("o1", String("o1")),
    ]


def test_transition_chain_with_start_and_end():
    transition = only("start -> a -> b -> end")
    assert transition == Transition(tuple(map(Endpoint, ["start", "a", "b", "end"])))
    assert [(x.name, y.name) for x, y in transition.edges()] == [
        ("start", "a"),
        ("a", "b"),
        ("b", "end"),
    ]


def test_conditional_transition_holds_the_expression_language_node():
    transition = only("a -> a when round < 3 and 'x' in tags  # loop")
    assert transition.condition == Condition(parse_expression("round < 3 and 'x' in tags"))
    assert transition.condition.text == "round < 3 and 'x' in tags"
    assert transition.condition.span.col == 13


def test_condition_may_contain_hash_and_brace_inside_strings():
    transition = only('a -> b when label == "#1 {x}"')
    assert transition.condition == Condition(parse_expression('label == "#1 {x}"'))


def test_graph_with_local_actions_entry_and_halt():
    graph = only(
        "graph riddle {\n  action p = process reads prompt writes q\n  start -> p -> ask -> end\n}"
    )
    assert graph == GraphDecl(
        Name("riddle"),
        (
            ActionDecl(Name("p"), CallableRef("process"), reads=names("prompt"), writes=names("q")),
            Transition(tuple(map(Endpoint, ["start", "p", "ask", "end"]))),
        ),
    )


def test_map_over_states_from_a_state_key():
    node = only("map answer_all = ask for prompt in prompts")
    assert node == MapDecl(
        Name("answer_all"),
        MapKind.STATES,
        (Branch(CallableRef("ask")),),
        ForClause(Name("prompt"), StateItems(Name("prompts"))),
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("input prompts", InputItems(Name("prompts"))),
        ('["a", "b"]', LiteralItems(ListLiteral((String("a"), String("b"))))),
        ("range(5)", RangeItems(0, 5, 1)),
        ("range(1, 10, 2)", RangeItems(1, 10, 2)),
    ],
)
def test_map_items_from_input_literal_list_or_range(source: str, expected: ast.ItemSource):
    node = only(f"map m = ask for x in {source}")
    assert node.items.source == expected


def test_map_over_actions_and_product():
    over_actions = only('map both = [ask(model="o1") as o1, riddle]')
    assert over_actions.kind is MapKind.ACTIONS
    assert over_actions.branches == (
        Branch(CallableRef("ask"), (Argument(Name("model"), String("o1")),), Name("o1")),
        Branch(CallableRef("riddle")),
    )
    assert [b.name for b in over_actions.branches] == ["o1", "riddle"]
    assert only("map grid = [a, b] for p in prompts").kind is MapKind.PRODUCT


def test_map_options_and_reducers():
    text = """map m = [a, b] for p in ps {
      max_concurrency 10
      executor threads 8
      tolerate 10%
      retry 3 backoff 0.5s jitter 100ms
      timeout 2m
      first 1
      key p
      tracker none
      persister cascade
      reduce results = records(output=llm_output, p)
      reduce best, ranking = examples.reducers:pick(metric="f1")
    }"""
    node = only(text)
    settings = node.settings
    assert settings.max_concurrency == 10
    assert settings.executor == ast.Executor(CallableRef("threads"), Number(8))
    assert settings.tolerate == Percent(10)
    assert settings.retry == ast.Retry(3, Duration(0.5, "s"), Duration(100, "ms"))
    assert settings.timeout == Duration(2, "m") and settings.timeout.seconds == 120
    assert settings.first_k == 1
    assert settings.task_key == FieldPath(("p",))
    assert (settings.tracker, settings.persister) == ("none", "cascade")
    assert node.reduces == (
        Reduce(
            names("results"),
            CallableRef("records"),
            (ReducerArg(FieldPath(("llm_output",)), Name("output")), ReducerArg(FieldPath(("p",)))),
        ),
        Reduce(
            names("best", "ranking"),
            CallableRef("pick", "examples.reducers"),
            (ReducerArg(String("f1"), Name("metric")),),
        ),
    )
    assert node.reduces[0].builtin and not node.reduces[1].builtin
    assert node.writes == ("results", "best", "ranking")


def test_map_defaults_when_no_options_are_written():
    settings = only("map m = [a, b]").settings
    assert settings == ast.MapSettings()
    assert (settings.tracker, settings.persister) == ("cascade", "cascade")


def test_tolerate_a_count_and_jitter_as_percentage():
    node = only("map m = [a] {\n tolerate 2\n retry 1 jitter 20%\n}")
    assert node.settings.tolerate == 2
    assert node.settings.retry.jitter == Percent(20)


def test_task_key_may_be_a_key_function():
    node = only("map m = [a] { key examples.keys:by_prompt }")
    assert node.settings.task_key == CallableRef("by_prompt", "examples.keys")


@pytest.mark.parametrize(
    ("reducer", "builtin"),
    [
        ("collect(x)", True),
        ("records(a=x, y)", True),
        ("to_dict(k, v)", True),
        ("sum(x)", True),
        ("count()", True),
        ("min(x)", True),
        ("max(x)", True),
        ("concat(x)", True),
        ("first(x)", True),
        ("merge(x)", True),
        ("my_reducer", False),
        ("pkg.mod:combine(n=3)", False),
    ],
)
def test_every_builtin_reducer_and_custom_ones(reducer: str, builtin: bool):
    node = only(f"map m = [a] {{ reduce out = {reducer} }}")
    assert node.reduces[0].builtin is builtin


def test_strings_resolve_escapes():
    action = only(r'action a = f(s="tab\t\"q\" \u00e9 \\")')
    assert action.args[0].value == String('tab\t"q" é \\')


def test_lines_continue_after_commas_arrows_and_equals_and_before_braces():
    text = "from m import a,\n    b\nmap x =\n  [a, b]\n{\n  first 1\n}\nstart ->\n  a\n"
    module = parse_or_raise(text)
    assert [n.local for n in module.imports[0].names] == ["a", "b"]
    assert module.maps[0].settings.first_k == 1
    assert module.transitions[0] == Transition((Endpoint("start"), Endpoint("a")))


def test_a_condition_may_start_a_continuation_line():
    assert only("a -> b\n  when n > 1  # c\n").condition == Condition(parse_expression("n > 1"))


def test_multi_line_lists_and_trailing_commas():
    action = only('action a = f(tags=[\n  "x",\n  "y",\n],\n  n=1,\n)')
    assert action.args == (
        Argument(Name("tags"), ListLiteral((String("x"), String("y")))),
        Argument(Name("n"), Number(1)),
    )


def test_numbers_with_underscores_signs_and_exponents():
    block = only("state { a: int = 1_000, b: float = -2.5e3, c: float = .5 }")
    assert [f.default for f in block.fields] == [Number(1000), Number(-2500.0), Number(0.5)]


def test_statement_spans_start_at_the_keyword():
    module = parse_or_raise("\n\n  action a = f reads x\n", "x.flow")
    span = module.statements[0].span
    assert (span.file, span.line, span.col) == ("x.flow", 3, 3)
    assert module.actions[0].reads[0].span.col == 22


def test_every_node_has_a_span_in_the_file():
    module = parse_or_raise((EXAMPLES / "lang" / "every_construct.flow").read_text(), "e.flow")
    for node in ast.walk(module):
        assert node.span.file == "e.flow", node
        assert node.span.line >= 1


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "   \t\n"])
def test_empty_input_is_an_empty_module(text: str):
    module, diagnostics = parse(text)
    assert diagnostics == []
    assert module is not None and module.statements == ()


def test_bom_is_ignored():
    assert parse_or_raise("\ufeffaction a = f\n") == parse_or_raise("action a = f\n")


def test_crlf_and_lone_cr_line_ends_are_accepted():
    lf = parse_or_raise("action a = f\na -> b\n")
    assert parse_or_raise("action a = f\r\na -> b\r\n") == lf
    assert parse_or_raise("action a = f\ra -> b\r") == lf


def test_tabs_are_whitespace_and_count_as_one_column():
    module = parse_or_raise("graph g {\n\taction a = f\n}\n")
    assert module.graphs[0].body[0].span.col == 2


def test_non_ascii_names_are_accepted():
    action = only("action résumé = 要約 reads entrée writes sortie")
    assert action.name == Name("résumé") and action.target == CallableRef("要約")


def test_comments_are_collected_in_order():
    module = parse_or_raise("# one\naction a = f  # two\n")
    assert [c.text for c in module.comments] == ["# one", "# two"]
    assert module.comments[1].span.line == 2


def test_parse_or_raise_attaches_the_source():
    with pytest.raises(FlowSyntaxError) as caught:
        parse_or_raise("action = f\n", "bad.flow")
    assert caught.value.source == "action = f\n"
    assert "bad.flow:1:8" in str(caught.value)
    assert "^" in str(caught.value)


def test_parse_file_names_the_file_in_spans(tmp_path: Path):
    path = tmp_path / "x.flow"
    path.write_bytes(b"action a = f\n")
    module, _ = parse_file(path)
    assert module is not None and module.statements[0].span.file == str(path)


def test_parse_rejects_bytes_with_a_type_error():
    with pytest.raises(TypeError):
        parse(b"action a = f")  # type: ignore[arg-type]


def test_example_files_parse():
    for path in sorted(EXAMPLES.glob("lang/*.flow")):
        _, diagnostics = parse_file(path)
        assert diagnostics == [], (path, diagnostics)


def test_every_flow_block_in_the_language_reference_parses():
    text = (Path(__file__).parents[2] / "docs" / "language.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```flow\n")[1:]]
    assert len(blocks) >= 7
    for block in blocks:
        _, diagnostics = parse(block, "language.md")
        assert diagnostics == [], (block, diagnostics)


def nested(depth: int, opener: str = "[", closer: str = "]", inner: str = "1") -> str:
    return opener * depth + inner + closer * depth


@pytest.mark.parametrize(
    "line",
    [
        f"action a = m:f(x={nested(64)})",
        "action a = m:f(x=" + nested(32, '[{"k": ', "}]") + ")",  # 64 levels of lists, dicts
        f"state {{ x: {nested(63, 'list[', ']', 'int')} }}",  # list[ x63 around int: 64 types
    ],
)
def test_values_and_types_may_nest_64_levels(line: str) -> None:
    assert parse(line + "\n", "t.flow")[1] == []


@pytest.mark.parametrize(
    "line",
    [
        f"action a = m:f(x={nested(65)})",
        f"state {{ x: list[int] = {nested(2000, inner='')} }}",  # deeper than Python recurses
        f"state {{ x: {nested(1000, 'list[', ']', 'int')} }}",
        "action a = m:f(x=" + nested(33, '[{"k": ', "}]") + ")",
    ],
)
def test_a_value_or_type_nested_deeper_is_an_error_on_both_paths_not_a_crash(line: str) -> None:
    from flowc.compiler.parse import parse_full

    for parser in (parse, parse_full):
        module, diagnostics = parser(line + "\n", "t.flow")
        assert module is None
        assert [d.code for d in diagnostics] == ["F108"]
        assert "nested more than 64 levels" in diagnostics[0].message


LONG = "9" * 5000  # more digits than int() reads from text


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (f"state {{ x: int = {LONG} }}\n", "F106"),
        (f"map m = a for x in xs {{ max_concurrency {LONG} }}\n", "F106"),
        (f"map m = a for x in xs {{ retry {LONG} }}\n", "F106"),
        (f"map m = a for x in xs {{ tolerate {LONG}% }}\n", "F106"),
        (f"action a = m:f(x={LONG})\n", "F106"),
        (f"a -> end when x > {LONG}\n", "F112"),
    ],
)
def test_a_number_too_long_to_read_is_an_error_not_a_crash(source: str, code: str) -> None:
    from flowc.compiler.parse import parse_full

    for parser in (parse, parse_full):
        module, diagnostics = parser(source, "t.flow")
        assert module is None
        assert code in [d.code for d in diagnostics]


def test_a_condition_number_too_long_to_read_is_f112() -> None:
    from flowc.runtime.expression import ExpressionSyntaxError

    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(f"(x) > {LONG}")  # parenthesised: the full tokenizer, not simple.py
    assert caught.value.code == "F112"
    assert "5000 digits is longer than flowc reads" in str(caught.value)


@pytest.mark.parametrize(
    "option", ["timeout 1e999s", "retry 2 backoff 1e300h", "retry 2 backoff 1s jitter 1e999ms"]
)
def test_a_duration_too_long_to_wait_for_is_an_error_not_a_failure_at_run_time(option: str) -> None:
    from flowc.compiler.parse import parse_full

    source = f"map m = a for x in xs {{\n  {option}\n}}\n"
    for parser in (parse, parse_full):
        module, diagnostics = parser(source, "t.flow")
        assert module is None
        assert [d.code for d in diagnostics] == ["F106"]
        assert "longer than flowc can wait" in diagnostics[0].message
