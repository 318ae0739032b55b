"""The typed AST of a .flow file: what the parser produces and the compiler lowers to the IR.

Every node is a frozen, slotted dataclass whose ``span`` is excluded from equality, so two parses
of differently laid-out text compare equal when they mean the same thing (``parse(fmt(x)) ==
parse(x)``). Class names are the CamelCase of the grammar rules in ``flowc/grammar/flow.lark``;
the exceptions are documented on the class (``Number`` yields ``Duration``/``Percent`` where a unit
is written, names and keys are ``Name`` tokens). Nodes hold tuples, never lists, so they hash.

A module is a sequence of statements in source order; ``Module`` offers typed views
(``actions``, ``graphs``, ``maps``, ``transitions`` …) so the compiler need not filter by type.
Conditions are nodes of the runtime's expression language (``flowc.runtime.expression``).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, TypeAlias, TypeVar

from flowc.errors import Span
from flowc.runtime.expression import Expression
from flowc.runtime.expression.nodes import draft_class

NOWHERE = Span("<generated>", 1, 1)

START = "start"
END = "end"

BUILTIN_REDUCERS = frozenset(
    {"collect", "records", "to_dict", "sum", "count", "min", "max", "concat", "first", "merge"}
)
"""Reducers written by bare name; anything else (or any ``module:function``) is a custom one."""

BUILTIN_REDUCER_ARITY: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "collect": (1, 1),
        "records": (1, 64),
        "to_dict": (2, 2),
        "sum": (1, 1),
        "count": (0, 0),
        "min": (1, 1),
        "max": (1, 1),
        "concat": (1, 1),
        "first": (1, 1),
        "merge": (1, 1),
    }
)
"""The fewest and most fields each built-in reducer takes (the parser's one table)."""

DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
LONGEST_DURATION_S = threading.TIMEOUT_MAX
"""The longest duration a timeout or backoff may be: what a thread can wait for (~292 years)."""


def waitable(amount: float, unit: str) -> bool:
    """Whether ``amount`` of ``unit`` (a key of ``DURATION_UNITS``) is a wait a thread can make;
    ``1e999s`` is not (F106), nor is anything past ``LONGEST_DURATION_S``."""
    return amount * DURATION_UNITS[unit] <= LONGEST_DURATION_S


# ---- leaves -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Name:
    """An identifier as written (a declared name, a state key, a reference), with its span."""

    value: str
    span: Span = field(default=NOWHERE, compare=False)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``# …`` comment; the formatter puts it back next to the statement it preceded."""

    text: str
    span: Span = field(default=NOWHERE, compare=False)


# ---- literal values ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class String:
    """A string literal (escapes already resolved)."""

    value: str
    span: Span = field(default=NOWHERE, compare=False)

    def to_python(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Number:
    """An int or float literal with no unit."""

    value: int | float
    span: Span = field(default=NOWHERE, compare=False)

    def to_python(self) -> int | float:
        return self.value


CONSTANT_WORDS: Mapping[str, bool | None] = MappingProxyType(
    {"True": True, "False": False, "None": None, "true": True, "false": False, "none": None}
)
"""The words of the grammar's ``constant`` rule and their values (the parser's one table)."""


@dataclass(frozen=True, slots=True)
class Constant:
    """``True``/``False``/``None`` (also accepted lower-case: ``true``, ``false``, ``none``)."""

    value: bool | None
    span: Span = field(default=NOWHERE, compare=False)

    def to_python(self) -> bool | None:
        return self.value


@dataclass(frozen=True, slots=True)
class ListLiteral:
    """``[a, b, …]`` of literal values."""

    items: tuple[Value, ...]
    span: Span = field(default=NOWHERE, compare=False)

    def to_python(self) -> list[Any]:
        return [item.to_python() for item in self.items]


@dataclass(frozen=True, slots=True)
class DictEntry:
    """One ``key: value`` pair of a dict literal; keys are strings or numbers."""

    key: String | Number
    value: Value
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class DictLiteral:
    """``{"k": v, …}`` of literal values."""

    entries: tuple[DictEntry, ...]
    span: Span = field(default=NOWHERE, compare=False)

    def to_python(self) -> dict[Any, Any]:
        return {entry.key.to_python(): entry.value.to_python() for entry in self.entries}


Value: TypeAlias = String | Number | Constant | ListLiteral | DictLiteral


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time as written (``250ms``, ``0.5s``, ``2m``, ``1h``); from a ``number``."""

    amount: int | float
    unit: str
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def seconds(self) -> float:
        return self.amount * DURATION_UNITS[self.unit]


@dataclass(frozen=True, slots=True)
class Percent:
    """A share written ``10%``; from a ``number``. ``fraction`` is 0.1 for ``10%``."""

    amount: int | float
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def fraction(self) -> float:
        return self.amount / 100


# ---- references -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallableRef:
    """``name`` (imported or declared in the file) or ``package.module:function``."""

    name: str
    module: str | None = None
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def qualified(self) -> str:
        return f"{self.module}:{self.name}" if self.module else self.name

    def __str__(self) -> str:
        return self.qualified


@dataclass(frozen=True, slots=True)
class Argument:
    """A bound parameter ``name=value``, as ``.bind(name=value)`` on the reference page."""

    name: Name
    value: Value
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A state key, optionally followed by attribute/key steps: ``answer.score``."""

    parts: tuple[str, ...]
    span: Span = field(default=NOWHERE, compare=False)

    def __str__(self) -> str:
        return ".".join(self.parts)


# ---- header, imports, state -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowHeader:
    """``flow NAME``: the flow's name (optional, first statement)."""

    name: Name
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class ModulePath:
    """A dotted Python module path in ``from package.module import …``."""

    dotted: str
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class FlowPath:
    """A quoted ``.flow`` path in ``from "lib/riddles.flow" import …``, relative to the file."""

    path: str
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class ImportName:
    """One imported name, optionally renamed: ``query_llm as ask``."""

    name: Name
    alias: Name | None = None
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def local(self) -> str:
        """The name this import binds in the file."""
        return (self.alias or self.name).value


@dataclass(frozen=True, slots=True)
class ImportFrom:
    """``from <module or "file.flow"> import a, b as c``. From a Python module the names are
    callables (actions, reducers, executors, key functions) or pydantic models; from a .flow file
    they are that file's graphs (``flow``-level actions and graphs)."""

    source: ModulePath | FlowPath
    names: tuple[ImportName, ...]
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A field type: ``str``, ``int``, ``float``, ``bool``, ``any``, ``list[T]``, ``dict[K, V]``,
    ``optional[T]`` or the name of an imported pydantic model."""

    name: Name
    args: tuple[TypeRef, ...] = ()
    span: Span = field(default=NOWHERE, compare=False)

    def __str__(self) -> str:
        inner = ", ".join(map(str, self.args))
        return f"{self.name}[{inner}]" if self.args else str(self.name)


@dataclass(frozen=True, slots=True)
class StateField:
    """``name: type = default``; without a default the key starts unset."""

    name: Name
    type: TypeRef
    default: Value | None = None
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class StateBlock:
    """``state { … }``: the state schema."""

    fields: tuple[StateField, ...]
    span: Span = field(default=NOWHERE, compare=False)


# ---- actions, graphs, transitions -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionDecl:
    """``action NAME = callable(params) reads … writes … inputs …``.

    ``reads``/``writes`` are state keys; ``inputs`` are runtime inputs the caller passes. Empty
    tuples mean "not declared here" (the callable's ``@action`` declaration may supply them).
    """

    name: Name
    target: CallableRef
    args: tuple[Argument, ...] = ()
    reads: tuple[Name, ...] = ()
    writes: tuple[Name, ...] = ()
    inputs: tuple[Name, ...] = ()
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Condition:
    """The condition after ``when``: the expression language's node, and the text as written."""

    expression: Expression
    text: str = field(default="", compare=False)
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of an arrow: an action, graph or map name, or ``start`` / ``end``."""

    name: str
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def is_start(self) -> bool:
        return self.name == START

    @property
    def is_end(self) -> bool:
        return self.name == END


@dataclass(frozen=True, slots=True)
class Transition:
    """``a -> b [when cond]`` or a chain ``start -> a -> b -> end`` (chains take no condition).

    ``start -> x`` makes ``x`` the entry; ``x -> end`` makes ``x`` a halting action (its graph's
    ``halt_after``). Without ``when`` an arrow is the default; arrows from one source are tried
    in source order.
    """

    path: tuple[Endpoint, ...]
    condition: Condition | None = None
    span: Span = field(default=NOWHERE, compare=False)

    def edges(self) -> Iterator[tuple[Endpoint, Endpoint]]:
        """The arrows of the chain, in order."""
        return zip(self.path, self.path[1:])  # noqa: B905 - lengths differ by one on purpose


@dataclass(frozen=True, slots=True)
class GraphDecl:
    """``graph NAME { … }``: a subgraph usable wherever an action is (a ``RunnableGraph``).

    Its body declares local actions, graphs, maps and transitions; ``start -> x`` inside names
    the entry and ``x -> end`` its ``halt_after`` actions.
    """

    name: Name
    body: tuple[BodyStatement, ...]
    span: Span = field(default=NOWHERE, compare=False)


# ---- map blocks -------------------------------------------------------------------------------


class MapKind(enum.Enum):
    """Which runtime class a map becomes."""

    STATES = "states"  # one branch over many items: MapStates
    ACTIONS = "actions"  # many branches over one state: MapActions
    PRODUCT = "product"  # many branches × many items: MapActionsAndStates


@dataclass(frozen=True, slots=True)
class Branch:
    """A map branch: an action, graph or callable, optionally re-bound and renamed:
    ``ask(model="o1") as o1``. ``name`` is what the branch is called at run time."""

    target: CallableRef
    args: tuple[Argument, ...] = ()
    alias: Name | None = None
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def name(self) -> str:
        return self.alias.value if self.alias else self.target.name


@dataclass(frozen=True, slots=True)
class BranchList:
    """``[a, b as c, …]``: the branches of a map over actions or of a product."""

    branches: tuple[Branch, ...]
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class StateItems:
    """Items from a state key: ``for prompt in prompts``."""

    key: Name
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class InputItems:
    """Items from a runtime input: ``for prompt in input prompts``."""

    input: Name
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class LiteralItems:
    """Items written in the file: ``for model in ["gpt-4", "o1"]``."""

    items: ListLiteral
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class RangeItems:
    """Integers as Python's ``range``: ``for seed in range(5)``, ``range(1, 10, 2)``."""

    start: int
    stop: int
    step: int = 1
    span: Span = field(default=NOWHERE, compare=False)


ItemSource: TypeAlias = StateItems | InputItems | LiteralItems | RangeItems


@dataclass(frozen=True, slots=True)
class ForClause:
    """``for NAME in SOURCE``: each item is written to state key ``NAME`` of its branch."""

    var: Name
    source: ItemSource
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class MaxConcurrency:
    """``max_concurrency N``: at most N branches of this map run at once."""

    value: int
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Executor:
    """``executor threads 8`` / ``executor dask "tcp://host:8786"`` / ``executor pkg.mod:make``:
    a built-in executor kind (``threads``, ``processes``, ``dask``, ``inline``) or a callable
    returning a ``concurrent.futures.Executor``, with an optional argument."""

    target: CallableRef
    arg: String | Number | None = None
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Tolerate:
    """``tolerate 3`` or ``tolerate 10%``: failed branches allowed before the map fails.
    Without it a map fails fast."""

    limit: int | Percent
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Retry:
    """``retry 3 backoff 0.5s jitter 100ms``: extra attempts per branch, the first delay (doubled
    after each attempt) and the random jitter added (a duration or a percentage of the delay)."""

    attempts: int
    backoff: Duration | None = None
    jitter: Duration | Percent | None = None
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Timeout:
    """``timeout 30s``: the longest one branch attempt may run."""

    duration: Duration
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class FirstK:
    """``first 3``: finish once 3 branches succeeded and cancel the rest (``first 1``: a race)."""

    count: int
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class TaskKey:
    """``key prompt`` (a field of each branch's state) or ``key pkg.mod:function`` (a key
    function): stable task ids instead of positions."""

    key: FieldPath | CallableRef
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Tracker:
    """``tracker cascade`` (default: children use the parent's tracker) or ``tracker none``."""

    mode: str
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Persister:
    """``persister cascade`` (default: children use the parent's persister and loader) or
    ``persister none``."""

    mode: str
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class ReducerArg:
    """An argument of a reducer: a field of the branch states (``llm_output``), a named field
    (``output=llm_output``, for ``records``) or a literal (for custom reducers' parameters)."""

    value: FieldPath | Value
    name: Name | None = None
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Reduce:
    """``reduce KEY[, KEY…] = reducer(args)``: fold the branches' final states into ``targets``.

    A bare name in ``BUILTIN_REDUCERS`` is a built-in; anything else is a custom Python reducer
    ``(state, states) -> State`` (or one taking the listed parameters), which must write exactly
    ``targets``. ``args`` is ``None`` when no parentheses were written.
    """

    targets: tuple[Name, ...]
    reducer: CallableRef
    args: tuple[ReducerArg, ...] | None = None
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def builtin(self) -> bool:
        return self.reducer.module is None and self.reducer.name in BUILTIN_REDUCERS


MapOption: TypeAlias = (
    MaxConcurrency | Executor | Tolerate | Retry | Timeout | FirstK | TaskKey | Tracker | Persister
)


@dataclass(frozen=True, slots=True)
class MapSettings:
    """A map's options gathered by kind (``None`` where not written; runtime defaults apply)."""

    max_concurrency: int | None = None
    executor: Executor | None = None
    tolerate: int | Percent | None = None
    retry: Retry | None = None
    timeout: Duration | None = None
    first_k: int | None = None
    task_key: FieldPath | CallableRef | None = None
    tracker: str = "cascade"
    persister: str = "cascade"


@dataclass(frozen=True, slots=True)
class MapDecl:
    """``map NAME = branches [for VAR in SOURCE] { options; reduce … }``.

    ``kind``: one bare branch with ``for`` maps states; a ``[list]`` without ``for`` maps
    actions; a ``[list]`` with ``for`` is the product. ``options`` and ``reduces`` keep source
    order (the formatter prints them back in that order); ``settings`` gathers the options.
    """

    name: Name
    kind: MapKind
    branches: tuple[Branch, ...]
    items: ForClause | None = None
    options: tuple[MapOption, ...] = ()
    reduces: tuple[Reduce, ...] = ()
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def settings(self) -> MapSettings:
        values: dict[str, Any] = {}
        for option in self.options:
            match option:
                case MaxConcurrency(value=value):
                    values["max_concurrency"] = value
                case Executor():
                    values["executor"] = option
                case Tolerate(limit=limit):
                    values["tolerate"] = limit
                case Retry():
                    values["retry"] = option
                case Timeout(duration=duration):
                    values["timeout"] = duration
                case FirstK(count=count):
                    values["first_k"] = count
                case TaskKey(key=key):
                    values["task_key"] = key
                case Tracker(mode=mode):
                    values["tracker"] = mode
                case Persister(mode=mode):
                    values["persister"] = mode
        return MapSettings(**values)

    @property
    def writes(self) -> tuple[str, ...]:
        """The state keys the map's reducers write, in order."""
        return tuple(target.value for reduce in self.reduces for target in reduce.targets)


# ---- module -----------------------------------------------------------------------------------

BodyStatement: TypeAlias = ActionDecl | GraphDecl | MapDecl | Transition
Statement: TypeAlias = FlowHeader | ImportFrom | StateBlock | BodyStatement


@dataclass(frozen=True, slots=True)
class Module:
    """A whole .flow file: its statements in source order and its comments."""

    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...] = ()
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def name(self) -> str | None:
        """The name given by ``flow NAME``, if any."""
        for statement in self.statements:
            if isinstance(statement, FlowHeader):
                return statement.name.value
        return None

    @property
    def imports(self) -> tuple[ImportFrom, ...]:
        return tuple(s for s in self.statements if isinstance(s, ImportFrom))

    @property
    def state_fields(self) -> tuple[StateField, ...]:
        """The fields of every ``state`` block, in order."""
        return tuple(f for s in self.statements if isinstance(s, StateBlock) for f in s.fields)

    @property
    def actions(self) -> tuple[ActionDecl, ...]:
        return tuple(s for s in self.statements if isinstance(s, ActionDecl))

    @property
    def graphs(self) -> tuple[GraphDecl, ...]:
        return tuple(s for s in self.statements if isinstance(s, GraphDecl))

    @property
    def maps(self) -> tuple[MapDecl, ...]:
        return tuple(s for s in self.statements if isinstance(s, MapDecl))

    @property
    def transitions(self) -> tuple[Transition, ...]:
        return tuple(s for s in self.statements if isinstance(s, Transition))


Node: TypeAlias = Any  # any dataclass above; kept loose for the walkers below


def children(node: Node) -> Iterator[Node]:
    """The AST nodes directly inside ``node`` (for walkers and invariant tests)."""
    for name in getattr(node, "__dataclass_fields__", ()):
        if name == "span":
            continue
        value = getattr(node, name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if hasattr(item, "__dataclass_fields__") and not isinstance(item, Expression):
                yield item


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, depth first, in source order."""
    yield node
    for child in children(node):
        yield from walk(child)


# ---- construction for the parser's fast paths ------------------------------------------------

_T = TypeVar("_T")


def positional(cls: type[_T]) -> Callable[..., _T]:
    """A function building ``cls`` from all its fields, positionally, without ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; this sets
    the slots through their descriptors, in about two thirds of the instructions. The node is the
    one ``cls(*values)`` builds (these classes have no ``__post_init__``): same type, still frozen,
    equal, hashed and printed the same. ``flowc.compiler.line_statements`` builds every node of a
    plain line this way."""
    setters = [getattr(cls, f.name).__set__ for f in fields(cls)]  # type: ignore[arg-type]
    new = object.__new__
    if len(setters) == 2:
        set_first, set_second = setters

        def build_two(first: Any, second: Any) -> _T:
            node = new(cls)
            set_first(node, first)
            set_second(node, second)
            return node

        return build_two
    if len(setters) == 3:
        set_first, set_second, set_third = setters

        def build_three(first: Any, second: Any, third: Any) -> _T:
            node = new(cls)
            set_first(node, first)
            set_second(node, second)
            set_third(node, third)
            return node

        return build_three
    if len(setters) == 4:
        set_first, set_second, set_third, set_fourth = setters

        def build_four(first: Any, second: Any, third: Any, fourth: Any) -> _T:
            node = new(cls)
            set_first(node, first)
            set_second(node, second)
            set_third(node, third)
            set_fourth(node, fourth)
            return node

        return build_four
    if len(setters) == 7:  # ActionDecl, MapDecl: a loop over the setters costs twice as much
        set_1, set_2, set_3, set_4, set_5, set_6, set_7 = setters

        def build_seven(v1: Any, v2: Any, v3: Any, v4: Any, v5: Any, v6: Any, v7: Any) -> _T:
            node = new(cls)
            set_1(node, v1)
            set_2(node, v2)
            set_3(node, v3)
            set_4(node, v4)
            set_5(node, v5)
            set_6(node, v6)
            set_7(node, v7)
            return node

        return build_seven

    def build(*values: Any) -> _T:
        if len(values) != len(setters):
            raise TypeError(f"{cls.__name__} takes {len(setters)} values, not {len(values)}")
        node = new(cls)
        for setter, value in zip(setters, values, strict=True):
            setter(node, value)
        return node

    return build


# The commonest nodes of a large file (a plain action line makes 11, a transition 3) are built
# cheaper still, as drafts: an instance of a mutable class with the node class's base and slots,
# whose fields are set by plain attribute stores (which the interpreter specialises to a direct
# slot write), then given its real class by ``__class__`` assignment, which CPython allows only
# between classes of the same layout (and checks). The result is the node ``cls(*values)``
# builds: same type, fields, equality, hash and repr, frozen from then on. A two-field node costs
# 1.8k instructions this way (2.6k through ``positional``, 4.2k through ``__init__``), an
# ``ActionDecl`` 2.3k (6.1k, 12.1k). ``test_ast.py`` compares each with ``__init__``.


_NameDraft = draft_class(Name)
_CallableRefDraft = draft_class(CallableRef)
_ArgumentDraft = draft_class(Argument)
_StringDraft = draft_class(String)
_NumberDraft = draft_class(Number)
_ConstantDraft = draft_class(Constant)
_ActionDeclDraft = draft_class(ActionDecl)
_EndpointDraft = draft_class(Endpoint)
_TransitionDraft = draft_class(Transition)
_ConditionDraft = draft_class(Condition)


def new_name(value: str, span: Span) -> Name:
    node = _NameDraft()
    node.value = value
    node.span = span
    node.__class__ = Name
    return node


def new_callable_ref(name: str, module: str | None, span: Span) -> CallableRef:
    node = _CallableRefDraft()
    node.name = name
    node.module = module
    node.span = span
    node.__class__ = CallableRef
    return node


def new_argument(name: Name, value: Value, span: Span) -> Argument:
    node = _ArgumentDraft()
    node.name = name
    node.value = value
    node.span = span
    node.__class__ = Argument
    return node


def new_string(value: str, span: Span) -> String:
    node = _StringDraft()
    node.value = value
    node.span = span
    node.__class__ = String
    return node


def new_number(value: int | float, span: Span) -> Number:
    node = _NumberDraft()
    node.value = value
    node.span = span
    node.__class__ = Number
    return node


def new_constant(value: bool | None, span: Span) -> Constant:
    node = _ConstantDraft()
    node.value = value
    node.span = span
    node.__class__ = Constant
    return node


def new_action_decl(
    name: Name,
    target: CallableRef,
    args: tuple[Argument, ...],
    reads: tuple[Name, ...],
    writes: tuple[Name, ...],
    inputs: tuple[Name, ...],
    span: Span,
) -> ActionDecl:
    node = _ActionDeclDraft()
    node.name = name
    node.target = target
    node.args = args
    node.reads = reads
    node.writes = writes
    node.inputs = inputs
    node.span = span
    node.__class__ = ActionDecl
    return node


def new_endpoint(name: str, span: Span) -> Endpoint:
    node = _EndpointDraft()
    node.name = name
    node.span = span
    node.__class__ = Endpoint
    return node


def new_transition(
    path: tuple[Endpoint, ...], condition: Condition | None, span: Span
) -> Transition:
    node = _TransitionDraft()
    node.path = path
    node.condition = condition
    node.span = span
    node.__class__ = Transition
    return node


def new_condition(expression: Expression, text: str, span: Span) -> Condition:
    node = _ConditionDraft()
    node.expression = expression
    node.text = text
    node.span = span
    node.__class__ = Condition
    return node
