"""flowc.runtime.visualize: runtime graphs and applications drawn with the real Graphviz, and
graphviz never loaded by ``import flowc.runtime``."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

from flowc.runtime import ApplicationBuilder, GraphBuilder, State, action, default, expr
from flowc.runtime.parallelism import MapStates
from flowc.runtime.visualize import visualize

SVG = "{http://www.w3.org/2000/svg}"


@action(reads=["n"], writes=["n"])
def count(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["done"])
def finish(state: State) -> State:
    return state.update(done=True)


class Fan(MapStates):
    def action(self, state, inputs):
        return count

    def states(self, state, context, inputs):
        yield state

    def reduce(self, state, states):
        return state

    @property
    def reads(self):
        return ["n"]

    @property
    def writes(self):
        return ["n"]


def graph():
    return (
        GraphBuilder()
        .with_actions(count=count, fan=Fan(), finish=finish)
        .with_transitions(
            ("count", "count", expr("n < 3")),
            ("count", "fan", default),
            ("fan", "finish"),
        )
        .build()
    )


def groups(svg: bytes) -> list[tuple[set[str], str, str]]:
    """(classes, title, text) of every node and edge."""
    found = []
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        classes = set(group.get("class", "").split())
        title = group.find(f"{SVG}title")
        if title is not None and classes & {"node", "edge"}:
            text = " ".join(t.text or "" for t in group.iter(f"{SVG}text"))
            found.append((classes, title.text, " ".join(text.split())))
    return found


def test_importing_the_runtime_never_loads_graphviz():
    code = (
        "import sys, flowc.runtime, flowc.runtime.visualize, flowc.runtime.graphviz_backend\n"
        "print(sorted(m for m in ('graphviz', 'pygraphviz', 'flowc.compiler') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_graph_visualize_returns_a_digraph_and_writes_svg_with_the_suffix_added(tmp_path: Path):
    digraph = graph().visualize(tmp_path / "machine", include_state=True)
    assert isinstance(digraph, graphviz.Digraph)
    drawn = groups((tmp_path / "machine.svg").read_bytes())
    actions = {title: text for classes, title, text in drawn if "action" in classes}
    assert actions == {"count": "count reads n writes n", "finish": "finish reads n writes done"}
    (fan,) = [(c, text) for c, title, text in drawn if title == "fan"]
    assert "map" in fan[0] and "map over states" in fan[1]
    assert "halt" in next(c for c, title, _ in drawn if title == "finish")


def test_conditions_are_labelled_and_defaults_are_drawn_apart(tmp_path: Path):
    visualize(graph(), tmp_path / "g.svg")
    drawn = groups((tmp_path / "g.svg").read_bytes())
    conditional = [text for c, _, text in drawn if "conditional" in c]
    assert conditional == ["n < 3"]
    assert all(text == "" for c, _, text in drawn if "default" in c)
    visualize(graph(), tmp_path / "bare.svg", include_conditions=False)
    drawn = groups((tmp_path / "bare.svg").read_bytes())
    assert [text for c, _, text in drawn if "conditional" in c] == [""]


def test_application_visualize_marks_the_entrypoint(tmp_path: Path):
    app = (
        ApplicationBuilder()
        .with_graph(graph())
        .with_entrypoint("count")
        .with_state(n=0)
        .with_identifiers(app_id="app-7")
        .build()
    )
    digraph = app.visualize(tmp_path / "app.svg")
    assert "application app-7" in digraph.source
    drawn = groups((tmp_path / "app.svg").read_bytes())
    assert [title for c, title, _ in drawn if "entry" in c and "action" in c] == ["count"]
    assert any("marker" in c for c, _, _ in drawn)


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("dot", b"digraph")])
def test_other_formats_and_write_dot(tmp_path: Path, fmt: str, magic: bytes):
    visualize(graph(), tmp_path / "m", format=fmt, write_dot=True)
    assert (tmp_path / f"m.{fmt}").read_bytes().startswith(magic)
    assert (tmp_path / "m.dot").read_text().startswith("digraph")


def test_without_a_path_nothing_is_written(tmp_path: Path):
    digraph = visualize(graph())
    assert digraph.source.startswith("digraph")
    assert list(tmp_path.iterdir()) == []


def test_only_graphs_and_applications_can_be_drawn():
    with pytest.raises(TypeError, match="draws a Graph"):
        visualize(object())
