"""IR → runtime objects: ``build_application(ir, …)`` returns a ready ``flowc.runtime.Application``.

The build imports the Python callables a flow names, on purpose and only here (and in the Python
checks); a failing import is a ``FlowBuildError`` with the ``.flow`` span and a hint. Every runtime
object it makes carries ``origin``, the span it came from, so a runtime error points at the
``.flow`` line: actions (``Action.with_origin``), conditions, transitions, and the map classes.

How each IR node becomes runtime objects:

- an action: the callable wrapped as a ``FunctionBasedAction`` with the declared reads/writes, or
  the ``@action``'s own declaration when the file declares none; ``Action`` instances and
  subclasses are used as they are; bound arguments through ``bind``, the name through
  ``with_name``;
- a map: an instance of a ``MapStates`` / ``MapActions`` / ``MapActionsAndStates`` subclass (one
  per map shape and build, ``flowc.compiler.map_classes``) carrying its ``MapOptions`` and reducers;
- a graph: a ``RunnableGraph`` (as a map branch), or, used as a step, a one-branch ``MapActions``
  that runs it as a child application and writes back what its actions write;
- transitions, in order; ``x -> end`` stops the run there (an arrow tried after a conditional
  ``-> end`` is guarded by the negation of that condition). Conditions are the IR's expression
  nodes, interpreted by the runtime (never ``eval``).
"""

from __future__ import annotations

import functools
import inspect
import operator
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flowc.compiler.collector import collector_paused
from flowc.compiler.ir import (
    HALT,
    ActionNode,
    CallableSpec,
    ExecutorSpec,
    FlowIR,
    GraphNode,
    ItemsFromInput,
    ItemsFromState,
    ItemsLiteral,
    ItemsRange,
    MapBranch,
    MapItems,
    MapNode,
    ReduceSpec,
    RetrySpec,
)
from flowc.compiler.ir import MapOptions as IRMapOptions
from flowc.compiler.map_classes import (
    BranchLabel,
    Items,
    MapProgress,
    MapShape,
    ReduceStep,
    Reduction,
    make_graph_step,
    make_map,
)
from flowc.compiler.python_refs import import_object
from flowc.errors import FlowBuildError, FlowError, Span
from flowc.runtime import reducers
from flowc.runtime.action import Action, FunctionActionMaker, FunctionBasedAction
from flowc.runtime.application import Application
from flowc.runtime.conditions import Condition, default, from_expression
from flowc.runtime.flow_support import assemble_application, map_executor
from flowc.runtime.graph import Edge, Graph
from flowc.runtime.parallelism import FailurePolicy, MapOptions, Retry, RunnableGraph
from flowc.runtime.state import State

F_NOT_AN_ACTION = "F410"
F_BINDING = "F411"
F_UNBUILDABLE = "F413"
F_NOT_CALLABLE = "F414"

_KEY_NAME = operator.attrgetter("name")


def build_application(
    ir: FlowIR,
    *,
    state: Mapping[str, Any] | State | None = None,
    executor: Any = None,
    persister: Any = None,
    tracker: Any = None,
    app_id: str | None = None,
    partition_key: str | None = None,
    resume: bool = False,
    hooks: Sequence[Any] = (),
    progress: MapProgress | None = None,
) -> Application:
    """The runtime ``Application`` for a checked flow.

    ``state`` overrides the schema's defaults; ``executor`` (an executor or a zero-argument
    factory) runs map branches; ``persister`` saves every step (and, with ``resume=True`` and the
    ``app_id`` of an earlier run, loads where that run stopped); ``tracker`` and ``hooks`` observe
    it; ``progress`` hears about every map branch as it finishes (``flowc run``'s progress bars).

    The cyclic garbage collector is paused while the graph is built (``collector.py`` says why).
    """
    with collector_paused():
        graph = _Builder(progress).graph(ir)
    entry = ir.entry
    if entry is None:
        raise FlowBuildError(
            "the flow has no entry point",
            code=F_UNBUILDABLE,
            span=ir.meta.span,
            hints=("add `start -> first_action`",),
        )
    return assemble_application(
        graph,
        entry,
        {**initial_state(ir), **dict(state or {})},
        executor=executor,
        persister=persister,
        tracker=tracker,
        app_id=app_id,
        partition_key=partition_key,
        resume=resume,
        hooks=hooks,
    )


