"""Drawing a runtime ``Graph``, ``Application`` or ``RunnableGraph`` with Graphviz, as Burr's
``Application.visualize`` does, in the same look as ``flowc render`` draws ``.flow`` files.

``graphviz`` (and pygraphviz, for SVG/PNG/PDF) are imported inside ``visualize``, never when
``flowc.runtime`` is imported. Runtime objects know less than the compiler's IR: a map action's
branches come from state at run time, so a map is drawn as one node naming its kind; the
halting actions are known only for a ``RunnableGraph`` (elsewhere, actions with no outgoing
transition are marked as terminal).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowc.runtime import drawing as look
from flowc.runtime.graphviz_backend import check_format, render_source

_MAP_KINDS = (
    ("MapStates", "map over states"),
    ("MapActions", "map over actions"),
    ("MapActionsAndStates", "map: product of actions × states"),
    ("TaskBasedParallelAction", "parallel tasks"),
)


@dataclass(frozen=True, slots=True)
class _Drawable:
    """What is drawn: the graph, where it starts, where it stops (if known)."""

    graph: Any
    entrypoint: str | None
    halts: tuple[str, ...] | None
    title: str


def visualize(
    graph_or_app: Any,
    output_file_path: str | os.PathLike[str] | None = None,
    include_conditions: bool = True,
    include_state: bool = False,
    format: str = "svg",
    view: bool = False,
    write_dot: bool = False,
    rankdir: str = "LR",
    renderer: str = "auto",
    **engine_kwargs: Any,
) -> Any:
    """Draw ``graph_or_app`` and return the ``graphviz.Digraph``.

    With ``output_file_path``, also write the picture there as ``format`` (svg, png, pdf or
    dot; the suffix ``.<format>`` is added unless the path already ends with it, as Burr and
    graphviz do), and with ``write_dot`` the DOT text next to it. ``view`` opens the file with
    the system viewer. ``engine_kwargs`` go to ``graphviz.Digraph`` (e.g. ``graph_attr``).
    ``include_conditions`` labels conditional transitions; ``include_state`` lists each
    action's reads and writes.
    """
    import graphviz

    chosen = check_format(format)
    drawable = _drawable(graph_or_app)
    graph_attr = {**look.graph_attributes(rankdir), "label": look.html([look.bold(drawable.title)])}
    graph_attr.update(engine_kwargs.pop("graph_attr", {}) or {})
    digraph = graphviz.Digraph(
        name=drawable.title,
        graph_attr=graph_attr,
        node_attr={**look.node_defaults(), **(engine_kwargs.pop("node_attr", {}) or {})},
        edge_attr={**look.edge_defaults(), **(engine_kwargs.pop("edge_attr", {}) or {})},
        **engine_kwargs,
    )
    _draw(digraph, drawable, include_conditions, include_state)
    if output_file_path is not None:
        path = Path(os.fspath(output_file_path))
        if path.suffix.lower() != f".{chosen}":
            path = path.with_name(f"{path.name}.{chosen}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render_source(digraph.source, chosen, renderer=renderer))
        if write_dot and chosen != "dot":
            path.with_suffix(".dot").write_text(digraph.source, encoding="utf-8")
        if view:
            graphviz.view(str(path))
    return digraph


def _drawable(obj: Any) -> _Drawable:
    if hasattr(obj, "halt_after") and hasattr(obj, "graph"):  # RunnableGraph
        return _Drawable(obj.graph, obj.entrypoint, tuple(obj.halt_after), "graph")
    if hasattr(obj, "graph") and hasattr(obj, "app_id"):  # Application
        return _Drawable(obj.graph, _app_entrypoint(obj), None, f"application {obj.app_id}")
    if hasattr(obj, "actions") and hasattr(obj, "transitions"):  # Graph
        return _Drawable(obj, getattr(obj, "entrypoint", None), None, "graph")
    raise TypeError(
        f"visualize() draws a Graph, an Application or a RunnableGraph, not {type(obj).__name__}"
    )


def _app_entrypoint(app: Any) -> str | None:
    entry = getattr(app, "entrypoint", None)
    if entry is None and getattr(app, "sequence_id", None) == 0:
        try:
            entry = app.get_next_action()
        except Exception:  # a condition that cannot be evaluated yet: draw without the mark
            entry = None
    return getattr(entry, "name", entry)


def _draw(digraph: Any, drawable: _Drawable, conditions: bool, state: bool) -> None:
    graph = drawable.graph
    actions = list(graph.actions)
    transitions = list(graph.transitions)
    sources = {t.from_ for t in transitions}
    halts = drawable.halts
    if halts is None:
        halts = tuple(a.name for a in actions if a.name not in sources)
    if drawable.entrypoint is not None:
        digraph.node("*start", **look.marker("start", halt=False))
        digraph.edge("*start", drawable.entrypoint, **{"class": "transition default"})
    for action in actions:
        digraph.node(action.name, **_action(action, drawable.entrypoint, halts, state))
    for transition in transitions:
        digraph.edge(transition.from_, transition.to, **_transition(transition, conditions))


def _map_kind(action: Any) -> str | None:
    names = [cls.__name__ for cls in type(action).__mro__]
    for class_name, caption in _MAP_KINDS:
        if class_name in names:
            return caption
    return None


def _action(action: Any, entry: str | None, halts: tuple[str, ...], state: bool) -> dict:
    lines = [look.bold(action.name)]
    roles = ["action"]
    attributes: dict[str, str] = {}
    kind = _map_kind(action)
    if kind is not None:
        roles[0] = "map"
        attributes.update(look.box(look.MAP_PART))
        lines.append(look.small(kind, color=look.MAP.text))
    if state:
        for verb, keys in (("reads", action.reads), ("writes", action.writes)):
            if keys:
                lines.append(look.small(f"{verb} {', '.join(keys)}"))
    if action.name == entry:
        roles.append("entry")
        attributes["penwidth"] = "2.4"
    if action.name in halts:
        roles.append("halt")
        attributes["peripheries"] = "2"
    attributes["class"] = " ".join(roles)
    attributes["label"] = look.html(lines)
    return attributes


def _transition(transition: Any, conditions: bool) -> dict:
    condition = transition.condition
    if getattr(condition, "is_default", False) or condition.name == "default":
        return {"class": "transition default"}
    attributes = {
        "style": "dashed",
        "color": look.CONDITION_COLOR,
        "fontcolor": look.CONDITION_COLOR,
        "class": "transition conditional",
    }
    if conditions:
        attributes["label"] = look.html([look.escape(condition.name)])
        attributes["tooltip"] = look.tooltip(f"when {condition.name}")
    return attributes
