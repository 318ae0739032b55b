"""The flow IR: a networkx multigraph of steps and transitions, with typed, frozen attributes.

``lower`` builds it from the AST; checks read it; ``build``, ``emit`` and ``render`` consume it.
One ``FlowIR`` describes one scope — the whole flow, or the body of a ``graph`` (nested in its
``GraphNode``). Its nodes are the *steps* of that scope: every action, map and graph that appears
in one of its transitions, plus ``start`` (``EntryNode``) and ``end`` (``HaltNode``), and
``UnknownNode`` for a name that resolves to nothing (a check reports it). Declarations that no
transition uses are not nodes; they are listed in ``meta.declarations`` with all the others.

Each node's attributes are ``{"node": <frozen dataclass>}`` and each edge's are
``{"edge": Transition}``; the multigraph key of an edge is its ``order`` (0, 1, … among the
arrows leaving the same node, in source order). Everything is immutable, so networkx's shallow
``copy()`` is safe. Equality of IR values includes spans: an IR loaded from JSON equals the one
dumped. docs/compiler.md describes every attribute.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, TypeAlias

import networkx as nx

from flowc.compiler import ast
from flowc.errors import Diagnostic, Span
from flowc.runtime.expression import Expression
from flowc.runtime.expression.nodes import draft_class

ENTRY = ast.START
"""The node id of a scope's entry marker (``start -> x``)."""
HALT = ast.END
"""The node id of a scope's halt marker (``x -> end``)."""

IR_VERSION = 1

MapKind = ast.MapKind
Value: TypeAlias = ast.Value


class NodeKind(enum.Enum):
    ENTRY = "entry"
    HALT = "halt"
    ACTION = "action"
    GRAPH = "graph"
    MAP = "map"
    UNKNOWN = "unknown"


# ---- leaves -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """A state key (or runtime input) named in the file, with where it was named."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class CallableSpec:
    """A Python callable, resolved through the file's imports to ``module:name``.

    ``module`` is ``None`` when the name as written matched no import (a check reports it).
    ``written`` is the reference as it appears in the file (``query_llm``, ``pkg.mod:fn``).
    """

    module: str | None
    name: str
    written: str
    span: Span

    @property
    def qualified(self) -> str:
        return f"{self.module}:{self.name}" if self.module else self.name

    @property
    def resolved(self) -> bool:
        return self.module is not None


@dataclass(frozen=True, slots=True)
class BoundArg:
    """A bound parameter (``.bind(name=value)``); ``value`` is a literal AST value
    (``value.to_python()`` gives the Python object)."""

    name: str
    value: Value
    span: Span


# ---- nodes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryNode:
    """The ``start`` marker of a scope; its single successor is the entry point."""

    span: Span
    kind: NodeKind = field(default=NodeKind.ENTRY, init=False)

    @property
    def name(self) -> str:
        return ENTRY


@dataclass(frozen=True, slots=True)
class HaltNode:
    """The ``end`` marker; its predecessors are the scope's ``halt_after`` actions."""

    span: Span
    kind: NodeKind = field(default=NodeKind.HALT, init=False)

    @property
    def name(self) -> str:
        return HALT