def initial_state(ir: FlowIR) -> dict[str, Any]:
    """The values the state schema gives its fields (fields without a default start unset)."""
    return {f.name: f.default.to_python() for f in ir.meta.schema if f.default is not None}


# ---- the builder ------------------------------------------------------------------------------


class _Builder:
    """Builds each IR object once per application (an action used in several places is one
    runtime object per name), importing each ``module:name`` once."""

    def __init__(self, progress: MapProgress | None) -> None:
        self.progress = progress
        self.objects: dict[tuple[str, str], Any] = {}
        self.steps: dict[int, Action] = {}
        self.actions: dict[int, Action] = {}
        self.runnables: dict[int, RunnableGraph] = {}
        self.targets: dict[int, FunctionTarget | None] = {}
        self.makers: dict[tuple[str | None, str], FunctionActionMaker] = {}
        self.map_classes: dict[MapShape, type] = {}
        self.options: dict[tuple[Any, ...], MapOptions] = {}

    # -- python objects --

    def load(self, spec: CallableSpec) -> Any:
        if spec.module is None:
            raise FlowBuildError(
                f"'{spec.written}' is not imported",
                code=F_UNBUILDABLE,
                span=spec.span,
                hints=(f"import it: `from MODULE import {spec.name}`",),
            )
        key = (spec.module, spec.name)
        if key not in self.objects:
            self.objects[key] = import_object(
                spec.module, spec.name, flow_file=spec.span.file, span=spec.span
            )
        return self.objects[key]

    def load_callable(self, spec: CallableSpec, role: str) -> Callable[..., Any]:
        found = self.load(spec)
        if not callable(found):
            raise FlowBuildError(
                f"'{spec.qualified}' is a {type(found).__name__}, not {role}",
                code=F_NOT_CALLABLE,
                span=spec.span,
                hints=("name a function",),
            )
        return found

    # -- scopes --

    def graph(self, scope: FlowIR) -> Graph:
        """The runtime ``Graph`` of one scope: its steps and its transitions in order (made
        directly: every step is a named ``Action``, what ``GraphBuilder`` would normalise them
        to, each under its IR name, and the transitions are edges whose ``Transition``
        objects are made if read)."""
        action, step = self.action, self.step
        steps = {
            node.name: action(node) if type(node) is ActionNode else step(node)
            for node in scope.steps()
        }
        outgoing = scope_outgoing(scope)
        try:
            return Graph.from_outgoing(steps, outgoing)
        except FlowError as error:
            raise FlowBuildError(
                str(error.message), code=F_UNBUILDABLE, span=error.span or scope.meta.span
            ) from error

    def step(self, node: Any) -> Action:
        if isinstance(node, ActionNode):  # most steps: kept by ``action``
            return self.action(node)
        built = self.steps.get(id(node))
        if built is not None:
            return built
        if isinstance(node, MapNode):
            built = self.map(node)
        elif isinstance(node, GraphNode):
            runnable = self.runnable(node)
            built = make_graph_step(
                node.name, runnable, graph_writes(runnable), node.span, self.progress
            )
        else:
            raise FlowBuildError(
                f"'{node.name}' names nothing that can run",
                code=F_UNBUILDABLE,
                span=node.span,
                hints=("declare it as an action, a graph or a map",),
            )
        self.steps[id(node)] = built
        return built

    def runnable(self, node: GraphNode) -> RunnableGraph:
        if id(node) not in self.runnables:
            body = node.body
            if body.entry is None:
                raise FlowBuildError(
                    f"graph '{node.name}' has no entry point",
                    code=F_UNBUILDABLE,
                    span=node.span,
                    hints=(f"inside graph {node.name} {{ … }}, add `start -> first_action`",),
                )
            self.runnables[id(node)] = RunnableGraph(
                self.graph(body), body.entry, graph_halts(body) or [body.entry]
            )
        return self.runnables[id(node)]

    # -- actions --

    def action(self, node: ActionNode) -> Action:
        """One runtime action per IR action (a map branch that is a declared step, unchanged,
        is the same object as the step). Most are actions of a plain function seen before:
        its maker makes them, as ``make_action`` would."""
        made = self.actions.get(id(node))
        if made is not None:
            return made
        spec = node.callable
        key = (spec.module, spec.name)
        bound = {}
        for arg in node.args:  # a loop: a dict comprehension's own call cost a third more
            bound[arg.name] = arg.value.to_python()
        reads = list(map(_KEY_NAME, node.reads))
        writes = list(map(_KEY_NAME, node.writes))
        maker = self.makers.get(key)
        if maker is None:
            made = self._first_action(node, key, reads, writes, bound)
        else:
            try:
                made = maker.make(reads, writes, bound, node.name, node.span)
            except FlowError as error:
                raise _binding_error(node, error) from error
        self.actions[id(node)] = made
        return made

    def _first_action(
        self,
        node: ActionNode,
        key: tuple[str | None, str],
        reads: list[str],
        writes: list[str],
        bound: dict[str, Any],
    ) -> Action:
        """An action through ``make_action``, keeping the maker of a plain function for the
        next actions of ``key``."""
        spec = node.callable
        target = self.load(spec)
        try:
            made = make_action(
                target, node.name, reads, writes, bound, origin=node.span, targets=self.targets
            )
        except FlowError as error:
            raise _binding_error(node, error) from error
        if made is None:
            raise FlowBuildError(
                f"'{spec.qualified}' is a {type(target).__name__}; "
                f"action '{node.name}' needs a function or an Action",
                code=F_NOT_AN_ACTION,
                span=spec.span,
                hints=("name a function taking the state first, or an @action",),
            )
        found = self.targets[id(target)]
        if found is not None and found.declared is None and found.maker is not None:
            self.makers[key] = found.maker
        return made

    # -- maps --

    def map(self, node: MapNode) -> Action:
        branches = [self.branch(branch.step, branch.name, branch.span) for branch in node.branches]
        return make_map(
            name=node.name,
            kind=node.map_kind.value,
            branches=branches,
            labels=functools.partial(branch_labels, node.branches, branches),
            items=map_items(node.items) if node.items is not None else None,
            reads=map_reads(node),
            writes=node.writes,
            options=self.map_options(node.options),
            reduction=Reduction(tuple(self.reducer(r) for r in node.reduces)),
            tracker_off=node.options.tracker == "none",
            persister_off=node.options.persister == "none",
            origin=node.span,
            progress=self.progress,
            classes=self.map_classes,
        )

    def branch(self, step: ActionNode | GraphNode | None, name: str, span: Span) -> Any:
        if isinstance(step, GraphNode):
            return self.runnable(step)
        if isinstance(step, ActionNode):
            return self.action(step)
        raise FlowBuildError(
            f"map branch '{name}' names nothing that can run",
            code=F_UNBUILDABLE,
            span=span,
            hints=("name an action, a graph or an imported callable",),
        )

    def reducer(self, spec: ReduceSpec) -> ReduceStep:
        targets = spec.target_keys
        if spec.builtin is not None:
            return ReduceStep(targets, builtin_reducer(spec), custom=False)
        assert spec.callable is not None
        function = self.load_callable(spec.callable, "a reducer")
        name = spec.callable.written
        fold = functools.partial(_custom, function, custom_arguments(spec), targets, name)
        return ReduceStep(targets, fold, custom=True)

    def map_options(self, options: IRMapOptions) -> MapOptions:
        """The runtime options of a map: one object for all maps whose options say the same
        (they are frozen; where each was written only matters to the checks). An executor or a
        key option carries its span, so a map with one gets options of its own."""
        spec = options.retry
        key = (
            options.max_concurrency,
            options.tolerate_count,
            options.tolerate_fraction,
            None if spec is None else retry_values(spec),
            options.timeout_seconds,
            options.first_k,
            options.task_key,
            options.executor,
        )
        made = self.options.get(key)
        if made is None:
            made = self.options[key] = self.new_map_options(options)
        return made

    def new_map_options(self, options: IRMapOptions) -> MapOptions:
        key: Any = None
        if options.task_key is not None:
            spec = options.task_key
            if spec.callable is not None:
                key = self.load_callable(spec.callable, "a key function")
            elif spec.field_path and len(spec.field_path) == 1:
                key = spec.field_path[0]
            elif spec.field_path:
                key = functools.partial(reducers.field_value, path=".".join(spec.field_path))
        executor = self.executor(options.executor) if options.executor else None
        return MapOptions(
            max_concurrency=options.max_concurrency,
            failure_policy=failure_policy(options),
            retry=retry(options),
            timeout=options.timeout_seconds,
            first_k=options.first_k,
            task_key=key,
            executor=executor,
        )

    def executor(self, spec: ExecutorSpec) -> Callable[[], Any]:
        """A zero-argument factory: each map invocation gets its own pool (closed after)."""
        arg = spec.arg.to_python() if spec.arg is not None else None
        if spec.kind == "callable" and spec.callable is not None:
            factory = self.load_callable(spec.callable, "an executor factory")
            return functools.partial(factory, arg) if arg is not None else factory
        return map_executor(spec.kind, arg, spec.span)


