"""Names: every reference resolves, and nothing is declared twice.

A step, map or graph may be used before its declaration (lowering resolves the whole scope), so
only a name declared nowhere is an error. Did-you-mean hints point at the closest declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache, partial
from operator import attrgetter, itemgetter

from flowc.compiler.ast import TypeRef
from flowc.compiler.checks.common import did_you_mean, error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import (
    CallableSpec,
    Declaration,
    FlowIR,
    GraphNode,
    MapNode,
    PythonImport,
    UnknownNode,
)
from flowc.compiler.lower import F_NESTED_TOO_DEEP, F_SELF_REFERENCE
from flowc.errors import Diagnostic, Related, Span

F_UNKNOWN_STEP = "F201"
F_DUPLICATE = "F202"
F_UNKNOWN_CALLABLE = "F203"
F_UNKNOWN_BRANCH = "F205"
F_WRONG_KIND = "F206"
F_UNKNOWN_TYPE = "F207"
F_DUPLICATE_FIELD = "F208"

BUILTIN_TYPES = {"str": 0, "int": 0, "float": 0, "bool": 0, "any": 0, "list": 1, "dict": 2}
BUILTIN_TYPES["optional"] = 1

_NODE = itemgetter("node")
_NAME = attrgetter("name")
_MODULE = attrgetter("callable.module")


def check_names(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    top_declared = cache(partial(_declared_spans, ir))  # for hints only: made on first use
    imported = {i.local: i.span for i in ir.meta.imports if isinstance(i, PythonImport)}
    explained = _unresolved_on_purpose(ir)
    for scope in facts.scopes:
        yield from _duplicates(scope)
        if UnknownNode not in map(type, map(_NODE, scope._node.values())):
            continue  # every step resolved: told without a loop in Python
        declared: dict[str, Span | None] | None = None  # made for the first unknown step
        for node in scope.steps():
            if type(node) is UnknownNode and node.span not in explained:
                if declared is None:
                    declared = {**top_declared(), **_declared_spans(scope)}
                yield _unknown_step(node, declared, imported)
    yield from _callables(ir, facts, top_declared, imported)
    yield from _branches(facts, top_declared, imported)
    yield from _schema(ir, imported)


def _declared_spans(scope: FlowIR) -> dict[str, Span | None]:
    found: dict[str, Span | None] = {}
    for declared in scope.meta.declarations:
        found.setdefault(declared.name, declared.span)
    return found


def _duplicates(scope: FlowIR) -> Iterator[Diagnostic]:
    declarations = scope.meta.declarations
    if len(set(map(_NAME, declarations))) == len(declarations):
        return  # no name twice: told without a loop in Python
    first: dict[str, Declaration] = {}
    for declared in declarations:
        original = first.setdefault(declared.name, declared)
        if original is declared:
            continue
        what = declared.kind.value
        yield error(
            F_DUPLICATE,
            f"'{declared.name}' is declared twice in this scope",
            declared.span,
            f"rename this {what} or remove one of the two",
            related=(Related(f"'{declared.name}' was first declared here", original.span),),
        )


def _unknown_step(
    node: UnknownNode, declared: dict[str, Span | None], imported: dict[str, Span]
) -> Diagnostic:
    if node.name in imported:
        hint = (
            f"'{node.name}' is an imported Python callable; declare a step for it: "
            f"`action {node.name} = {node.name} reads … writes …`"
        )
        related: tuple[Related, ...] = (
            Related(f"'{node.name}' is imported here", imported[node.name]),
        )
    else:
        hint, related = did_you_mean(node.name, declared)
        hint = hint or "declare it with `action`, `graph` or `map`, or import it"
    return error(
        F_UNKNOWN_STEP,
        f"'{node.name}' is not an action, graph or map",
        node.span,
        hint,
        related=related,
    )


def _callables(
    ir: FlowIR,
    facts: FlowFacts,
    declared: Callable[[], dict[str, Span | None]],
    imported: dict[str, Span],
) -> Iterator[Diagnostic]:
    seen: set[tuple[Span, str]] = set()
    references: list[tuple[CallableSpec, str]] = []
    if None in map(_MODULE, facts.actions):  # some action's callable is unresolved
        for action in facts.actions:
            if action.callable.module is None:
                references.append((action.callable, f"action '{action.name}'"))
    for map_node in facts.maps:
        for reduce in map_node.reduces:
            if reduce.callable is not None:
                references.append((reduce.callable, "reducer"))
        options = map_node.options
        if options.executor is not None and options.executor.callable is not None:
            references.append((options.executor.callable, "executor"))
        if options.task_key is not None and options.task_key.callable is not None:
            references.append((options.task_key.callable, "task key"))
    explained = _unresolved_on_purpose(ir)
    kinds: dict[str, str] | None = None  # made for the first unresolved callable
    for spec, user in references:
        if spec.resolved or (spec.span, spec.written) in seen or spec.span in explained:
            continue
        seen.add((spec.span, spec.written))
        if kinds is None:
            kinds = {d.name: d.kind.value for s in facts.scopes for d in s.meta.declarations}
        if spec.written in kinds:
            yield error(
                F_WRONG_KIND,
                f"'{spec.written}' is {_article(kinds[spec.written])}, not a Python callable",
                spec.span,
                f"the {user} needs an imported function or `package.module:function`",
                related=_related(spec.written, declared()),
            )
            continue
        hint, related = did_you_mean(spec.written, imported)
        yield error(
            F_UNKNOWN_CALLABLE,
            f"'{spec.written}' is not imported",
            spec.span,
            hint or f"add `from package.module import {spec.written}`, or write `module:function`",
            related=related,
        )


def _related(name: str, declared: dict[str, Span | None]) -> tuple[Related, ...]:
    span = declared.get(name)
    return (Related(f"'{name}' is declared here", span),) if span else ()


def _branches(
    facts: FlowFacts, declared: Callable[[], dict[str, Span | None]], imported: dict[str, Span]
) -> Iterator[Diagnostic]:
    maps: set[str] | None = None  # the declared maps' names, made for the first unknown branch
    for map_node in facts.maps:
        for branch in map_node.branches:
            if isinstance(branch.step, GraphNode) and branch.args:
                yield error(
                    F_WRONG_KIND,
                    f"graph '{branch.ref}' takes no arguments",
                    branch.args[0].span,
                    "bind arguments on the graph's actions instead",
                )
            if branch.step is not None:
                continue
            if maps is None:
                maps = {
                    d.name
                    for scope in facts.scopes
                    for d in scope.meta.declarations
                    if isinstance(d, MapNode)
                }
            if branch.ref in maps:
                yield error(
                    F_WRONG_KIND,
                    f"map '{branch.ref}' cannot be a branch of map '{map_node.name}'",
                    branch.span,
                    "wrap the inner map in a graph and use the graph as the branch",
                    related=_related(branch.ref, declared()),
                )
                continue
            hint, related = did_you_mean(branch.ref, {**declared(), **imported})
            yield error(
                F_UNKNOWN_BRANCH,
                f"branch '{branch.ref}' of map '{map_node.name}' is not an action, graph or "
                "imported callable",
                branch.span,
                hint or "declare it, import it, or write `package.module:function`",
                related=related,
            )


def _schema(ir: FlowIR, imported: dict[str, Span]) -> Iterator[Diagnostic]:
    seen: dict[str, Span] = {}
    for spec in ir.meta.schema:
        if spec.name in seen:
            yield error(
                F_DUPLICATE_FIELD,
                f"state field '{spec.name}' is declared twice",
                spec.span,
                "remove one of the two",
                related=(Related(f"'{spec.name}' was first declared here", seen[spec.name]),),
            )
        seen.setdefault(spec.name, spec.span)
        yield from _type_ref(spec.type, imported)


def _type_ref(ref: TypeRef, imported: dict[str, Span]) -> Iterator[Diagnostic]:
    name = ref.name.value
    arity = BUILTIN_TYPES.get(name)
    if arity is None and name not in imported:
        hint, related = did_you_mean(name, {**dict.fromkeys(BUILTIN_TYPES), **imported})
        yield error(
            F_UNKNOWN_TYPE,
            f"unknown type '{name}'",
            ref.name.span,
            hint
            or "types are str, int, float, bool, any, list[T], dict[K, V], optional[T] "
            "or an imported pydantic model",
            related=related,
        )
    elif arity is not None and len(ref.args) != arity:
        usage = {0: name, 1: f"{name}[T]", 2: f"{name}[K, V]"}[arity]
        yield error(
            F_UNKNOWN_TYPE,
            f"'{name}' takes {arity} type argument(s), not {len(ref.args)}",
            ref.span,
            f"write `{usage}`",
        )
    elif arity is None and ref.args:
        yield error(F_UNKNOWN_TYPE, f"model type '{name}' takes no type arguments", ref.span)
    for arg in ref.args:
        yield from _type_ref(arg, imported)


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _unresolved_on_purpose(ir: FlowIR) -> set[Span]:
    """Where lowering left a step unresolved and said why (a graph that contains itself, F224, or
    one nested too deep, F225): no "unknown step" there as well."""
    return {d.span for d in ir.meta.problems if d.code in (F_SELF_REFERENCE, F_NESTED_TOO_DEEP)}