@dataclass(frozen=True, slots=True)
class ActionNode:
    """One action: a callable with bound arguments, run under ``name`` (``.with_name``).

    ``reads``/``writes``/``inputs`` are what the .flow file declares; empty means "not declared
    here" (the callable's ``@action(reads=…, writes=…)`` may supply them). ``args`` are already
    merged when the action re-binds another one (``ask(model="o1") as o1`` in a map), whose
    name is then ``base``.
    """

    name: str
    callable: CallableSpec
    span: Span
    args: tuple[BoundArg, ...] = ()
    reads: tuple[Key, ...] = ()
    writes: tuple[Key, ...] = ()
    inputs: tuple[Key, ...] = ()
    base: str | None = None
    kind: NodeKind = field(default=NodeKind.ACTION, init=False)

    @property
    def read_keys(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.reads)

    @property
    def write_keys(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.writes)

    @property
    def input_keys(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.inputs)


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A subgraph (a ``RunnableGraph``): ``body`` is its own IR, with its own entry and halts.

    A graph imported from another .flow file keeps that file's schema and imports in
    ``body.meta``; its spans name that file.
    """

    name: str
    body: FlowIR = field(hash=False)
    span: Span
    kind: NodeKind = field(default=NodeKind.GRAPH, init=False)


@dataclass(frozen=True, slots=True)
class UnknownNode:
    """A transition endpoint that names nothing in scope (reported by ``check_names``)."""

    name: str
    span: Span
    kind: NodeKind = field(default=NodeKind.UNKNOWN, init=False)


# ---- map blocks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapBranch:
    """One branch of a map, as run: ``name`` is its runtime name (the alias, else the target).

    ``ref`` is the target as written. ``step`` is what it resolved to — an ``ActionNode``
    (a declared action, re-bound with the branch's ``args``, or a bare callable) or a
    ``GraphNode`` — or ``None`` when the name resolves to nothing (reported by a check).
    ``args`` are the branch's own bound arguments as written (already merged into ``step``).
    """

    name: str
    ref: str
    step: ActionNode | GraphNode | None
    span: Span
    args: tuple[BoundArg, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemsFromState:
    """``for x in key``: the items are the value of a state key."""

    key: Key
    span: Span


@dataclass(frozen=True, slots=True)
class ItemsFromInput:
    """``for x in input name``: the items are a runtime input."""

    input: Key
    span: Span


@dataclass(frozen=True, slots=True)
class ItemsLiteral:
    """``for x in [a, b]``: the items are written in the file (``values.to_python()``)."""

    values: ast.ListLiteral
    span: Span


@dataclass(frozen=True, slots=True)
class ItemsRange:
    """``for x in range(start, stop, step)``: integers, as Python's ``range``."""

    start: int
    stop: int
    step: int
    span: Span


ItemSource: TypeAlias = ItemsFromState | ItemsFromInput | ItemsLiteral | ItemsRange


@dataclass(frozen=True, slots=True)
class MapItems:
    """``for var in source``: each item is written to state key ``var`` of its branch."""

    var: Key
    source: ItemSource
    span: Span


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    """``executor threads 8`` (``kind`` one of threads/processes/dask/inline, ``callable``
    None) or ``executor pkg.mod:make "arg"`` (``kind`` "callable")."""

    kind: str
    span: Span
    callable: CallableSpec | None = None
    arg: ast.String | ast.Number | None = None


BUILTIN_EXECUTORS = frozenset({"threads", "processes", "dask", "inline"})


@dataclass(frozen=True, slots=True)
class TaskKeySpec:
    """``key field.path`` (a field of each branch's state) or ``key pkg.mod:fn``."""

    span: Span
    field_path: tuple[str, ...] | None = None
    callable: CallableSpec | None = None


@dataclass(frozen=True, slots=True)
class RetrySpec:
    """``retry N backoff D jitter J``: extra attempts, first delay in seconds (doubling), and
    jitter as seconds (``jitter_seconds``) or as a fraction of the delay (``jitter_fraction``)."""

    attempts: int
    span: Span
    backoff_seconds: float | None = None
    jitter_seconds: float | None = None
    jitter_fraction: float | None = None


@dataclass(frozen=True, slots=True)
class MapOptions:
    """A map's options; ``None`` where not written (runtime defaults apply).

    ``tolerate_count`` / ``tolerate_fraction``: failed branches allowed (``tolerate 3`` /
    ``tolerate 10%``); neither set means fail fast. ``spans`` maps each written option's keyword
    (``max_concurrency``, ``executor``, ``tolerate``, ``retry``, ``timeout``, ``first``, ``key``,
    ``tracker``, ``persister``) to where it was written.
    """

    max_concurrency: int | None = None
    executor: ExecutorSpec | None = None
    tolerate_count: int | None = None
    tolerate_fraction: float | None = None
    retry: RetrySpec | None = None
    timeout_seconds: float | None = None
    first_k: int | None = None
    task_key: TaskKeySpec | None = None
    tracker: str = "cascade"
    persister: str = "cascade"
    spans: tuple[tuple[str, Span], ...] = ()


_NO_OPTIONS = MapOptions()


@dataclass(frozen=True, slots=True)
class ReducerArg:
    """An argument of a reducer: a field path of the branch states (``field``), or a literal
    (``value``); ``name`` when written ``name=…`` (records' field names, custom parameters)."""

    span: Span
    name: str | None = None
    field_path: tuple[str, ...] | None = None
    value: Value | None = None

    @property
    def reads(self) -> str | None:
        """The top-level branch-state key this argument reads, if it reads one."""
        return self.field_path[0] if self.field_path else None


@dataclass(frozen=True, slots=True)
class ReduceSpec:
    """``reduce t1, t2 = reducer(args)``: a built-in (``builtin`` is its name) or a custom
    Python reducer (``callable``), writing exactly ``targets``. ``args`` is ``None`` when no
    parentheses were written."""

    targets: tuple[Key, ...]
    span: Span
    builtin: str | None = None
    callable: CallableSpec | None = None
    args: tuple[ReducerArg, ...] | None = None

    @property
    def target_keys(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.targets)

    @property
    def reads(self) -> tuple[str, ...]:
        """Top-level branch-state keys named in the arguments."""
        return tuple(arg.reads for arg in self.args or () if arg.reads)


@dataclass(frozen=True, slots=True)
class MapNode:
    """A map block: ``kind`` (states / actions / product) picks ``MapStates`` / ``MapActions`` /
    ``MapActionsAndStates``; ``items`` is ``None`` for a map over actions."""

    name: str
    map_kind: MapKind
    branches: tuple[MapBranch, ...]
    span: Span
    items: MapItems | None = None
    options: MapOptions = _NO_OPTIONS
    reduces: tuple[ReduceSpec, ...] = ()
    kind: NodeKind = field(default=NodeKind.MAP, init=False)

    @property
    def writes(self) -> tuple[str, ...]:
        """The state keys the map's reducers write (what the map writes to the parent state)."""
        return tuple(name for reduce in self.reduces for name in reduce.target_keys)


StepNode: TypeAlias = ActionNode | GraphNode | MapNode
IRNode: TypeAlias = EntryNode | HaltNode | ActionNode | GraphNode | MapNode | UnknownNode


# ---- edges ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionSpec:
    """A ``when`` condition: the expression-language node and its text as written."""

    expression: Expression
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Transition:
    """An arrow. ``order`` ranks it among the arrows leaving the same node (tried in that
    order); ``condition`` is ``None`` for a default (unconditional) arrow."""

    order: int
    span: Span
    condition: ConditionSpec | None = None

    @property
    def is_default(self) -> bool:
        return self.condition is None


# ---- drafts -----------------------------------------------------------------------------------
# Lowering makes an ActionNode, a CallableSpec, bound arguments and keys per action and a
# Transition per arrow; these builders make them, and the map-block objects, as drafts (as
# ``ast.new_*`` does for the AST): an instance of a mutable class with the IR class's base and
# slots (``draft_class``), its fields set by plain attribute stores, which the interpreter
# specialises to direct slot writes, then given its real class by ``__class__`` assignment
# (CPython allows it only between classes of the same layout, and checks). The result is what
# the class's own ``__init__`` makes (same type, fields, equality, hash and repr, frozen from
# then on) at a third to two thirds of the cost: instructions per object, Key 2.9k -> 1.9k,
# ActionNode 8.8k -> 2.8k. test_ir.py compares each builder with ``__init__``.

_KeyDraft = draft_class(Key)
_CallableSpecDraft = draft_class(CallableSpec)
_BoundArgDraft = draft_class(BoundArg)
_ActionNodeDraft = draft_class(ActionNode)
_MapBranchDraft = draft_class(MapBranch)
_ItemsFromStateDraft = draft_class(ItemsFromState)
_MapItemsDraft = draft_class(MapItems)
_RetrySpecDraft = draft_class(RetrySpec)
_MapOptionsDraft = draft_class(MapOptions)
_ReduceSpecDraft = draft_class(ReduceSpec)
_MapNodeDraft = draft_class(MapNode)
_ConditionSpecDraft = draft_class(ConditionSpec)
_TransitionDraft = draft_class(Transition)
_ACTION, _MAP = NodeKind.ACTION, NodeKind.MAP  # the ``kind`` the class's ``__init__`` sets


def new_key(name: str, span: Span) -> Key:
    node = _KeyDraft()
    node.name = name
    node.span = span
    node.__class__ = Key
    return node


def new_keys(names: tuple[ast.Name, ...]) -> tuple[Key, ...]:
    """A ``new_key`` for each of ``names`` (the value and span of each), in one frame: an
    action names a key or two in each of its clauses, and a call per key cost more than the
    key."""
    if not names:
        return ()
    keys = []
    for written in names:
        node = _KeyDraft()
        node.name = written.value
        node.span = written.span
        node.__class__ = Key
        keys.append(node)
    return tuple(keys)


def new_callable_spec(module: str | None, name: str, written: str, span: Span) -> CallableSpec:
    node = _CallableSpecDraft()
    node.module = module
    node.name = name
    node.written = written
    node.span = span
    node.__class__ = CallableSpec
    return node


def new_bound_args(arguments: tuple[ast.Argument, ...]) -> tuple[BoundArg, ...]:
    """The bound arguments ``arguments`` write (the name's value, the value and the span of
    each), in one frame, as ``new_keys``."""
    if not arguments:
        return ()
    bound = []
    for argument in arguments:
        node = _BoundArgDraft()
        node.name = argument.name.value
        node.value = argument.value
        node.span = argument.span
        node.__class__ = BoundArg
        bound.append(node)
    return tuple(bound)


def new_action_node(
    name: str,
    callable: CallableSpec,
    span: Span,
    args: tuple[BoundArg, ...] = (),
    reads: tuple[Key, ...] = (),
    writes: tuple[Key, ...] = (),
    inputs: tuple[Key, ...] = (),
    base: str | None = None,
) -> ActionNode:
    node = _ActionNodeDraft()
    node.name = name
    node.callable = callable
    node.span = span
    node.args = args
    node.reads = reads
    node.writes = writes
    node.inputs = inputs
    node.base = base
    node.kind = _ACTION
    node.__class__ = ActionNode
    return node


def new_map_branch(
    name: str,
    ref: str,
    step: ActionNode | GraphNode | None,
    span: Span,
    args: tuple[BoundArg, ...] = (),
) -> MapBranch:
    node = _MapBranchDraft()
    node.name = name
    node.ref = ref
    node.step = step
    node.span = span
    node.args = args
    node.__class__ = MapBranch
    return node


def new_items_from_state(key: Key, span: Span) -> ItemsFromState:
    node = _ItemsFromStateDraft()
    node.key = key
    node.span = span
    node.__class__ = ItemsFromState
    return node


def new_map_items(var: Key, source: ItemSource, span: Span) -> MapItems:
    node = _MapItemsDraft()
    node.var = var
    node.source = source
    node.span = span
    node.__class__ = MapItems
    return node


def new_retry_spec(
    attempts: int,
    span: Span,
    backoff_seconds: float | None = None,
    jitter_seconds: float | None = None,
    jitter_fraction: float | None = None,
) -> RetrySpec:
    node = _RetrySpecDraft()
    node.attempts = attempts
    node.span = span
    node.backoff_seconds = backoff_seconds
    node.jitter_seconds = jitter_seconds
    node.jitter_fraction = jitter_fraction
    node.__class__ = RetrySpec
    return node


def new_map_options(
    max_concurrency: int | None = None,
    executor: ExecutorSpec | None = None,
    tolerate_count: int | None = None,
    tolerate_fraction: float | None = None,
    retry: RetrySpec | None = None,
    timeout_seconds: float | None = None,
    first_k: int | None = None,
    task_key: TaskKeySpec | None = None,
    tracker: str = "cascade",
    persister: str = "cascade",
    spans: tuple[tuple[str, Span], ...] = (),
) -> MapOptions:
    node = _MapOptionsDraft()
    node.max_concurrency = max_concurrency
    node.executor = executor
    node.tolerate_count = tolerate_count
    node.tolerate_fraction = tolerate_fraction
    node.retry = retry
    node.timeout_seconds = timeout_seconds
    node.first_k = first_k
    node.task_key = task_key
    node.tracker = tracker
    node.persister = persister
    node.spans = spans
    node.__class__ = MapOptions
    return node


def new_reduce_spec(
    targets: tuple[Key, ...],
    span: Span,
    builtin: str | None = None,
    callable: CallableSpec | None = None,
    args: tuple[ReducerArg, ...] | None = None,
) -> ReduceSpec:
    node = _ReduceSpecDraft()
    node.targets = targets
    node.span = span
    node.builtin = builtin
    node.callable = callable
    node.args = args
    node.__class__ = ReduceSpec
    return node


def new_map_node(
    name: str,
    map_kind: MapKind,
    branches: tuple[MapBranch, ...],
    span: Span,
    items: MapItems | None = None,
    options: MapOptions = _NO_OPTIONS,
    reduces: tuple[ReduceSpec, ...] = (),
) -> MapNode:
    node = _MapNodeDraft()
    node.name = name
    node.map_kind = map_kind
    node.branches = branches
    node.span = span
    node.items = items
    node.options = options
    node.reduces = reduces
    node.kind = _MAP
    node.__class__ = MapNode
    return node


def new_condition_spec(expression: Expression, text: str, span: Span) -> ConditionSpec:
    node = _ConditionSpecDraft()
    node.expression = expression
    node.text = text
    node.span = span
    node.__class__ = ConditionSpec
    return node


def new_transition(order: int, span: Span, condition: ConditionSpec | None = None) -> Transition:
    node = _TransitionDraft()
    node.order = order
    node.span = span
    node.condition = condition
    node.__class__ = Transition
    return node


# ---- scope metadata ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateFieldSpec:
    """A field of the state schema; ``default`` is ``None`` when none was written (the key starts
    unset). ``type`` is the AST type reference (``str(type)`` prints it)."""

    name: str
    type: ast.TypeRef
    span: Span
    default: Value | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not None


@dataclass(frozen=True, slots=True)
class PythonImport:
    """``from module import name as local``."""

    module: str
    name: str
    local: str
    span: Span


@dataclass(frozen=True, slots=True)
class FlowImport:
    """``from "path.flow" import name as local``; ``path`` as written, ``resolved`` the file read
    (relative to the importing file). The imported graph is a declaration of the scope."""

    path: str
    resolved: str
    name: str
    local: str
    span: Span


Import: TypeAlias = PythonImport | FlowImport
Declaration: TypeAlias = ActionNode | GraphNode | MapNode


@dataclass(frozen=True, slots=True)
class FlowMeta:
    """What a scope knows besides its steps.

    ``declarations``: every action, graph and map declared in this scope (and graphs imported
    from .flow files, at the top level), in source order, duplicates included (the first one
    wins). ``schema`` and ``imports`` are the file's (shared by its nested graphs).
    ``problems``: diagnostics found while lowering (an imported .flow file that is missing, does
    not parse, or imports in a cycle), reported by the first check.
    """

    name: str | None
    span: Span
    schema: tuple[StateFieldSpec, ...] = ()
    imports: tuple[Import, ...] = ()
    declarations: tuple[Declaration, ...] = field(default=(), hash=False)
    problems: tuple[Diagnostic, ...] = ()

    @property
    def file(self) -> str:
        return self.span.file

    def state_field(self, name: str) -> StateFieldSpec | None:
        for spec in self.schema:
            if spec.name == name:
                return spec
        return None


# ---- the graph --------------------------------------------------------------------------------


class FlowIR(nx.MultiDiGraph):
    """One scope of a flow as a networkx ``MultiDiGraph`` (a ``DiGraph`` subclass).

    Node ids are step names (``start``/``end`` for the markers); ``ir.nodes[n]["node"]`` is the
    frozen node, ``ir.edges[u, v, order]["edge"]`` the frozen ``Transition``; ``ir.graph["meta"]``
    the ``FlowMeta``. Use the typed accessors below rather than raw attribute dicts.
    """

    # -- construction --

    def add_step(self, node: IRNode) -> None:
        """Add a node under its name (replacing nothing: the first node of a name stays)."""
        if node.name not in self:
            self.add_node(node.name, node=node)

    def add_transition(self, source: str, target: str, edge: Transition) -> None:
        self.add_edge(source, target, key=edge.order, edge=edge)

    def add_steps_and_arrows(
        self, steps: Mapping[str, IRNode], arrows: Iterable[tuple[str, str, Transition]]
    ) -> None:
        """``add_step`` for each of ``steps`` (by name), then ``add_transition`` for each arrow
        ``(source, target, transition)``, in order, written straight into networkx's dicts:
        the same graph, dict for dict and in the same order, each arrow's key dict shared by
        its source's successors and its target's predecessors as networkx shares it. Lowering
        adds each scope this way: networkx's ``add_node`` and ``add_edge`` cost 7.7k and 9.5k
        instructions a call (a quarter of lowering), these writes about a tenth of that. Every
        endpoint must be a step (of ``steps`` or already in the graph) and each source's orders
        distinct; tests/compiler/test_ir.py compares the result with the public calls'."""
        successors, predecessors, attributes = self._succ, self._pred, self._node
        # On an empty graph the arrow table comes almost free: each row in the order the arrows
        # come, kept if every arrow's order is its place in its row (as lowering gives them).
        table = {name: [] for name in steps} if not successors else None
        in_order = table is not None
        for name, step in steps.items():
            if name not in successors:
                successors[name] = {}
                predecessors[name] = {}
                attributes[name] = {"node": step}
        for source, target, edge in arrows:
            keyed = successors[source].get(target)
            if keyed is None:
                keyed = successors[source][target] = predecessors[target][source] = {}
            keyed[edge.order] = {"edge": edge}
            if in_order:
                row = table[source]  # type: ignore[index]
                in_order = edge.order == len(row)
                row.append((target, edge))
        nx._clear_cache(self)
        if in_order:
            self.__networkx_cache__[_ARROW_TABLE] = table

    # -- reading --

    @property
    def meta(self) -> FlowMeta:
        return self.graph["meta"]

    def node_of(self, name: str) -> IRNode:
        return self.nodes[name]["node"]

    def steps(self) -> list[StepNode | UnknownNode]:
        """Every node except the entry and halt markers, in insertion order."""
        return [data["node"] for name, data in self._node.items() if name != ENTRY and name != HALT]

    def transitions(self) -> Iterator[tuple[str, str, Transition]]:
        """Every arrow as ``(source, target, transition)``, grouped by source, in order."""
        for source in self.nodes:
            yield from self.outgoing(source)

    def arrow_table(self) -> dict[str, list[tuple[str, Transition]]]:
        """Every node's outgoing arrows as ``(target, transition)`` in the order they are tried,
        for all nodes at once (in node order): what a pass over every arrow reads once instead
        of calling ``outgoing`` per node. Made once (by ``add_steps_and_arrows`` on an empty
        graph, else on first use) and kept in networkx's cache of the graph, which networkx
        clears on every change made through its methods: the checks and the build read the
        same table, so read it, do not change it."""
        cache = getattr(self, "__networkx_cache__", None)
        table: dict[str, list[tuple[str, Transition]]] | None = (
            None if cache is None else cache.get(_ARROW_TABLE)
        )
        if table is not None:
            return table
        table = {}
        for source, targets in self._succ.items():
            arrows = []  # plain loops: a comprehension per node cost more than its arrows
            for target, keyed in targets.items():
                for data in keyed.values():
                    arrows.append((target, data["edge"]))
            if len(arrows) > 1:
                arrows.sort(key=_order_of_arrow)
            table[source] = arrows
        if cache is not None:
            cache[_ARROW_TABLE] = table
        return table

    def outgoing(self, source: str) -> list[tuple[str, str, Transition]]:
        """The arrows leaving ``source`` in the order they are tried."""
        arrows = [
            (source, target, data["edge"])
            for target, keyed in self._succ[source].items()
            for data in keyed.values()
        ]
        if len(arrows) > 1:
            arrows.sort(key=lambda arrow: arrow[2].order)
        return arrows

    @property
    def entry(self) -> str | None:
        """The step ``start`` leads to (the first, if several were written)."""
        if ENTRY not in self:
            return None
        arrows = self.outgoing(ENTRY)
        return arrows[0][1] if arrows else None

    @property
    def halts(self) -> tuple[str, ...]:
        """The steps with an arrow to ``end`` (``halt_after``), in insertion order."""
        if HALT not in self:
            return ()
        before = set(self.predecessors(HALT))
        return tuple(name for name in self.nodes if name in before)

    def declaration(self, name: str) -> Declaration | None:
        """The first declaration of ``name`` in this scope."""
        for declared in self.meta.declarations:
            if declared.name == name:
                return declared
        return None

    # -- comparison --

    def same_as(self, other: object) -> bool:
        """Structural equality, spans included: meta, nodes and edges (with their order)."""
        if not isinstance(other, FlowIR):
            return False
        if self.graph.get("meta") != other.graph.get("meta"):
            return False
        if _declarations(self) != _declarations(other):
            return False
        if list(self.nodes) != list(other.nodes):
            return False
        if any(self.node_of(n) != other.node_of(n) for n in self.nodes):
            return False
        return sorted(_edge_rows(self)) == sorted(_edge_rows(other))

    def __eq__(self, other: object) -> bool:
        return self.same_as(other)

    __hash__ = object.__hash__  # identity: a graph is mutable while it is being built


_ARROW_TABLE = "flowc.arrow_table"
"""The arrow table's key in ``FlowIR.__networkx_cache__``."""


def _order_of_arrow(arrow: tuple[str, Transition]) -> int:
    return arrow[1].order


def _declarations(ir: FlowIR) -> tuple[Declaration, ...]:
    meta = ir.graph.get("meta")
    return meta.declarations if meta else ()


def _edge_rows(ir: FlowIR) -> list[tuple[str, str, int, Transition]]:
    return [(u, v, k, d["edge"]) for u, v, k, d in ir.edges(keys=True, data=True)]


# ---- walking and invariants -------------------------------------------------------------------


def iter_scopes(ir: FlowIR) -> Iterator[tuple[tuple[str, ...], FlowIR]]:
    """``ir`` and every nested graph body (declared or used as a map branch), with the path of
    graph names leading to it; each body once."""
    seen: set[int] = set()

    def visit(path: tuple[str, ...], scope: FlowIR) -> Iterator[tuple[tuple[str, ...], FlowIR]]:
        if id(scope) in seen:
            return
        seen.add(id(scope))
        yield path, scope
        for graph in nested_graphs(scope):
            yield from visit((*path, graph.name), graph.body)

    yield from visit((), ir)


def nested_graphs(ir: FlowIR) -> Iterator[GraphNode]:
    """The graph nodes directly inside ``ir``: steps, declarations and map branches."""
    nodes = [data.get("node") for data in ir._node.values()]
    for node in (*nodes, *ir.meta.declarations):
        kind = type(node)
        if kind is GraphNode:
            yield node
        elif kind is MapNode:
            for branch in node.branches:
                if type(branch.step) is GraphNode:
                    yield branch.step


def iter_spans(value: Any) -> Iterator[tuple[str, Span | None]]:
    """Every ``span`` inside an IR value (a dataclass, tuple or FlowIR), with a path to it: what
    the JSON round-trip test compares and what ``validate_ir`` checks is never missing."""
    if isinstance(value, FlowIR):
        yield from iter_spans_of_ir(value)
    elif isinstance(value, Expression):
        return
    elif is_dataclass(value) and not isinstance(value, type):
        for item in fields(value):
            child = getattr(value, item.name)
            if item.name == "span":
                yield type(value).__name__, child
            elif isinstance(child, FlowIR):
                continue  # nested bodies are visited as scopes by iter_spans_of_ir
            else:
                for path, span in iter_spans(child):
                    yield f"{type(value).__name__}.{item.name}/{path}", span
    elif isinstance(value, tuple):
        for index, child in enumerate(value):
            for path, span in iter_spans(child):
                yield f"[{index}]/{path}", span


def iter_spans_of_ir(ir: FlowIR) -> Iterator[tuple[str, Span | None]]:
    for path, scope in iter_scopes(ir):
        prefix = "/".join(path) or "<flow>"
        yield from ((f"{prefix}:meta/{p}", s) for p, s in iter_spans(scope.meta))
        for name, data in scope.nodes(data=True):
            node = data.get("node")
            yield from ((f"{prefix}:{name}/{p}", s) for p, s in iter_spans(node))
        for u, v, edge in scope.transitions():
            yield from ((f"{prefix}:{u}->{v}/{p}", s) for p, s in iter_spans(edge))


def validate_ir(ir: FlowIR) -> list[str]:
    """Invariants every IR keeps after every pass (tests assert the list is empty): a meta on
    every scope; node ids equal node names; each edge's key is its order and orders leaving a
    node are 0..n-1; every span present."""
    problems: list[str] = []
    for path, scope in iter_scopes(ir):
        where = "/".join(path) or "<flow>"
        if not isinstance(scope.graph.get("meta"), FlowMeta):
            problems.append(f"{where}: no FlowMeta")
            continue
        for name, data in scope.nodes(data=True):
            node = data.get("node")
            if node is None or node.name != name:
                problems.append(f"{where}: node {name!r} has no matching 'node' attribute")
        for source in scope.nodes:
            orders = [key for _, _, key in scope.out_edges(source, keys=True)]
            if sorted(orders) != list(range(len(orders))):
                problems.append(f"{where}: arrows from {source!r} have orders {sorted(orders)}")
            for _, _, key, data in scope.out_edges(source, keys=True, data=True):
                edge = data.get("edge")
                if not isinstance(edge, Transition) or edge.order != key:
                    problems.append(f"{where}: arrow {source!r} #{key} has no matching edge")
    problems.extend(f"missing span at {path}" for path, span in iter_spans(ir) if span is None)
    return problems
