"""``Graph``: actions and ordered transitions, validated once and indexed for the step loop.

``GraphBuilder`` collects actions and transitions; ``build()`` checks them (unknown actions,
duplicate names, malformed transitions) and returns an immutable, reusable ``Graph``. Outgoing
transitions are indexed per action at build time, so choosing the next action is a loop over a
short tuple of predicates — first match wins.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowc.errors import FlowCheckError, Span
from flowc.runtime.action import Action, ActionPlan, create_action, plan_for
from flowc.runtime.conditions import Condition, default, explain_failure
from flowc.runtime.state import State


class GraphDefinitionError(FlowCheckError, ValueError):
    """Actions or transitions that cannot form a graph."""

    default_code = "F260"


class UnknownActionError(GraphDefinitionError):
    default_code = "F261"


class DuplicateActionError(GraphDefinitionError):
    default_code = "F262"


@dataclass(frozen=True, slots=True)
class Transition:
    """``from_ -> to`` taken when ``condition`` holds; earlier transitions win."""

    from_: str
    to: str
    condition: Condition = default
    origin: Span | None = field(default=None, compare=False)


def _did_you_mean(name: str, known: Iterable[str]) -> tuple[str, ...]:
    close = difflib.get_close_matches(name, list(known), n=1)
    return (f"did you mean '{close[0]}'?",) if close else ()


class Node:
    """One action of a graph as the step loop sees it: the action, its plan, and its outgoing
    edges as (predicate, target node, condition), in order. ``always`` is the target when the
    first edge is unconditional, so that common case costs no call.

    The plan is made when a step first asks for it (``plan``), not with the graph: a compiled
    flow of 10,000 actions would otherwise spend a third of its build on plans of actions that
    a run may never reach. The step loop reads the slot ``ready_plan`` (``None`` until then)
    and falls back to ``plan``. Several threads (map branches) may ask for the same node's plan
    at once: each may then make one and store it, the last store wins; that race is benign,
    because plans are immutable and every one made for an action is equivalent."""

    __slots__ = ("action", "always", "edges", "name", "ready_plan")

    def __init__(self, action: Action, name: str) -> None:
        self.action = action
        self.name = name
        self.ready_plan: ActionPlan | None = None
        self.edges: tuple[tuple[Any, Node, Condition], ...] = ()
        self.always: Node | None = None

    @property
    def plan(self) -> ActionPlan:
        """How a step calls this node's action (made on first use, then kept)."""
        plan = self.ready_plan
        if plan is None:
            plan = self.ready_plan = plan_for(self.action)
        return plan

    def successor(self, data: Mapping[str, Any]) -> Node | None:
        """The node of the first transition whose condition holds on ``data``, or ``None``."""
        always = self.always
        if always is not None:
            return always
        for evaluate, target, condition in self.edges:
            try:
                if evaluate(data):
                    return target
            except Exception as error:
                explained = explain_failure(error, condition, self.name, target.name, data)
                if explained is None:
                    raise
                raise explained from error
        return None

    next_node = successor

    def __repr__(self) -> str:
        return f"<Node {self.name!r} -> {[edge[1].name for edge in self.edges]}>"


Edge = tuple[str, Condition, Span | None]
"""A transition seen from its source, as ``(to, condition, origin)``: what
``Graph.from_outgoing`` takes for each action, in the order its transitions are tried."""