def _binding_error(node: ActionNode, error: FlowError) -> FlowBuildError:
    """F411 at the first bound argument: the callable does not take what the action binds."""
    return FlowBuildError(
        error.message,
        code=F_BINDING,
        span=node.args[0].span if node.args else node.span,
        hints=error.hints,
    )


# ---- pure translations, shared with emit.py ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionTarget:
    """A function that actions wrap, as far as making them goes: the function to call, the
    ``@action`` declaration it carries (``None`` for a plain function) and the maker of its
    actions (``None`` when its signature cannot be inspected: ``FunctionBasedAction`` then
    inspects it itself and says what is wrong)."""

    fn: Callable[..., Any]
    declared: FunctionBasedAction | None
    maker: FunctionActionMaker | None


def function_target(target: Any) -> FunctionTarget | None:
    """What ``make_action`` wraps ``target`` as, when it is a function (``None`` for an
    ``Action`` or an ``Action`` class, which are used as they are, and for anything else).
    A function that takes no parameter at all raises ``ActionDefinitionError``."""
    if isinstance(target, type) and issubclass(target, Action):
        return None
    if isinstance(target, Action):
        return None
    declared = getattr(target, "action_function", None)
    if isinstance(declared, FunctionBasedAction):
        return FunctionTarget(declared.fn, declared, _maker(declared.fn))
    if callable(target):
        return FunctionTarget(target, None, _maker(target))
    return None


