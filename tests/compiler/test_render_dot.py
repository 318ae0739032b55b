"""flowc.compiler.render: what the picture of a flow shows, checked in the real SVG that
Graphviz (pygraphviz's bundled copy) draws, parsed as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import graphviz
import pytest

from flowc.compiler.lower import lower
from flowc.compiler.parse import parse
from flowc.compiler.render import RenderOptionError, render, render_dot, to_digraph
from flowc.runtime.graphviz_backend import UnsupportedFormatError

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]

FLOW = """\
flow shapes

from lib import f, g, h

state {
  items: list[str] = []
  n: int = 0
}

action load = f writes items
action ask = g reads item writes out
action ask_big = g(model="big") reads item writes out inputs user
action check = h reads total writes n
action done = h reads n

graph refine {
  action polish = f reads out writes out
  start -> polish -> end
}

map over_items = ask for item in items {
  max_concurrency 4
  retry 2 backoff 100ms
  timeout 5s
  reduce total = collect(out)
}
map over_models = [ask, ask_big as big, refine] {
  tolerate 1
  reduce outs = collect(out)
}
map grid = [ask, ask_big] for item in range(0, 6, 2) {
  first 2
  key item
}

start -> load -> over_items -> check
check -> over_items when n < 3 and "x" not in items
check -> over_models when n >= 3
check -> done
over_models -> grid -> refine -> done -> end
"""


def lowered(text: str = FLOW, file: str = "shapes.flow"):
    module, diagnostics = parse(text, file)
    assert module is not None, diagnostics
    return lower(module, file=file)


@dataclass(frozen=True)
class Drawn:
    """One node, edge or cluster of an SVG: its classes, its <title>, and all its text."""

    classes: tuple[str, ...]
    title: str
    text: str


def read_svg(data: bytes) -> list[Drawn]:
    root = ET.fromstring(data)
    drawn = []
    for group in root.iter(f"{SVG}g"):
        classes = tuple(group.get("class", "").split())
        if not classes or classes[0] not in ("node", "edge", "cluster"):
            continue
        title = group.find(f"{SVG}title")
        texts = [t.text or "" for t in group.iter(f"{SVG}text")]
        drawn.append(Drawn(classes, title.text if title is not None else "", " ".join(texts)))
    return drawn


def with_class(drawn: list[Drawn], *classes: str) -> list[Drawn]:
    return [d for d in drawn if all(c in d.classes for c in classes)]


def flat(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


@pytest.fixture(scope="module")
def svg() -> list[Drawn]:
    return read_svg(render(lowered(), "svg", show_state=True))


def test_every_action_is_a_node_named_after_it(svg):
    actions = with_class(svg, "node", "action")
    titles = {d.title for d in actions}
    assert titles >= {"load", "check", "done", "refine/polish"}
    assert {"over_items/ask", "over_models/ask", "over_models/big", "grid/ask", "grid/ask_big"} <= (
        titles
    )
    for drawn in actions:
        assert drawn.title.rsplit("/", 1)[-1] in drawn.text


def test_show_state_lists_reads_writes_and_inputs(svg):
    (big,) = [d for d in svg if d.title == "over_models/big"]
    assert "reads item" in big.text and "writes out" in big.text and "inputs user" in big.text
    assert "ask_big" in big.text  # a renamed branch says what it runs


def test_entry_and_halting_actions_are_marked(svg):
    polish = {"refine/polish", "over_models/refine/polish"}
    assert {d.title for d in with_class(svg, "node", "entry", "action")} == {"load", *polish}
    assert {d.title for d in with_class(svg, "node", "halt", "action")} == {"done", *polish}
    assert {d.title for d in with_class(svg, "node", "marker")} >= {"start", "end"}


def test_conditional_arrows_carry_the_condition_as_written_and_defaults_do_not(svg):
    conditional = with_class(svg, "edge", "conditional")
    labels = sorted(flat(d.text) for d in conditional)
    assert labels == ['n < 3 and "x" not in items', "n >= 3"]
    defaults = with_class(svg, "edge", "default")
    assert any(flat(d.text) == "otherwise" for d in defaults)  # check -> done after conditions
    assert all(d.text.strip() in ("", "otherwise") for d in defaults)


def test_each_map_is_a_cluster_captioned_with_kind_items_branches_reducer_and_options(svg):
    clusters = {d.title: flat(d.text) for d in with_class(svg, "cluster", "map")}
    assert set(clusters) == {"cluster_over_items", "cluster_over_models", "cluster_grid"}
    over_items = clusters["cluster_over_items"]
    assert "map over states · 1 branch" in over_items
    assert "max 4 at once" in over_items and "fail fast" in over_items
    assert "retry 2 backoff 100ms" in over_items and "timeout 5s" in over_items
    assert "map over actions · 3 branches" in clusters["cluster_over_models"]
    assert "tolerate 1 failed" in clusters["cluster_over_models"]
    grid = clusters["cluster_grid"]
    assert "product of actions × states" in grid and "first 2" in grid and "key item" in grid


def test_maps_show_where_items_come_from_and_what_the_reducers_write(svg):
    items = {d.title: flat(d.text) for d in with_class(svg, "node", "map-items")}
    assert items["over_items/*items"] == "for item in items from state"
    assert items["over_models/*items"].startswith("fan out")
    assert items["grid/*items"].startswith("for item in range(0, 6, 2)")
    assert "3 integers" in items["grid/*items"]
    reduces = {d.title: flat(d.text) for d in with_class(svg, "node", "map-reduce")}
    assert reduces["over_items/*reduce"] == "reduce → total total = collect(out)"
    assert reduces["grid/*reduce"].startswith("no reduce")


def test_graph_branches_and_graph_steps_are_clusters_when_expanded(svg):
    graphs = {d.title for d in with_class(svg, "cluster", "graph")}
    assert graphs == {"cluster_refine", "cluster_over_models/refine"}


def test_depth_zero_draws_each_graph_as_one_node():
    drawn = read_svg(render(lowered(), "svg", depth=0))
    assert not with_class(drawn, "cluster", "graph")
    collapsed = {d.title: flat(d.text) for d in with_class(drawn, "node", "collapsed")}
    assert collapsed == {
        "refine": "refine graph · 1 step",
        "over_models/refine": "refine graph · 1 step",
    }


def test_depth_counts_levels_of_nesting():
    text = """\
