"""The IR's JSON form loads back to an equal IR, spans included, and has a versioned schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pydantic
import pytest

from flowc.compiler.build import build_application
from flowc.compiler.ir import FlowIR, iter_spans, validate_ir
from flowc.compiler.ir_schema import IRDocument, dump_ir, json_schema, load_ir
from flowc.compiler.lower import lower
from flowc.compiler.parse import parse_or_raise
from flowc.errors import FlowError

ROOT = Path(__file__).parents[2]
CORPUS = sorted((ROOT / "examples").rglob("*.flow"))


def lowered_file(path: Path) -> FlowIR:
    return lower(parse_or_raise(path.read_text(), str(path.relative_to(ROOT))))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_example_round_trips_to_an_equal_ir_with_the_same_spans(path: Path) -> None:
    ir = lowered_file(path)
    text = dump_ir(ir)
    loaded = load_ir(text)
    assert validate_ir(loaded) == []
    assert loaded == ir
    assert list(iter_spans(loaded)) == list(iter_spans(ir))
    assert dump_ir(loaded) == text


def test_literal_values_keep_their_types_and_dict_keys() -> None:
    text = """
from m import f
state { w: dict[str, float] = {"a": 1.5, 2: -2}, flag: bool = true, n: optional[int] = None }
action a = f(xs=[1, 1.0, "1", True, None], d={1: {"k": []}})
start -> a -> end
"""
    ir = lower(parse_or_raise(text, "v.flow"))
    loaded = load_ir(dump_ir(ir))
    args = {arg.name: arg.value.to_python() for arg in loaded.node_of("a").args}
    assert args == {"xs": [1, 1.0, "1", True, None], "d": {1: {"k": []}}}
    assert [type(v) for v in args["xs"]] == [int, float, str, bool, type(None)]
    defaults = {f.name: f.default.to_python() for f in loaded.meta.schema}
    assert defaults == {"w": {"a": 1.5, 2: -2}, "flag": True, "n": None}


def test_a_graph_body_used_twice_is_written_once_and_shared_on_load() -> None:
    text = """
from m import f
action p = f reads x writes y
graph g { start -> p -> end }
map m1 = [g, p]
start -> g -> m1 -> end
"""
    ir = lower(parse_or_raise(text, "g.flow"))
    document = json.loads(dump_ir(ir))
    assert list(document["graphs"]) == ["g"]
    loaded = load_ir(json.dumps(document))
    assert loaded.node_of("m1").branches[0].step.body is loaded.node_of("g").body


def test_the_document_carries_a_version_and_refuses_another() -> None:
    ir = lower(parse_or_raise("from m import f\naction a = f\nstart -> a -> end\n", "x.flow"))
    document = json.loads(dump_ir(ir))
    assert document["version"] == 1 and document["files"] == ["x.flow"]
    document["version"] = 2
    with pytest.raises(pydantic.ValidationError):
        load_ir(json.dumps(document))


def test_the_json_schema_describes_the_document() -> None:
    schema = json_schema()
    assert schema["title"] == "IRDocument"
    assert {"version", "files", "flow", "graphs"} <= set(schema["properties"])
    assert IRDocument.model_json_schema(by_alias=True) == schema


PRIVATE_READS = """
from m import f
state { answer: str = "yes", answers: list[str] = [] }
action a = f reads answer writes answer
action b = f reads answer writes answer
start -> a
a -> b when answer.upper == "YES"
a -> end
b -> end
"""


def test_a_condition_edited_in_the_json_to_read_a_dunder_is_refused_on_load_as_f118() -> None:
    # the JSON keeps a condition's text and re-parses it on load, so the parser's F118 applies
    # to a loaded IR too; the stored `canonical` and `reads` are informative and never trusted
    ir = lower(parse_or_raise(PRIVATE_READS, "p.flow"))
    document = json.loads(dump_ir(ir))
    (edge,) = [e for e in document["flow"]["edges"] if e.get("condition")]
    for private in ("answer.__class__", "answer._cache"):
        condition = {**edge["condition"], "text": f'{private} == "YES"', "reads": ["answer"]}
        edge_of = {**edge, "condition": condition}
        edges = [edge_of if e is edge else e for e in document["flow"]["edges"]]
        tampered = {**document, "flow": {**document["flow"], "edges": edges}}
        with pytest.raises(FlowError) as caught:
            load_ir(json.dumps(tampered))
        assert caught.value.code == "F118"
        assert caught.value.span is not None and caught.value.span.file == "p.flow"
        assert caught.value.span.line == 7


def test_a_reducer_path_edited_in_the_json_to_read_a_dunder_is_refused_when_read_as_f540(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # reducer paths are not the parser's to refuse (a mapping's key may begin with `_`; only an
    # object's attribute may not): a .flow file and a loaded IR both meet F540 when it is read
    module = f"ir_paths_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(
        "def shout(state):\n    return state.update(answer=state['word'].upper())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = (
        f"from {module} import shout\n"
        'state { words: list[str] = ["a", "b"] }\n'
        "action s = shout reads word writes answer\n"
        "map m = s for word in words {\n"
        "  reduce answers = collect(answer.upper)\n"
        "}\n"
        "start -> m -> end\n"
    )
    document = json.loads(dump_ir(lower(parse_or_raise(text, str(tmp_path / "r.flow")))))
    (map_model,) = [n for n in document["flow"]["nodes"] if n["kind"] == "map"]
    map_model["reduces"][0]["args"][0]["field_path"] = ["answer", "__class__"]
    app = build_application(load_ir(json.dumps(document)))
    with pytest.raises(FlowError) as caught:
        app.run()
    sys.modules.pop(module, None)
    assert caught.value.code == "F540" and "'__class__'" in caught.value.message
