"""The IR's JSON form loads back to an equal IR, spans included, and has a versioned schema."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest

from flowc.compiler.ir import FlowIR, iter_spans, validate_ir
from flowc.compiler.ir_schema import IRDocument, dump_ir, json_schema, load_ir
from flowc.compiler.lower import lower
from flowc.compiler.parse import parse_or_raise

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