class Graph:
    """An immutable set of named actions and ordered transitions.

    ``Graph(actions, transitions)`` keeps the ``Transition`` objects it is given;
    ``Graph.from_outgoing(actions, outgoing)`` takes the same transitions as plain tuples,
    grouped by source as the compiler's IR holds them, and makes their ``Transition`` objects
    only when ``transitions`` is first read: the compiler builds graphs of thousands of arrows
    that the step loop only follows, and a frozen ``Transition`` cost more to make than the rest
    of its arrow. Both validate and index alike. Two threads reading ``transitions`` for the
    first time at once may both make the list; it is the same."""

    __slots__ = ("_nodes", "_outgoing", "_transitions")

    def __init__(self, actions: Sequence[Action], transitions: Sequence[Transition]) -> None:
        kept = tuple(transitions)
        nodes = _nodes(actions)
        outgoing: dict[str, list[Edge]] = {}
        for t in kept:  # checked in the order given, so the first bad one is the one reported
            _check_ends(nodes, t.from_, t.to, t.origin)
            edges = outgoing.get(t.from_)
            if edges is None:
                outgoing[t.from_] = [(t.to, t.condition, t.origin)]
            else:
                edges.append((t.to, t.condition, t.origin))
        _link(nodes, outgoing)
        self._nodes = nodes
        self._outgoing = outgoing
        self._transitions: tuple[Transition, ...] | None = kept

    @classmethod
    def from_outgoing(
        cls, steps: Mapping[str, Action], outgoing: Mapping[str, Sequence[Edge]]
    ) -> Graph:
        """The graph of ``Graph(list(steps.values()), [Transition(source, *edge) for source,
        edges in outgoing.items() for edge in edges])``, its ``Transition`` objects made on first
        read (``outgoing`` is kept, not copied). A source may have no edges.

        ``steps`` holds each action under its name (``action.name``), as the compiler's IR holds
        its steps: a mapping cannot name two actions alike, and the names are not read back
        (an ``Action.name`` is a property; reading it for each action was an eighth of making
        the graph)."""
        graph = cls.__new__(cls)
        nodes = {name: Node(action, name) for name, action in steps.items()}
        _link(nodes, outgoing)
        graph._nodes = nodes
        graph._outgoing = outgoing
        graph._transitions = None
        return graph

    @property
    def actions(self) -> list[Action]:
        return [node.action for node in self._nodes.values()]

    @property
    def transitions(self) -> list[Transition]:
        made = self._transitions
        if made is None:
            made = self._transitions = tuple(
                Transition(source, target, condition, origin)
                for source, edges in self._outgoing.items()
                for target, condition, origin in edges
            )
        return list(made)

    def get_action(self, name: str) -> Action:
        node = self._nodes.get(name)
        if node is None:
            raise UnknownActionError(
                f"'{name}' is not an action of this graph",
                hints=_did_you_mean(name, self._nodes)
                or (f"actions: {', '.join(sorted(self._nodes)) or 'none'}",),
            )
        return node.action

    def has_action(self, name: str) -> bool:
        return name in self._nodes

    def node(self, name: str) -> Node:
        """The step loop's view of action ``name``."""
        node = self._nodes.get(name)
        if node is None:
            self.get_action(name)  # raises UnknownActionError with a hint
        return node  # type: ignore[return-value]

    def next_action(self, prior: str, state: Mapping[str, Any]) -> Action | None:
        """The first action whose transition from ``prior`` holds on ``state``, or ``None``."""
        data = state._data if type(state) is State else state
        target = self.node(prior).successor(data)
        return None if target is None else target.action

    def visualize(self, output_file_path: str | None = None, **kwargs: Any) -> Any:
        """Draw this graph with Graphviz (see ``flowc.runtime.visualize``)."""
        from flowc.runtime.visualize import visualize

        return visualize(self, output_file_path, **kwargs)

    def __repr__(self) -> str:
        count = sum(map(len, self._outgoing.values()))
        return f"Graph(actions={list(self._nodes)}, transitions={count})"


def _nodes(actions: Sequence[Action]) -> dict[str, Node]:
    """The step loop's node of each action, by name (a name twice is an error)."""
    nodes: dict[str, Node] = {}
    for action in actions:
        name = action.name
        if name in nodes:
            raise DuplicateActionError(
                f"two actions are named '{name}'",
                hints=("give one of them another name with .with_name(...)",),
                span=action.origin,
            )
        nodes[name] = Node(action, name)  # type: ignore[index,arg-type]
    return nodes


def _check_ends(nodes: Mapping[str, Node], source: str, target: str, origin: Span | None) -> None:
    if source not in nodes or target not in nodes:
        end = source if source not in nodes else target
        raise UnknownActionError(
            f"transition {source} -> {target} names '{end}', which is not an action of this graph",
            hints=_did_you_mean(end, nodes) or (f"actions: {', '.join(sorted(nodes)) or 'none'}",),
            span=origin,
        )


def _link(nodes: Mapping[str, Node], outgoing: Mapping[str, Sequence[Edge]]) -> None:
    """Give each node its outgoing edges, in order (``always``: the first, if unconditional)."""
    for source, edges in outgoing.items():
        if not edges:
            continue
        node = nodes.get(source)
        linked = []
        for target, condition, origin in edges:
            to = nodes.get(target)
            if to is None or node is None:
                _check_ends(nodes, source, target, origin)
            linked.append((condition.evaluate, to, condition))
        node.edges = tuple(linked)  # type: ignore[union-attr]
        if edges[0][1].is_default:
            node.always = linked[0][1]  # type: ignore[union-attr]


TransitionSpec = tuple[Any, ...]


def _normalise_actions(args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Action]:
    actions = [create_action(candidate) for candidate in args]
    actions += [create_action(candidate, name) for name, candidate in kwargs.items()]
    return actions


def _normalise_transition(spec: Any) -> list[Transition]:
    if isinstance(spec, Transition):
        return [spec]
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise GraphDefinitionError(
            f"a transition is (from, to) or (from, to, condition); got {spec!r}",
            code="F263",
        )
    sources, target = spec[0], spec[1]
    condition = spec[2] if len(spec) == 3 else default
    if not isinstance(condition, Condition):
        raise GraphDefinitionError(
            f"the condition of transition {sources!r} -> {target!r} is {condition!r}, "
            "not a Condition",
            code="F263",
            hints=("use when(key=value), expr('...') or default",),
        )
    if isinstance(sources, str):
        sources = [sources]
    return [Transition(source, target, condition) for source in sources]


class GraphBuilder:
    """Collects actions and transitions; ``build()`` validates them into a ``Graph``."""

    def __init__(self) -> None:
        self._actions: list[Action] = []
        self._transitions: list[Transition] = []

    def with_actions(self, *args: Any, **kwargs: Any) -> GraphBuilder:
        self._actions.extend(_normalise_actions(args, kwargs))
        return self

    with_action = with_actions

    def with_transitions(self, *transitions: TransitionSpec | Transition) -> GraphBuilder:
        for spec in transitions:
            self._transitions.extend(_normalise_transition(spec))
        return self

    def build(self) -> Graph:
        return Graph(self._actions, self._transitions)
