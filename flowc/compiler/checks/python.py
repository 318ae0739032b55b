"""The Python side (only with ``import_python``; ``--no-import`` skips it): the modules and names
the flow refers to import; each action's callable is callable, its parameters accept the bound
arguments and declared inputs and need nothing else; where the callable declares
``reads``/``writes`` itself (``@action(reads=…, writes=…)``, duck-typed), they agree with the
.flow declaration; a custom reducer that declares ``writes`` writes the reduce's keys.

Importing runs the user's module code; that is the point of this check. Each module is imported
once per run of the checks (``checks.imported``, shared with the dataflow facts, which use what
a callable declares where the .flow file declares nothing).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flowc.compiler.checks.common import error, warning
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.checks.imported import FAILED, PythonObjects, declared
from flowc.compiler.ir import ActionNode, CallableSpec, FlowIR
from flowc.errors import Diagnostic

F_NOT_CALLABLE = "F403"
F_UNKNOWN_PARAMETER = "F404"
F_MISSING_PARAMETER = "F405"
F_DECLARATION_MISMATCH = "F406"
F_INPUT_MAYBE_UNUSED = "F253"
F_STATE_PARAMETER_NAMED_AS_KEY = "F254"
F_INPUT_NAMED_AS_KEY = "F255"

_IMPLICIT = {"state", "__context"}


def check_python(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir, PythonObjects())
    resolver = facts.python
    if resolver is None:  # facts made without importing: import now, for this check only
        resolver = PythonObjects()
        resolver.import_flow(facts.scopes, facts.actions)
    signatures: dict[int, Signature | None] = {}
    declarations: dict[int, tuple[tuple[str, ...] | None, tuple[str, ...] | None]] = {}
    for action in facts.actions:
        target = resolver.spec(action.callable)
        if target is FAILED:
            continue
        own = declarations.get(id(target))
        if own is None:
            own = declarations[id(target)] = (declared(target, "reads"), declared(target, "writes"))
        yield from _check_action(action, target, own, signatures)
    for map_node in facts.maps:
        for reduce in map_node.reduces:
            if reduce.callable is None:
                continue
            target = resolver.spec(reduce.callable)
            if target is FAILED:
                continue
            if not callable(target):
                yield _not_callable(reduce.callable, "a reducer")
                continue
            own = declared(target, "writes")
            if own is not None and set(own) != set(reduce.target_keys):
                yield error(
                    F_DECLARATION_MISMATCH,
                    f"reducer '{reduce.callable.written}' declares writes "
                    f"{_listed(own)}, but this reduce writes {_listed(reduce.target_keys)}",
                    reduce.span,
                    f"write `reduce {', '.join(own)} = …`",
                )
        for option in (map_node.options.executor, map_node.options.task_key):
            spec = getattr(option, "callable", None)
            if spec is not None:
                target = resolver.spec(spec)
                if target is not FAILED and not callable(target):
                    yield _not_callable(spec, "an executor factory or key function")
    yield from resolver.failures


@dataclass(frozen=True, slots=True)
class Signature:
    """What the checks need of a callable's signature: its named parameters and whether it
    takes ``**kwargs``."""

    named: dict[str, inspect.Parameter]
    open_ended: bool
    first: str | None  # the first positional parameter, which receives the state


def _check_action(
    action: ActionNode,
    target: Any,
    own_keys: tuple[tuple[str, ...] | None, tuple[str, ...] | None],
    signatures: dict[int, Signature | None],
) -> Iterator[Diagnostic]:
    """``own_keys`` is what ``target`` declares it reads and writes; ``signatures`` holds each
    callable's signature by ``id``. Both are worked out once per callable and run: a flow's
    actions mostly share a few callables (10,000 actions over one function inspected it 10,000
    times, most of the Python check's time)."""
    declared_reads, declared_writes = own_keys
    for keys, own, what in (
        (action.reads, declared_reads, "reads"),
        (action.writes, declared_writes, "writes"),
    ):
        if own is None or not keys:
            continue
        flow_keys = tuple(key.name for key in keys)
        if set(own) != set(flow_keys):
            yield error(
                F_DECLARATION_MISMATCH,
                f"action '{action.name}' {what} {_listed(flow_keys)} here, but "
                f"'{action.callable.written}' declares {what} {_listed(own)}",
                keys[0].span,
                f"write `{what} {', '.join(own)}`, or drop the clause to use the callable's",
            )
    if not callable(target):
        if declared_reads is None:
            yield _not_callable(action.callable, "an action")
        return
    if isinstance(target, type):
        return  # an Action class: its constructor is the build's business, not a step's signature
    if id(target) not in signatures:
        signatures[id(target)] = _signature(target)
    signature = signatures[id(target)]
    if signature is None:
        return
    named, open_ended = signature.named, signature.open_ended
    written = action.callable.written
    first = signature.first
    if first is not None and first != "state":
        key = next((key for key in action.reads if key.name == first), None)
        if key is not None:
            yield warning(
                F_STATE_PARAMETER_NAMED_AS_KEY,
                f"'{written}' takes the state as its first parameter '{first}': it receives "
                f"the whole State, not the value of key '{first}'",
                key.span,
                f'name it `state` and read `state["{first}"]` in the function',
            )
    for arg in action.args:
        if arg.name not in named and not open_ended:
            yield error(
                F_UNKNOWN_PARAMETER,
                f"'{written}' has no parameter '{arg.name}' to bind",
                arg.span,
                _parameter_hint(named, first),
            )
    for key in action.inputs:
        if key.name in named:
            continue
        if open_ended:
            yield warning(
                F_INPUT_MAYBE_UNUSED,
                f"input '{key.name}' is not a named parameter of '{written}'; it only reaches "
                "its **kwargs",
                key.span,
                f"name it in the signature, or drop `inputs {key.name}`",
            )
        else:
            yield error(
                F_UNKNOWN_PARAMETER,
                f"input '{key.name}' is not a parameter of '{written}'",
                key.span,
                _parameter_hint(named, first),
            )
    if not action.inputs:  # inputs not declared here: the runtime takes them from the signature
        yield from _inputs_named_as_keys(action, named, first)
        return
    given = {a.name for a in action.args} | set(action.input_keys) | _IMPLICIT | {first}
    for parameter in named.values():
        if parameter.default is parameter.empty and parameter.name not in given:
            yield error(
                F_MISSING_PARAMETER,
                f"'{written}' needs '{parameter.name}', which is neither bound nor a declared "
                f"input of action '{action.name}'",
                action.inputs[0].span,
                f"add it to `inputs`, or bind it: `{written}({parameter.name}=…)`",
            )


def _inputs_named_as_keys(
    action: ActionNode, named: dict[str, inspect.Parameter], first: str | None
) -> Iterator[Diagnostic]:
    """A required parameter named after a key the action reads, neither bound nor declared:
    the runtime asks the run's caller for it as an input, while the function's author most
    likely expected the key's value (a map's item, say, which is in the branch's state)."""
    bound = {arg.name for arg in action.args}
    written = action.callable.written
    for key in action.reads:
        parameter = named.get(key.name)
        if (
            parameter is not None
            and key.name != first
            and key.name not in bound
            and parameter.default is parameter.empty
        ):
            yield warning(
                F_INPUT_NAMED_AS_KEY,
                f"'{written}' takes '{key.name}' as a parameter: it is an input the run's caller "
                f"must pass, not the value of state key '{key.name}' that action "
                f"'{action.name}' reads",
                key.span,
                f'drop the parameter and read `state["{key.name}"]` in the function, or declare '
                f"it: `inputs {key.name}`",
            )


def _signature(target: Any) -> Signature | None:
    try:
        parameters = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return None  # a builtin or an object without a signature: nothing to compare
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return Signature(
        {p.name: p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)},
        any(p.kind is p.VAR_KEYWORD for p in parameters),
        parameters[0].name if parameters and parameters[0].kind in positional else None,
    )


def _parameter_hint(named: dict[str, inspect.Parameter], first: str | None) -> str:
    names = [n for n in named if n not in _IMPLICIT and n != first]
    return "its parameters: " + (", ".join(names) or "none besides state")


def _not_callable(spec: CallableSpec, role: str) -> Diagnostic:
    return error(
        F_NOT_CALLABLE,
        f"'{spec.qualified}' is not callable, so it cannot be {role}",
        spec.span,
        "name a function (or a class with __call__)",
    )


def _listed(keys: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(keys) + "]"
