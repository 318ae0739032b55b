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
from flowc.runtime.action import Action, create_action
from flowc.runtime.conditions import Condition, default, explain_failure


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


class Graph:
    """An immutable set of named actions and ordered transitions."""

    __slots__ = ("_actions", "_outgoing", "_transitions")

    def __init__(self, actions: Sequence[Action], transitions: Sequence[Transition]) -> None:
        by_name: dict[str, Action] = {}
        for action in actions:
            if action.name in by_name:
                raise DuplicateActionError(
                    f"two actions are named '{action.name}'",
                    hints=("give one of them another name with .with_name(...)",),
                    span=action.origin,
                )
            by_name[action.name] = action
        outgoing: dict[str, list[tuple[Condition, Action]]] = {name: [] for name in by_name}
        for transition in transitions:
            for end in (transition.from_, transition.to):
                if end not in by_name:
                    raise UnknownActionError(
                        f"transition {transition.from_} -> {transition.to} names '{end}', "
                        "which is not an action of this graph",
                        hints=_did_you_mean(end, by_name)
                        or (f"actions: {', '.join(sorted(by_name)) or 'none'}",),
                        span=transition.origin,
                    )
            outgoing[transition.from_].append((transition, by_name[transition.to]))
        self._actions = by_name
        self._transitions = tuple(transitions)
        self._outgoing = {name: tuple(edges) for name, edges in outgoing.items()}

    @property
    def actions(self) -> list[Action]:
        return list(self._actions.values())

    @property
    def transitions(self) -> list[Transition]:
        return list(self._transitions)

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

    def next_action(self, prior: str, state: Mapping[str, Any]) -> Action | None:
        """The first action whose transition from ``prior`` holds on ``state``, or ``None``."""
        data = getattr(state, "_data", state)
        for transition, target in self._outgoing[prior]:
            try:
                if transition.condition.evaluate(data):
                    return target
            except Exception as error:
                explained = explain_failure(error, transition.condition, prior, transition.to, data)
                if explained is None:
                    raise
                raise explained from error
        return None

    def visualize(self, output_file_path: str | None = None, **kwargs: Any) -> Any:
        """Draw this graph with Graphviz (see ``flowc.runtime.visualize``)."""
        from flowc.runtime.visualize import visualize

        return visualize(self, output_file_path, **kwargs)

    def __repr__(self) -> str:
        return f"Graph(actions={list(self._actions)}, transitions={len(self._transitions)})"


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