def _maker(function: Callable[..., Any]) -> FunctionActionMaker | None:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    return FunctionActionMaker(function, parameters)


def make_action(
    target: Any,
    name: str,
    reads: list[str],
    writes: list[str],
    bound: dict[str, Any],
    *,
    origin: Span | None = None,
    targets: dict[int, FunctionTarget | None] | None = None,
) -> Action | None:
    """The runtime action for ``target`` (``None`` when it cannot be one), carrying ``origin``;
    a new function action owns ``reads``, ``writes`` and ``bound`` (pass fresh ones).

    A function becomes a new ``FunctionBasedAction`` whose ``origin`` is set as it is made:
    ``with_origin`` would copy it, and copying a function action rebuilds it, which was half
    the build time of a 10,000-action flow. ``targets`` (one build's, by ``id``; the build
    keeps every imported object alive) holds what each target is and the maker of its
    actions, so that the thousands of actions a flow makes over a few functions inspect and
    check each function once (``inspect.signature`` was a third of the build, telling the kind
    of target apart another tenth, checking the parameters and copying the lists another)."""
    if targets is None:
        found = function_target(target)
    else:
        key = id(target)
        if key in targets:
            found = targets[key]
        else:
            found = targets[key] = function_target(target)
    if found is not None:
        declared = found.declared
        if declared is not None:
            reads = reads or list(declared.reads)
            writes = writes or list(declared.writes)
            bound = {**declared.bound, **bound}
        if found.maker is not None:
            return found.maker.make(reads, writes, bound, name, origin)
        made = FunctionBasedAction(found.fn, reads, writes, bound, name)  # raises: see above
        made.origin = origin
        return made
    if isinstance(target, type) and issubclass(target, Action):
        target = target()
    if isinstance(target, Action):
        action = target.bind(**bound) if bound else target
        named = action.with_name(name)
        return named if origin is None else named.with_origin(origin)
    return None


