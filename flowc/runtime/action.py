"""Actions: what a step runs, and what it declares it reads, writes and needs as inputs.

Three shapes, as in Burr: ``@action``-decorated functions (single step, returning ``State`` or
``(result, State)``), ``SingleStepAction`` subclasses (``run_and_update``), and two-phase
``Action`` subclasses (``run`` then ``update``). ``bind`` and ``with_name`` return new objects and
work on all three. How an action is called is analysed once, into an ``ActionPlan``.
"""

from __future__ import annotations

import abc
import copy
import inspect
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flowc.errors import FlowRuntimeError, Span

CONTEXT_INPUT = "__context"
_PARAMETER_NAME = operator.attrgetter("name")


class ActionDefinitionError(FlowRuntimeError, ValueError):
    """An action is declared in a way that cannot run (bad reads/writes, binding, name)."""

    default_code = "F506"


class Action(abc.ABC):
    """A two-phase action: ``run`` computes a result from state, ``update`` folds it in."""

    _name: str | None = None
    _bound: dict[str, Any] = {}  # noqa: RUF012 - replaced, never mutated, per instance by bind()
    origin: Span | None = None

    @property
    def name(self) -> str | None:
        return self._name

    @property
    @abc.abstractmethod
    def reads(self) -> list[str]: ...

    @property
    @abc.abstractmethod
    def writes(self) -> list[str]: ...

    @property
    def inputs(self) -> list[str] | tuple[list[str], list[str]]:
        """Runtime inputs: a list of required names, or ``(required, optional)``."""
        return []

    @property
    def bound(self) -> dict[str, Any]:
        return dict(self._bound)

    def run(self, state: Any, **run_kwargs: Any) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement run()")

    def update(self, result: dict, state: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement update()")

    @property
    def single_step(self) -> bool:
        return False

    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.run)

    def with_name(self, name: str) -> Action:
        clone = copy.copy(self)
        clone._name = name
        clone.__dict__.pop("_flowc_plan", None)
        return clone

    def bind(self, **kwargs: Any) -> Action:
        clone = copy.copy(self)
        clone._bound = {**self._bound, **kwargs}
        clone.__dict__.pop("_flowc_plan", None)
        return clone

    def with_origin(self, origin: Span | None) -> Action:
        clone = copy.copy(self)
        clone.origin = origin
        clone.__dict__.pop("_flowc_plan", None)
        return clone

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} reads={self.reads} writes={self.writes}>"


class SingleStepAction(Action):
    """An action that computes its result and its new state in one call."""

    @property
    def single_step(self) -> bool:
        return True

    @abc.abstractmethod
    def run_and_update(self, state: Any, **run_kwargs: Any) -> tuple[dict, Any]: ...

    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.run_and_update)


class FunctionBasedAction(SingleStepAction):
    """An ``@action`` function as an action object."""

    def __init__(
        self,
        fn: Callable[..., Any],
        reads: Sequence[str],
        writes: Sequence[str],
        bound: dict[str, Any] | None = None,
        name: str | None = None,
        *,
        parameters: Sequence[inspect.Parameter] | None = None,
    ) -> None:
        """``parameters``: ``fn``'s signature, when the caller has it already (inspecting it is
        most of what making an action costs; a build makes thousands over the same function)."""
        self._fn = fn
        self._reads = list(reads)
        self._writes = list(writes)
        self._bound = dict(bound or {})
        self._name = name
        if parameters is None:
            parameters = inspect.signature(fn).parameters.values()
        parameters = tuple(parameters)  # a tuple given is shared, not copied
        _check_takes_state(fn, parameters)
        unknown = _unknown_keys(parameters, self._bound) if self._bound else ()
        if unknown:
            raise _binding_error(fn, parameters, unknown)
        self._parameters = parameters

    @property
    def fn(self) -> Callable[..., Any]:
        return self._fn

    @property
    def reads(self) -> list[str]:
        return self._reads

    @property
    def writes(self) -> list[str]:
        return self._writes

    @property
    def inputs(self) -> tuple[list[str], list[str]]:
        required, optional = [], []
        for parameter in self._parameters[1:]:
            if parameter.name in self._bound or parameter.kind in (
                parameter.VAR_POSITIONAL,
                parameter.VAR_KEYWORD,
            ):
                continue
            target = optional if parameter.default is not parameter.empty else required
            target.append(parameter.name)
        return required, optional

    def run_and_update(self, state: Any, **run_kwargs: Any) -> tuple[dict, Any]:
        return normalise_result(self, self._fn(state, **self._bound, **run_kwargs))

    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self._fn)

    def bind(self, **kwargs: Any) -> FunctionBasedAction:
        clone = FunctionBasedAction(
            self._fn,
            self._reads,
            self._writes,
            {**self._bound, **kwargs},
            self._name,
            parameters=self._parameters,
        )
        clone.origin = self.origin
        return clone

    def with_name(self, name: str) -> FunctionBasedAction:
        clone = FunctionBasedAction(
            self._fn, self._reads, self._writes, self._bound, name, parameters=self._parameters
        )
        clone.origin = self.origin
        return clone

    def __reduce__(self):  # by reference to the module-level function (process executors)
        return (
            _rebuild_function_action,
            (self._fn, self._reads, self._writes, self._bound, self._name, self.origin),
        )


