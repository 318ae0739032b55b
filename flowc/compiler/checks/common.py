"""Helpers the checks share: building diagnostics, did-you-mean hints, walking every scope."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping

from flowc.compiler.ir import (
    ActionNode,
    FlowIR,
    GraphNode,
    MapNode,
    iter_scopes,
)
from flowc.errors import Diagnostic, Related, Severity, Span


def error(
    code: str, message: str, span: Span | None, *hints: str, related: tuple[Related, ...] = ()
) -> Diagnostic:
    return Diagnostic(code, message, span, Severity.ERROR, tuple(h for h in hints if h), related)


def warning(
    code: str, message: str, span: Span | None, *hints: str, related: tuple[Related, ...] = ()
) -> Diagnostic:
    return Diagnostic(code, message, span, Severity.WARNING, tuple(h for h in hints if h), related)


def did_you_mean(name: str, known: Mapping[str, Span | None]) -> tuple[str, tuple[Related, ...]]:
    """A hint naming the closest known name (with where it is defined), or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if not close:
        return "", ()
    found = close[0]
    span = known[found]
    if span is None:
        return f"did you mean '{found}'?", ()
    return (
        f"did you mean '{found}'? (defined at {span})",
        (Related(f"'{found}' is defined here", span),),
    )


def scopes(ir: FlowIR) -> Iterator[FlowIR]:
    for _, scope in iter_scopes(ir):
        yield scope


def all_actions(ir: FlowIR) -> Iterator[ActionNode]:
    """Every distinct action value in the flow: steps, declarations, map branches."""
    seen: set[int] = set()
    for scope in scopes(ir):
        for node in _nodes_of(scope):
            candidates: Iterable[object] = (node,)
            if isinstance(node, MapNode):
                candidates = (node, *(b.step for b in node.branches))
            for item in candidates:
                if isinstance(item, ActionNode) and id(item) not in seen:
                    seen.add(id(item))
                    yield item


def all_maps(ir: FlowIR) -> Iterator[MapNode]:
    seen: set[int] = set()
    for scope in scopes(ir):
        for node in _nodes_of(scope):
            if isinstance(node, MapNode) and id(node) not in seen:
                seen.add(id(node))
                yield node


def _nodes_of(scope: FlowIR) -> Iterator[object]:
    yield from scope.steps()
    yield from scope.meta.declarations


def scope_label(scope: FlowIR, top: FlowIR) -> str:
    if scope is top:
        return f"flow '{scope.meta.name}'" if scope.meta.name else "the flow"
    return f"graph '{scope.meta.name}'"


def graph_bodies(ir: FlowIR) -> Iterator[GraphNode]:
    for scope in scopes(ir):
        for node in _nodes_of(scope):
            if isinstance(node, GraphNode):
                yield node