graph inner {
  action a = m:f
  start -> a -> end
}
graph outer {
  start -> inner -> end
}
start -> outer -> end
"""
    ir = lowered(text, "nest.flow")
    one = render_dot(ir, depth=1)
    assert 'subgraph "cluster_outer"' in one or "subgraph cluster_outer" in one
    assert "cluster_outer/inner" not in one and '"outer/inner"' in one
    full = render_dot(ir)
    assert "cluster_outer/inner" in full and '"outer/inner/a"' in full


def test_rankdir_sets_the_layout_direction():
    assert "rankdir=TB" in render_dot(lowered(), rankdir="TB")
    assert "rankdir=LR" in render_dot(lowered())


def test_loops_do_not_constrain_the_layout():
    dot = render_dot(lowered())
    (loop,) = [line for line in dot.splitlines() if 'check -> "over_items/*items"' in line]
    assert "constraint=false" in loop
    (forward,) = [line for line in dot.splitlines() if 'load -> "over_items/*items"' in line]
    assert "constraint" not in forward


def test_dot_is_byte_identical_for_the_same_input():
    first = render_dot(lowered(), show_state=True)
    assert render_dot(lowered(), show_state=True) == first
    assert render_dot(lowered(), show_state=True).encode() == first.encode()


def test_user_text_is_escaped_in_labels():
    ir = lowered('action a = m:f\nstart -> a\na -> end when s == "<b>&\\\\"\n', "esc.flow")
    dot = render_dot(ir)
    assert "s == &quot;&lt;b&gt;&amp;" in dot
    drawn = read_svg(render(ir, "svg"))
    (edge,) = with_class(drawn, "edge", "conditional")
    assert flat(edge.text) == 's == "<b>&\\"'


def test_unknown_names_are_drawn_so_the_picture_shows_the_mistake():
    ir = lowered("action a = m:f\nstart -> a -> nowhere -> end\n", "bad.flow")
    drawn = read_svg(render(ir, "svg"))
    assert [d.title for d in with_class(drawn, "node", "unknown")] == ["nowhere"]


def test_to_digraph_returns_a_graphviz_digraph_with_the_same_source():
    digraph = to_digraph(lowered())
    assert isinstance(digraph, graphviz.Digraph)
    assert digraph.source == render_dot(lowered())


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_render_draws_png_pdf_and_svg(fmt, magic):
    assert render(lowered(), fmt).startswith(magic)


def test_render_dot_format_needs_no_graphviz():
    assert render(lowered(), "dot").decode() == render_dot(lowered())


def test_bad_options_are_flow_errors_with_codes():
    with pytest.raises(RenderOptionError) as depth:
        render_dot(lowered(), depth=-1)
    assert depth.value.code == "F463"
    with pytest.raises(RenderOptionError):
        render_dot(lowered(), rankdir="RL")
    with pytest.raises(UnsupportedFormatError) as fmt:
        render(lowered(), "gif")
    assert fmt.value.code == "F461"
    assert "svg, png, pdf, dot" in fmt.value.hints[0]


def test_every_example_renders_to_svg_that_parses():
    for path in sorted(ROOT.glob("examples/*/*.flow")):
        module, diagnostics = parse(path.read_text(encoding="utf-8"), str(path))
        assert module is not None, (path, diagnostics)
        drawn = read_svg(render(lower(module, file=str(path)), "svg"))
        assert with_class(drawn, "node", "marker"), path