class FunctionActionMaker:
    """Makes the ``FunctionBasedAction`` objects of one function, many at a time: what
    ``FunctionBasedAction(fn, reads, writes, bound, name, parameters=…)`` makes, with the same
    errors, but the function's parameters are checked once, not per action, and the lists and
    the dict a caller hands over are kept, not copied. A compiled flow makes thousands of
    actions over a few functions; the checks and copies were most of making each."""

    __slots__ = ("_fn", "_names", "_parameters", "_takes_any")

    def __init__(
        self, fn: Callable[..., Any], parameters: Sequence[inspect.Parameter] | None = None
    ) -> None:
        if parameters is None:
            parameters = inspect.signature(fn).parameters.values()
        parameters = tuple(parameters)
        _check_takes_state(fn, parameters)
        self._fn = fn
        self._parameters = parameters
        self._names = frozenset(map(_PARAMETER_NAME, parameters[1:]))
        self._takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)

    def make(
        self,
        reads: list[str],
        writes: list[str],
        bound: dict[str, Any],
        name: str | None,
        origin: Span | None = None,
    ) -> FunctionBasedAction:
        """A new action owning ``reads``, ``writes`` and ``bound`` (fresh ones, not shared with
        anything else: the action's lists are its own in ``FunctionBasedAction`` too)."""
        if bound and not self._takes_any and not self._names.issuperset(bound):
            unknown = [key for key in bound if key not in self._names]
            raise _binding_error(self._fn, self._parameters, unknown)
        made = _NEW_OBJECT(FunctionBasedAction)
        made._fn = self._fn  # the attributes in the order ``__init__`` sets them
        made._reads = reads
        made._writes = writes
        made._bound = bound
        made._name = name
        made._parameters = self._parameters
        made.origin = origin
        return made


_NEW_OBJECT = object.__new__


def _check_takes_state(fn: Callable[..., Any], parameters: tuple[inspect.Parameter, ...]) -> None:
    if not parameters:
        raise ActionDefinitionError(
            f"action function {fn.__qualname__} must take the state as its first parameter",
            hints=("def my_action(state: State, ...) -> State",),
        )


def _binding_error(
    fn: Callable[..., Any], parameters: tuple[inspect.Parameter, ...], unknown: Sequence[str]
) -> ActionDefinitionError:
    return ActionDefinitionError(
        f"cannot bind {', '.join(map(repr, unknown))} to {fn.__qualname__}: "
        "it has no such parameter",
        hints=(f"its parameters: {', '.join(p.name for p in parameters[1:]) or 'none'}",),
    )


def _rebuild_function_action(fn, reads, writes, bound, name, origin) -> FunctionBasedAction:
    rebuilt = FunctionBasedAction(fn, reads, writes, bound, name)
    rebuilt.origin = origin
    return rebuilt


def _unknown_keys(parameters: Sequence[inspect.Parameter], keys: Iterable[str]) -> list[str]:
    """The ``keys`` no parameter after the state takes (none when there is a ``**kwargs``)."""
    names = set(map(_PARAMETER_NAME, parameters[1:]))
    if names.issuperset(keys):
        return []
    unknown = [key for key in keys if key not in names]
    if unknown and any(p.kind is p.VAR_KEYWORD for p in parameters):
        return []
    return unknown