def scope_outgoing(scope: FlowIR) -> dict[str, list[Edge]]:
    """The runtime transitions of a scope as ``Graph.from_outgoing`` takes them: each step's
    arrows in the order they are tried, grouped by step as the IR's arrow table has them.

    An arrow to ``end`` becomes no transition: the run stops when none matches. Arrows after a
    conditional ``-> end`` are guarded by that condition's negation, so they are taken only when
    the end arrow would not have been; arrows after an unconditional one can never be taken."""
    made: dict[str, list[Edge]] = {}
    for source, arrows in scope.arrow_table().items():
        if source == "start":
            continue
        edges: list[Edge] = []
        made[source] = edges
        stops: list[Condition] | None = None
        for target, edge in arrows:
            written = edge.condition
            condition = (
                None if written is None else from_expression(written.expression, written.span)
            )
            if target == HALT:
                if stops is None:
                    stops = []
                stops.append(condition or _ALWAYS)
                if condition is None:
                    break  # no arrow after an unconditional one is ever taken
                continue
            taken = guarded(condition, stops) if stops else condition or default
            edges.append((target, taken, edge.span))
    return made


_ALWAYS = Condition((), lambda _state: True, "default", is_default=True)


def guarded(condition: Condition | None, stops: Sequence[Condition]) -> Condition:
    """``condition`` (or default) taken only when none of the earlier ``-> end`` arrows holds."""
    if not stops:
        return condition or default
    guard = ~stops[0]
    for stop in stops[1:]:
        guard = guard & ~stop
    combined = guard & condition if condition is not None else guard
    return replace(combined, origin=condition.origin if condition else stops[0].origin)


def graph_halts(body: FlowIR) -> list[str]:
    """A graph's ``halt_after``: the steps with an unconditional arrow to ``end`` (all arrows to
    ``end`` if none is unconditional; the walk also stops where no transition matches)."""
    unconditional = [u for u, v, edge in body.transitions() if v == HALT and edge.condition is None]
    return list(dict.fromkeys(unconditional)) or list(body.halts)


def graph_writes(runnable: RunnableGraph) -> list[str]:
    """What a graph used as a step writes back: everything its actions declare they write."""
    return sorted({key for action in runnable.graph.actions for key in action.writes})


def branch_labels(branches: Sequence[MapBranch], made: Sequence[Any]) -> tuple[BranchLabel, ...]:
    """What each branch of a map is, for the note on a failed branch: its ``.flow`` name, kind
    and span, and the name of what was built for it (``made``, in the same order)."""
    return tuple(
        BranchLabel(b.name, "graph" if isinstance(b.step, GraphNode) else "action", b.span, m.name)
        for b, m in zip(branches, made, strict=True)
    )


def map_reads(node: MapNode) -> list[str]:
    """What a map reads from the parent state: its item list's key and its branches' reads
    that are not the item variable."""
    found: list[str] = []
    if node.items is not None:
        source = node.items.source
        key = getattr(source, "key", None)
        if key is not None:
            found.append(key.name)
    var = node.items.var.name if node.items is not None else None
    for branch in node.branches:
        step = branch.step
        if isinstance(step, ActionNode):
            for key in step.reads:
                if key.name != var:
                    found.append(key.name)
    return list(dict.fromkeys(found))


def failure_policy(options: IRMapOptions) -> FailurePolicy:
    if options.tolerate_count is not None:
        return FailurePolicy.tolerate(options.tolerate_count)
    if options.tolerate_fraction is not None:
        return FailurePolicy.tolerate_ratio(options.tolerate_fraction)
    return FailurePolicy.fail_fast()


