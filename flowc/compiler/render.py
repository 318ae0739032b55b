"""Drawing a flow (and, optionally, a tracked run of it) with Graphviz.

``render_dot(ir)`` is pure: the same IR (and run) gives byte-identical DOT text, so golden files
can pin it. ``to_digraph`` returns the same drawing as a ``graphviz.Digraph``; ``render`` turns
it into SVG, PNG or PDF through ``flowc.runtime.graphviz_backend`` (pygraphviz's bundled
Graphviz, else the system ``dot``).

What is drawn:

- each step of a scope as a node: an action as a rounded box with its name (and, with
  ``show_state``, what it reads, writes and takes as inputs); ``start``/``end`` as small round
  markers, the entry action with a heavier border, the halting actions with a double one;
- each arrow, conditional ones dashed, coloured and labelled with the condition as written,
  default ones solid (labelled ``otherwise`` where they follow conditional ones);
- each map as a cluster: a caption with its name, kind and options, a fan-out node saying where
  the items come from, one node per branch, and a reduce node listing each reducer and the keys
  it writes; arrows into the map reach its fan-out node and arrows out of it leave its reduce
  node;
- each graph (a step, or a map branch) as a cluster holding its own scope, expanded to ``depth``
  levels of nesting (``None``: all; ``0``: none), else as a single node.

Node ids are paths (``try_all/riddle/process``), so one action drawn in several scopes stays
distinct. Nodes and clusters carry SVG classes (``action entry``, ``map``, ``status-failed``…)
for styling and tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import graphviz

from flowc.compiler.format import format_value
from flowc.compiler.ir import (
    ENTRY,
    HALT,
    ActionNode,
    EntryNode,
    FlowIR,
    GraphNode,
    HaltNode,
    ItemsFromInput,
    ItemsFromState,
    ItemsLiteral,
    ItemsRange,
    MapBranch,
    MapKind,
    MapNode,
    MapOptions,
    ReduceSpec,
    UnknownNode,
)
from flowc.compiler.run_overlay import (
    NOT_REACHED,
    UNREACHED,
    BranchCounts,
    ScopeOverlay,
    StepStats,
    overlay_run,
)
from flowc.errors import FlowError
from flowc.runtime import drawing as look
from flowc.runtime.graphviz_backend import check_format, render_source
from flowc.runtime.tracking import RunRecord

KIND_CAPTIONS = {
    MapKind.STATES: "map over states",
    MapKind.ACTIONS: "map over actions",
    MapKind.PRODUCT: "map: product of actions × states",
}
UNTAKEN_EDGE_COLOR = "#b8c2cc"
CONDITION_LABEL_WIDTH = 80  # a longer condition is cut (with "…") on its arrow: it is unreadable


class RenderOptionError(FlowError, ValueError):
    """A drawing option is out of range: a negative depth or an unknown rankdir (F463)."""

    default_code = "F463"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    depth: int | None = None
    rankdir: str = "LR"
    show_state: bool = False


@dataclass(frozen=True, slots=True)
class _Anchor:
    """Where arrows attach to a drawn step: ``inward`` receives, ``outward`` sends."""

    inward: str
    outward: str


# ---- entry points ------------------------------------------------------------------------------


def to_digraph(
    ir: FlowIR,
    *,
    depth: int | None = None,
    rankdir: str = "LR",
    show_state: bool = False,
    run: RunRecord | None = None,
) -> graphviz.Digraph:
    """The flow drawn as a ``graphviz.Digraph`` (with ``run`` laid over it, if given)."""
    options = _checked_options(depth, rankdir, show_state)
    overlay = overlay_run(ir, run) if run is not None else None
    title = ir.meta.name or Path(ir.meta.file).stem
    digraph = graphviz.Digraph(
        name=title,
        graph_attr={**look.graph_attributes(options.rankdir), "label": _title(title, overlay)},
        node_attr=look.node_defaults(),
        edge_attr=look.edge_defaults(),
    )
    _Drawer(options).scope(digraph, ir, "", 0, overlay, ())
    return digraph


def render_dot(
    ir: FlowIR,
    *,
    depth: int | None = None,
    rankdir: str = "LR",
    show_state: bool = False,
    run: RunRecord | None = None,
) -> str:
    """The flow as DOT text: deterministic, byte-identical for the same input."""
    return to_digraph(ir, depth=depth, rankdir=rankdir, show_state=show_state, run=run).source


def render(
    ir: FlowIR,
    format: str = "svg",
    *,
    depth: int | None = None,
    rankdir: str = "LR",
    show_state: bool = False,
    run: RunRecord | None = None,
    renderer: str = "auto",
) -> bytes:
    """The flow drawn as ``format`` (svg, png, pdf or dot): the bytes of the file."""
    chosen = check_format(format)
    dot = render_dot(ir, depth=depth, rankdir=rankdir, show_state=show_state, run=run)
    return render_source(dot, chosen, renderer=renderer)


def _checked_options(depth: int | None, rankdir: str, show_state: bool) -> RenderOptions:
    if depth is not None and depth < 0:
        raise RenderOptionError(
            f"depth must be 0 or more, not {depth}",
            hints=("0 draws every graph as one node; leave it out to expand all",),
        )
    if rankdir not in look.RANKDIRS:
        raise RenderOptionError(
            f"rankdir must be one of {', '.join(look.RANKDIRS)}, not {rankdir!r}",
            hints=("LR lays the flow out left to right, TB top to bottom",),
        )
    return RenderOptions(depth, rankdir, show_state)


def _title(title: str, overlay: ScopeOverlay | None) -> str:
    lines = [look.bold(title)]
    if overlay is not None:
        status_look = look.STATUS_LOOKS.get(overlay.status, look.STATUS_LOOKS[NOT_REACHED])
        text = f"run {', '.join(overlay.app_ids)} · {overlay.status}"
        lines.append(look.small(text, color=status_look.text))
    return look.html(lines, left=True)


# ---- drawing -----------------------------------------------------------------------------------


class _Drawer:
    """Draws scopes into a Digraph; holds only the options."""

    def __init__(self, options: RenderOptions) -> None:
        self.options = options

    def scope(
        self,
        g: graphviz.Digraph,
        scope: FlowIR,
        prefix: str,
        level: int,
        overlay: ScopeOverlay | None,
        expanding: tuple[int, ...],
    ) -> _Anchor:
        """Draw every step of ``scope`` then its arrows; the anchor is its start/end markers."""
        anchors: dict[str, _Anchor] = {}
        for name in scope.nodes:
            node = scope.node_of(name)
            anchors[name] = self.step(g, scope, node, prefix, level, overlay, expanding)
        for marker, halt in ((ENTRY, False), (HALT, True)):
            if marker not in anchors:  # a body without start/end still shows where they'd be
                anchors[marker] = self.marker(g, prefix + marker, halt)
        backward = _back_arrows(scope)
        for source, target, transition in scope.transitions():
            conditional = transition.condition is not None
            follows_condition = not conditional and any(
                t.condition is not None for _, _, t in scope.outgoing(source)
            )
            attributes = _arrow(transition, follows_condition)
            if (source, target, transition.order) in backward:
                attributes["constraint"] = "false"  # loops do not pull the layout backwards
            if overlay is not None:
                attributes.update(_arrow_overlay((source, target) in overlay.taken))
            g.edge(anchors[source].outward, anchors[target].inward, **attributes)
        return _Anchor(anchors[ENTRY].inward, anchors[HALT].outward)

    def marker(self, g: graphviz.Digraph, node_id: str, halt: bool) -> _Anchor:
        g.node(node_id, **look.marker(HALT if halt else ENTRY, halt=halt))
        return _Anchor(node_id, node_id)

    def step(
        self,
        g: graphviz.Digraph,
        scope: FlowIR,
        node: object,
        prefix: str,
        level: int,
        overlay: ScopeOverlay | None,
        expanding: tuple[int, ...],
    ) -> _Anchor:
        if isinstance(node, EntryNode | HaltNode):
            return self.marker(g, prefix + node.name, isinstance(node, HaltNode))
        node_id = prefix + node.name  # type: ignore[attr-defined]
        stats = overlay.step(node.name) if overlay is not None else None  # type: ignore[attr-defined]
        if isinstance(node, ActionNode):
            roles = _roles(scope, node.name)
            g.node(node_id, **self.action(node.name, node, roles, stats))
            return _Anchor(node_id, node_id)
        if isinstance(node, MapNode):
            return self.map(g, node, node_id, level, overlay, stats, expanding)
        if isinstance(node, GraphNode):
            body_overlay = _body_overlay(overlay, (node.name,), stats)
            return self.graph(g, node, node_id, level, stats, body_overlay, expanding)
        assert isinstance(node, UnknownNode)
        g.node(node_id, **_unknown(node.name, "names nothing in scope"))
        return _Anchor(node_id, node_id)

    # -- actions --

    def action(
        self,
        name: str,
        node: ActionNode,
        roles: tuple[str, ...],
        stats: StepStats | None,
        call: str | None = None,
    ) -> dict[str, str]:
        lines = [look.bold(name)]
        if call:
            lines.append(look.small(call))
        if self.options.show_state:
            for verb, keys in (
                ("reads", node.read_keys),
                ("writes", node.write_keys),
                ("inputs", node.input_keys),
            ):
                if keys:
                    lines.append(look.small(f"{verb} {', '.join(keys)}"))
        attributes = {
            "label": "",
            "class": " ".join(("action", *roles)),
            "tooltip": look.tooltip(f"action {name} = {_call(node)} ({_where(node)})"),
        }
        if "entry" in roles:
            attributes["penwidth"] = "2.4"
        if "halt" in roles:
            attributes["peripheries"] = "2"
        _apply_stats(attributes, lines, stats)
        attributes["label"] = look.html(lines)
        return attributes

    # -- graphs --

    def expands(self, level: int, body: FlowIR, expanding: tuple[int, ...]) -> bool:
        depth = self.options.depth
        return (depth is None or level < depth) and id(body) not in expanding

    def graph(
        self,
        g: graphviz.Digraph,
        node: GraphNode,
        node_id: str,
        level: int,
        stats: StepStats | None,
        body_overlay: ScopeOverlay | None,
        expanding: tuple[int, ...],
        caption: str | None = None,
    ) -> _Anchor:
        body = node.body
        if not self.expands(level, body, expanding):
            g.node(node_id, **_collapsed_graph(node, stats, caption))
            return _Anchor(node_id, node_id)
        with g.subgraph(name=f"cluster_{node_id}") as cluster:
            lines = [f"{look.small('graph', color=look.GRAPH.text)} {look.bold(node.name)}"]
            if caption:
                lines.append(look.small(caption))
            attributes = look.cluster_attributes(look.GRAPH)
            attributes["class"] = "graph"
            _apply_cluster_stats(attributes, lines, stats)
            cluster.attr(label=look.html(lines, left=True), **attributes)
            return self.scope(
                cluster, body, node_id + "/", level + 1, body_overlay, (*expanding, id(body))
            )

    # -- maps --

    def map(
        self,
        g: graphviz.Digraph,
        node: MapNode,
        node_id: str,
        level: int,
        overlay: ScopeOverlay | None,
        stats: StepStats | None,
        expanding: tuple[int, ...],
    ) -> _Anchor:
        items_id, reduce_id = f"{node_id}/*items", f"{node_id}/*reduce"
        counts = overlay.maps.get(node.name, BranchCounts()) if overlay is not None else None
        with g.subgraph(name=f"cluster_{node_id}") as cluster:
            attributes = look.cluster_attributes(look.MAP)
            attributes["class"] = "map"
            caption = _map_caption(node, counts)
            _apply_cluster_stats(attributes, caption, stats)
            cluster.attr(label=look.html(caption, left=True), **attributes)
            part = {**look.box(look.MAP_PART), "class": "map-items"}
            cluster.node(items_id, label=look.html(_items_lines(node)), **part)
            reduce_part = {**part, "class": "map-reduce", "shape": "box"}
            cluster.node(reduce_id, label=look.html(_reduce_lines(node)), **reduce_part)
            for branch in node.branches:
                branch_stats = None
                if overlay is not None:
                    branch_stats = overlay.branches.get((node.name, branch.name), UNREACHED)
                anchor = self.branch(
                    cluster, node, branch, node_id, level, overlay, branch_stats, expanding
                )
                edge = {"color": look.MAP_EDGE_COLOR, "arrowsize": "0.6", "class": "map-edge"}
                cluster.edge(items_id, anchor.inward, **edge)
                cluster.edge(anchor.outward, reduce_id, **edge)
        return _Anchor(items_id, reduce_id)

    def branch(
        self,
        g: graphviz.Digraph,
        node: MapNode,
        branch: MapBranch,
        map_id: str,
        level: int,
        overlay: ScopeOverlay | None,
        stats: StepStats | None,
        expanding: tuple[int, ...],
    ) -> _Anchor:
        branch_id = f"{map_id}/{branch.name}"
        step = branch.step
        if isinstance(step, ActionNode):
            attributes = self.action(branch.name, step, ("branch",), stats, _branch_call(branch))
            g.node(branch_id, **attributes)
            return _Anchor(branch_id, branch_id)
        if isinstance(step, GraphNode):
            body_overlay = _body_overlay(overlay, (node.name, branch.name), stats)
            caption = f"as {branch.name}" if branch.name != step.name else None
            return self.graph(
                g, step, branch_id, level, stats, body_overlay, expanding, caption=caption
            )
        g.node(branch_id, **_unknown(branch.name, f"branch {branch.ref!r} resolves to nothing"))
        return _Anchor(branch_id, branch_id)


# ---- labels and attributes ---------------------------------------------------------------------


def _body_overlay(
    overlay: ScopeOverlay | None, key: tuple[str, ...], stats: StepStats | None
) -> ScopeOverlay | None:
    """The run over a graph's body: its child runs; all "not reached" when the graph never ran;
    none (no colours) when it ran but left no child run to read."""
    if overlay is None:
        return None
    body = overlay.bodies.get(key)
    if body is None and stats is not None and stats.status == NOT_REACHED:
        return ScopeOverlay(app_ids=(), status=NOT_REACHED)
    return body


def _roles(scope: FlowIR, name: str) -> tuple[str, ...]:
    roles = []
    if scope.entry == name:
        roles.append("entry")
    if name in scope.halts:
        roles.append("halt")
    return tuple(roles)


def _back_arrows(scope: FlowIR) -> set[tuple[str, str, int]]:
    """Arrows that close a loop, found by a depth-first walk from ``start`` that follows the
    arrows in the order they are tried (so the main path reads forwards)."""
    backward: set[tuple[str, str, int]] = set()
    if ENTRY not in scope:
        return backward
    visited = {ENTRY}
    on_path = {ENTRY}
    stack = [(ENTRY, iter(scope.outgoing(ENTRY)))]
    while stack:
        node, arrows = stack[-1]
        arrow = next(arrows, None)
        if arrow is None:
            stack.pop()
            on_path.discard(node)
            continue
        _, target, transition = arrow
        if target in on_path:
            backward.add((node, target, transition.order))
        elif target not in visited:
            visited.add(target)
            on_path.add(target)
            stack.append((target, iter(scope.outgoing(target))))
    return backward


def _where(node: ActionNode | GraphNode | MapNode) -> str:
    return f"{Path(node.span.file).name}:{node.span.line}"


def _call(node: ActionNode) -> str:
    args = ", ".join(f"{a.name}={format_value(a.value)}" for a in node.args)
    return f"{node.callable.written}({args})" if args else node.callable.written


def _branch_call(branch: MapBranch) -> str | None:
    """What a branch runs, when its name alone does not say it: ``ask(model="gpt-4")``."""
    if not branch.args and branch.name == branch.ref:
        return None
    args = ", ".join(f"{a.name}={format_value(a.value)}" for a in branch.args)
    return f"{branch.ref}({args})" if args else branch.ref


def _unknown(name: str, why: str) -> dict[str, str]:
    return {
        **look.box(look.UNKNOWN, style="rounded,filled,dashed"),
        "label": look.html([look.bold(name), look.small("unknown", color=look.UNKNOWN.text)]),
        "class": "unknown",
        "tooltip": look.tooltip(f"{name}: {why}"),
    }


def _collapsed_graph(node: GraphNode, stats: StepStats | None, caption: str | None) -> dict:
    count = sum(1 for _ in node.body.steps())
    lines = [look.bold(node.name)]
    if caption:
        lines.append(look.small(caption))
    lines.append(look.small(f"graph · {count} step{'s' if count != 1 else ''}"))
    attributes = {
        **look.box(look.GRAPH, style="filled", shape="component"),
        "class": "graph collapsed",
        "tooltip": look.tooltip(f"graph {node.name} ({_where(node)})"),
    }
    _apply_stats(attributes, lines, stats)
    attributes["label"] = look.html(lines)
    return attributes


def _items_lines(node: MapNode) -> list[str]:
    items = node.items
    if items is None:
        return [look.bold("fan out"), look.small("the same state to each branch")]
    source = items.source
    if isinstance(source, ItemsFromState):
        text, origin = source.key.name, "from state"
    elif isinstance(source, ItemsFromInput):
        text, origin = f"input {source.input.name}", "from a run input"
    elif isinstance(source, ItemsLiteral):
        text = look.shorten(format_value(source.values), 36)
        origin = f"{len(source.values.items)} literal items"
    else:
        assert isinstance(source, ItemsRange)
        text = f"range({source.start}, {source.stop}, {source.step})"
        origin = f"{len(range(source.start, source.stop, source.step))} integers"
    if node.map_kind is MapKind.PRODUCT:
        origin += " · × each branch"
    return [look.escape(f"for {items.var.name} in") + " " + look.bold(text), look.small(origin)]


def _reduce_lines(node: MapNode) -> list[str]:
    if not node.reduces:
        return [look.bold("no reduce"), look.small("writes nothing to the parent state")]
    lines = [look.bold("reduce → " + ", ".join(node.writes))]
    lines.extend(look.small(_reducer_text(reduce), color=look.TEXT) for reduce in node.reduces)
    return lines


def _reducer_text(reduce: ReduceSpec) -> str:
    reducer = reduce.builtin or (reduce.callable.written if reduce.callable else "?")
    text = f"{', '.join(reduce.target_keys)} = {reducer}"
    if reduce.args is None:
        return text
    args = []
    for arg in reduce.args:
        shown = ".".join(arg.field_path) if arg.field_path else ""
        if arg.value is not None:
            shown = format_value(arg.value)
        args.append(f"{arg.name}={shown}" if arg.name else shown)
    return f"{text}({', '.join(args)})"


def _map_caption(node: MapNode, counts: BranchCounts | None) -> list[str]:
    branches = len(node.branches)
    lines = [
        f"{look.bold(node.name)}  "
        + look.small(
            f"{KIND_CAPTIONS[node.map_kind]} · {branches} branch{'es' if branches != 1 else ''}",
            color=look.MAP.text,
        )
    ]
    lines.extend(look.small(line) for line in look.wrap(_option_pieces(node.options)))
    if counts is not None:
        lines.append(_counts_line(counts))
    return lines


def _counts_line(counts: BranchCounts) -> str:
    pieces = [f"{counts.done} done", f"{counts.failed} failed", f"{counts.cancelled} cancelled"]
    if counts.running:
        pieces.append(f"{counts.running} running")
    status = "failed" if counts.failed else "done" if counts.done else NOT_REACHED
    return look.small("branches: " + " · ".join(pieces), color=look.STATUS_LOOKS[status].text)


def _option_pieces(options: MapOptions) -> Iterator[str]:
    """The options, compactly; the failure policy always (``fail fast`` when none is written)."""
    if options.max_concurrency is not None:
        yield f"max {options.max_concurrency} at once"
    executor = options.executor
    if executor is not None:
        name = executor.callable.written if executor.callable else executor.kind
        yield f"{name} {format_value(executor.arg)}" if executor.arg is not None else name
    if options.tolerate_count is not None:
        yield f"tolerate {options.tolerate_count} failed"
    elif options.tolerate_fraction is not None:
        yield f"tolerate {options.tolerate_fraction * 100:g}% failed"
    else:
        yield "fail fast"
    retry = options.retry
    if retry is not None:
        text = f"retry {retry.attempts}"
        if retry.backoff_seconds is not None:
            text += f" backoff {_duration(retry.backoff_seconds)}"
        if retry.jitter_seconds is not None:
            text += f" jitter {_duration(retry.jitter_seconds)}"
        elif retry.jitter_fraction is not None:
            text += f" jitter {retry.jitter_fraction * 100:g}%"
        yield text
    if options.timeout_seconds is not None:
        yield f"timeout {_duration(options.timeout_seconds)}"
    if options.first_k is not None:
        yield f"first {options.first_k}"
    task_key = options.task_key
    if task_key is not None:
        if task_key.field_path:
            yield f"key {'.'.join(task_key.field_path)}"
        elif task_key.callable is not None:
            yield f"key {task_key.callable.written}"
    if options.tracker != "cascade":
        yield f"tracker {options.tracker}"
    if options.persister != "cascade":
        yield f"persister {options.persister}"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if 0 < seconds < 1 else f"{seconds:g}s"


def _arrow(transition: object, follows_condition: bool) -> dict[str, str]:
    condition = getattr(transition, "condition", None)
    if condition is None:
        attributes = {"class": "transition default"}
        if follows_condition:
            attributes["label"] = "<<I>otherwise</I>>"
        return attributes
    line = condition.span.line
    text = condition.text
    return {
        "label": look.html([look.escape(look.shorten(text, CONDITION_LABEL_WIDTH))]),
        "style": "dashed",
        "color": look.CONDITION_COLOR,
        "fontcolor": look.CONDITION_COLOR,
        "class": "transition conditional",
        "tooltip": look.tooltip(f"when {text} (line {line})"),
    }


def _arrow_overlay(taken: bool) -> dict[str, str]:
    if taken:
        return {"penwidth": "2.2", "color": look.STATUS_LOOKS["done"].border}
    return {"color": UNTAKEN_EDGE_COLOR}


def _stats_text(stats: StepStats) -> str:
    pieces = [stats.status]
    if stats.runs > 1:
        pieces.append(f"{stats.runs} runs")
    if stats.failures and (stats.runs > 1 or stats.status != "failed"):
        pieces.append(f"{stats.failures} failed")
    if stats.seconds is not None:
        pieces.append(look.format_seconds(stats.seconds))
    return " · ".join(pieces)


def _status_class(stats: StepStats) -> str:
    return "status-" + stats.status.replace(" ", "-")


def _apply_stats(attributes: dict[str, str], lines: list[str], stats: StepStats | None) -> None:
    """Colour a node by its status and add the status line (no-op without an overlay)."""
    if stats is None:
        return
    status_look = look.STATUS_LOOKS[stats.status]
    attributes.update(
        fillcolor=status_look.fill, color=status_look.border, fontcolor=status_look.text
    )
    attributes["class"] = f"{attributes.get('class', '')} {_status_class(stats)}".strip()
    lines.append(look.small(_stats_text(stats), color=status_look.text))


def _apply_cluster_stats(
    attributes: dict[str, str], lines: list[str], stats: StepStats | None
) -> None:
    """Give a cluster its status border and status line (no-op without an overlay)."""
    if stats is None:
        return
    status_look = look.STATUS_LOOKS[stats.status]
    attributes["color"] = status_look.border
    attributes["penwidth"] = "2"
    attributes["class"] = f"{attributes.get('class', '')} {_status_class(stats)}".strip()
    lines.append(look.small(_stats_text(stats), color=status_look.text))