def action(reads: Sequence[str], writes: Sequence[str]) -> Callable[[Callable], Callable]:
    """Declare a function as an action. The function stays callable as it is; it gains
    ``.bind(**kw)`` and ``.with_name(name)``, which return action objects."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        function_action = FunctionBasedAction(fn, reads, writes, name=fn.__name__)
        fn.action_function = function_action  # type: ignore[attr-defined]
        fn.bind = function_action.bind  # type: ignore[attr-defined]
        fn.with_name = function_action.with_name  # type: ignore[attr-defined]
        fn.reads = function_action.reads  # type: ignore[attr-defined]
        fn.writes = function_action.writes  # type: ignore[attr-defined]
        return fn

    return decorate


def create_action(candidate: Any, name: str | None = None) -> Action:
    """An action object from an ``Action`` or an ``@action`` function, named ``name`` if given."""
    if isinstance(candidate, Action):
        found = candidate
    elif callable(candidate) and isinstance(getattr(candidate, "action_function", None), Action):
        found = candidate.action_function
    else:
        raise ActionDefinitionError(
            f"{candidate!r} is not an action",
            hints=(
                "decorate the function with @action(reads=[...], writes=[...])",
                "or subclass flowc.runtime.Action",
            ),
        )
    if name is not None and found.name != name:
        found = found.with_name(name)
    if found.name is None:
        raise ActionDefinitionError(
            f"action {found!r} has no name",
            hints=("pass it as a keyword (with_actions(my_name=...)) or call .with_name(...)",),
        )
    return found


class InvalidActionResultError(FlowRuntimeError, TypeError):
    """An action returned something other than a State or (dict, State)."""

    default_code = "F505"


def normalise_result(action: Action, out: Any) -> tuple[dict, Any]:
    from flowc.runtime.state import State

    if isinstance(out, State):
        return {}, out
    if type(out) is tuple and len(out) == 2 and isinstance(out[1], State):
        return out
    raise InvalidActionResultError(
        f"action '{action.name}' returned {type(out).__name__}; "
        "an action returns a State or a (result_dict, State) pair",
        hints=("end the action with `return state.update(...)`",),
        span=action.origin,
    )


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """How to call one action, worked out once: what the step loop needs on every step.

    ``call`` is what a step calls with the state and keyword arguments: the decorated function,
    ``run_and_update`` or ``run``. ``update`` is ``Action.update`` for two-phase actions.
    ``plain`` is true when the keyword arguments are just ``bound`` (no inputs, no context);
    ``inline`` when, besides, the action is synchronous and single-step: the step loop's own
    common case (``Application.run``), told by one attribute."""

    action: Action
    name: str
    single_step: bool
    is_async: bool
    required: tuple[str, ...]
    optional: tuple[str, ...]
    wants_context: bool
    writes: frozenset[str]
    n_writes: int
    call: Callable[..., Any]
    update: Callable[..., Any] | None
    bound: dict[str, Any]
    plain: bool
    inline: bool


def plan_for(action: Action) -> ActionPlan:
    """The cached ``ActionPlan`` of ``action`` (cached on the action object itself)."""
    namespace = getattr(action, "__dict__", None)
    if namespace is None:  # an action class with __slots__: nowhere to cache
        return _make_plan(action)
    plan = namespace.get("_flowc_plan")
    if plan is None or plan.action is not action:  # absent, or inherited by copy.copy
        plan = namespace["_flowc_plan"] = _make_plan(action)
    return plan


def _split_inputs(raw: Any) -> tuple[list[str], list[str]]:
    if isinstance(raw, tuple) and len(raw) == 2 and not isinstance(raw[0], str):
        return list(raw[0]), list(raw[1])
    return list(raw or ()), []


def _make_plan(action: Action) -> ActionPlan:
    required, optional = _split_inputs(action.inputs)
    wants_context = CONTEXT_INPUT in required or CONTEXT_INPUT in optional
    update = None
    if isinstance(action, FunctionBasedAction):
        call, bound = action.fn, action._bound
    elif action.single_step:
        call, bound = action.run_and_update, action._bound
    else:
        call, bound, update = action.run, action._bound, action.update
    required = [name for name in required if not name.startswith("__") and name not in bound]
    optional = [name for name in optional if not name.startswith("__") and name not in bound]
    plain = not (required or optional or wants_context)
    single_step, is_async = action.single_step, action.is_async()
    return ActionPlan(
        action=action,
        name=action.name or type(action).__name__,
        single_step=single_step,
        is_async=is_async,
        required=tuple(required),
        optional=tuple(optional),
        wants_context=wants_context,
        writes=frozenset(action.writes),
        n_writes=len(frozenset(action.writes)),
        call=call,
        update=update,
        bound=dict(bound),
        plain=plain,
        inline=plain and single_step and not is_async,
    )
