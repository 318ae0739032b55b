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


Arrow = tuple[str, str, Condition, Span | None]
"""A transition as ``(from_, to, condition, origin)``: what ``Graph.from_arrows`` takes."""


class Graph:
    """An immutable set of named actions and ordered transitions.

    ``Graph(actions, transitions)`` keeps the ``Transition`` objects it is given;
    ``Graph.from_arrows(actions, arrows)`` takes the same transitions as plain tuples and makes
    their ``Transition`` objects only when ``transitions`` is first read: the compiler builds
    graphs of thousands of arrows that the step loop only follows, and a frozen ``Transition``
    cost more to make than the rest of its arrow. Both validate and index alike. Two threads
    reading ``transitions`` for the first time at once may both make the list; it is the same."""

    __slots__ = ("_actions", "_arrows", "_nodes", "_transitions")

    def __init__(self, actions: Sequence[Action], transitions: Sequence[Transition]) -> None:
        kept = tuple(transitions)
        self._index(actions, [(t.from_, t.to, t.condition, t.origin) for t in kept])
        self._transitions: tuple[Transition, ...] | None = kept

    @classmethod
    def from_arrows(cls, actions: Sequence[Action], arrows: Sequence[Arrow]) -> Graph:
        """The graph of ``Graph(actions, [Transition(*arrow) for arrow in arrows])``, its
        ``Transition`` objects made on first read (``arrows`` is kept, not copied)."""
        graph = cls.__new__(cls)
        graph._index(actions, arrows)
        graph._transitions = None
        return graph

    def _index(self, actions: Sequence[Action], arrows: Sequence[Arrow]) -> None:
        by_name: dict[str, Action] = {}
        nodes: dict[str, Node] = {}
        for action in actions:
            name = action.name
            if name in by_name:
                raise DuplicateActionError(
                    f"two actions are named '{name}'",
                    hints=("give one of them another name with .with_name(...)",),
                    span=action.origin,
                )
            by_name[name] = action  # type: ignore[index]
            nodes[name] = Node(action, name)  # type: ignore[index,arg-type]
        outgoing: dict[str, list[tuple[Any, Node, Condition]]] = {}
        for source, target, condition, origin in arrows:
            to = nodes.get(target)
            if to is None or source not in nodes:
                end = source if source not in nodes else target
                raise UnknownActionError(
                    f"transition {source} -> {target} names '{end}', "
                    "which is not an action of this graph",
                    hints=_did_you_mean(end, nodes)
                    or (f"actions: {', '.join(sorted(nodes)) or 'none'}",),
                    span=origin,
                )
            edges = outgoing.get(source)
            if edges is None:
                outgoing[source] = [(condition.evaluate, to, condition)]
            else:
                edges.append((condition.evaluate, to, condition))
        for name, edges in outgoing.items():
            node = nodes[name]
            node.edges = tuple(edges)
            if edges[0][2].is_default:
                node.always = edges[0][1]
        self._actions = by_name
        self._nodes = nodes
        self._arrows = arrows

    @property
    def actions(self) -> list[Action]:
        return list(self._actions.values())

    @property
    def transitions(self) -> list[Transition]:
        made = self._transitions
        if made is None:
            made = self._transitions = tuple(
                Transition(source, target, condition, origin)
                for source, target, condition, origin in self._arrows
            )
        return list(made)

    def get_action(self, name: str) -> Action:
        try:
            return self._actions[name]
        except KeyError:
            raise UnknownActionError(
                f"'{name}' is not an action of this graph",
                hints=_did_you_mean(name, self._actions)
                or (f"actions: {', '.join(sorted(self._actions)) or 'none'}",),
            ) from None

    def has_action(self, name: str) -> bool:
        return name in self._actions

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
        return f"Graph(actions={list(self._actions)}, transitions={len(self._arrows)})"


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