def retry_values(spec: RetrySpec) -> tuple[Any, ...]:
    """What a ``retry`` option says, without where it was written."""
    return (spec.attempts, spec.backoff_seconds, spec.jitter_seconds, spec.jitter_fraction)


def retry(options: IRMapOptions) -> Retry | None:
    """``retry N backoff D jitter J``: N *extra* attempts (``Retry.attempts`` counts all), first
    delay D doubling, jitter as a fraction of the delay (``jitter 100ms`` over ``backoff 0.5s`` is
    0.2). The doubling is not capped below what N attempts reach (``Retry``'s own default cap,
    5 s, would cut ``backoff 30s`` short), only at the longest wait a thread can make."""
    spec = options.retry
    if spec is None:
        return None
    delay = spec.backoff_seconds or 0.0
    if spec.jitter_fraction is not None:
        jitter = spec.jitter_fraction
    elif spec.jitter_seconds is not None and delay > 0:
        jitter = spec.jitter_seconds / delay
    else:
        jitter = 0.0
    longest = delay * 2.0 ** min(spec.attempts - 1, 1000)  # inf (no error) past a float
    max_delay = min(longest, threading.TIMEOUT_MAX / (1.0 + jitter))
    return Retry(attempts=spec.attempts + 1, base_delay=delay, max_delay=max_delay, jitter=jitter)


def builtin_reducer(spec: ReduceSpec) -> Callable[[Iterable[Any]], Any]:
    """The built-in reducer of a ``reduce`` line with its arguments bound: ``f(states)``."""
    function = reducers.BUILTIN_REDUCERS[spec.builtin or ""]
    return functools.partial(_fold, function, builtin_arguments(spec))


def _fold(function: Callable[..., Any], args: tuple[Any, ...], states: Iterable[Any]) -> Any:
    return function(states, *args)


def builtin_arguments(spec: ReduceSpec) -> tuple[Any, ...]:
    """The arguments after ``states`` of a built-in reducer call, as plain values."""
    args = spec.args or ()
    if spec.builtin == "count":
        return ()
    if spec.builtin == "records":
        return ({arg.name or _dotted(arg).rsplit(".", 1)[-1]: _dotted(arg) for arg in args},)
    return tuple(_dotted(arg) for arg in args)


def custom_arguments(spec: ReduceSpec) -> dict[str, Any]:
    """The keyword arguments bound to a custom reducer: literals as values, fields as paths."""
    return {
        arg.name or "": arg.value.to_python() if arg.value is not None else _dotted(arg)
        for arg in spec.args or ()
    }


def map_items(items: MapItems) -> Items:
    """Where a map's items come from, as a function of the parent state and the inputs."""
    source = items.source
    var = items.var.name
    if isinstance(source, ItemsFromState):
        return Items(var, functools.partial(_from_state, source.key.name))
    if isinstance(source, ItemsFromInput):
        name = source.input.name
        return Items(var, functools.partial(_from_input, name), input_name=name)
    if isinstance(source, ItemsLiteral):
        return Items(var, functools.partial(_constant, tuple(source.values.to_python())))
    if isinstance(source, ItemsRange):
        values = range(source.start, source.stop, source.step)
        return Items(var, functools.partial(_constant, values))
    raise FlowBuildError(
        "unknown item source", code=F_UNBUILDABLE, span=items.span, hints=("report this",)
    )


def _from_state(key: str, state: Any, inputs: Mapping[str, Any]) -> Any:
    return state[key]


def _from_input(name: str, state: Any, inputs: Mapping[str, Any]) -> Any:
    return inputs[name]


def _constant(values: Sequence[Any], state: Any, inputs: Mapping[str, Any]) -> Sequence[Any]:
    return values


def _dotted(arg: Any) -> str:
    if arg.field_path is None:
        return str(arg.value.to_python()) if arg.value is not None else ""
    return ".".join(arg.field_path)


def _custom(
    function: Callable[..., Any],
    bound: dict[str, Any],
    targets: tuple[str, ...],
    name: str,
    state: Any,
    states: list[Any],
) -> dict[str, Any]:
    return reducers.custom_result(function(state, states, **bound), targets, name)
