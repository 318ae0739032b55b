"""Conditions on transitions: ``when(key=value)``, ``expr("...")``, ``default`` and ``~cond``.

A condition is a predicate on the state's mapping plus the keys it reads. ``expr`` texts are
parsed once by the expression language (``flowc.runtime.expression``) and interpreted; nothing
is ever passed to ``eval``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowc.errors import FlowRuntimeError, Span

Predicate = Callable[[Mapping[str, Any]], Any]


class ConditionKeyError(FlowRuntimeError, KeyError):
    """A condition read a key that the state lacks."""

    default_code = "F514"

    def __str__(self) -> str:  # KeyError would otherwise print only the repr of the message
        return FlowRuntimeError.__str__(self)


class ConditionEvaluationError(FlowRuntimeError, TypeError):
    """A condition failed while evaluating (e.g. comparing a string with a number)."""

    default_code = "F515"


@dataclass(frozen=True, slots=True)
class Condition:
    """A named predicate over state. ``evaluate`` takes the state's mapping."""

    reads: tuple[str, ...]
    evaluate: Predicate = field(compare=False)
    name: str
    is_default: bool = False
    origin: Span | None = field(default=None, compare=False)

    def __call__(self, state: Mapping[str, Any]) -> bool:
        return bool(self.evaluate(state))

    def run(self, state: Mapping[str, Any]) -> dict[str, bool]:
        """Burr's ``Condition.run``: ``{"PROCEED": bool}``."""
        return {"PROCEED": bool(self.evaluate(state))}

    def __invert__(self) -> Condition:
        inner = self.evaluate
        return Condition(
            self.reads, lambda state: not inner(state), f"~{self.name}", origin=self.origin
        )

    def __and__(self, other: Condition) -> Condition:
        left, right = self.evaluate, other.evaluate
        return Condition(
            _merge_reads(self.reads, other.reads),
            lambda state: left(state) and right(state),
            f"{self.name} & {other.name}",
        )

    def __or__(self, other: Condition) -> Condition:
        left, right = self.evaluate, other.evaluate
        return Condition(
            _merge_reads(self.reads, other.reads),
            lambda state: left(state) or right(state),
            f"{self.name} | {other.name}",
        )

    @staticmethod
    def when(**kwargs: Any) -> Condition:
        return when(**kwargs)

    @staticmethod
    def expr(text: str) -> Condition:
        return expr(text)

    @staticmethod
    def lmda(fn: Callable[[Any], bool], state_keys: list[str]) -> Condition:
        """A Python predicate over the state (Burr's ``Condition.lmda``)."""
        from flowc.runtime.state import State

        return Condition(
            tuple(state_keys),
            lambda data: fn(State(data) if not isinstance(data, State) else data),
            getattr(fn, "__name__", "lambda"),
        )


def _merge_reads(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(key for group in groups for key in group))


def _always(_: Mapping[str, Any]) -> bool:
    return True


default = Condition((), _always, "default", is_default=True)


def when(**kwargs: Any) -> Condition:
    """True when every given key equals its value."""
    items = tuple(kwargs.items())
    name = ", ".join(f"{key}={value!r}" for key, value in items)
    if len(items) == 1:
        ((key, value),) = items

        def evaluate(state: Mapping[str, Any]) -> bool:
            return state[key] == value

    else:

        def evaluate(state: Mapping[str, Any]) -> bool:
            return all(state[key] == value for key, value in items)

    return Condition(tuple(kwargs), evaluate, name)


def expr(text: str) -> Condition:
    """A condition written in the expression language: ``expr("counter < 10")``.

    The text is parsed now (an error here names the position in the text) and interpreted
    later; ``reads`` come from the expression."""
    from flowc.runtime.expression import parse_expression

    node = parse_expression(text)
    return Condition(node.reads, node.evaluate, text)


def from_expression(node: Any, origin: Span | None = None) -> Condition:
    """A condition from an already-parsed expression node (used by the compiler), named by the
    expression's canonical text (``to_source``), printed when the name is first read."""
    made = _NEW(PrintedCondition)  # what ``PrintedCondition(...)`` does, without its frame
    _SET_READS(made, node.reads)
    _SET_EVALUATE(made, node.evaluate)
    _SET_IS_DEFAULT(made, False)
    _SET_ORIGIN(made, origin)
    _SET_SOURCE(made, node)
    return made


_NAME_SLOT = Condition.__dict__["name"]  # the dataclass's slot for ``name``


class PrintedCondition(Condition):
    """A ``Condition`` over a parsed expression whose ``name`` is the expression printed back
    (``to_source``) on first read, not when it is made: a compiled flow makes thousands of
    conditions whose names only an error, a drawing or a tracker reads, and printing them all
    was a tenth of building a 10,000-action flow. Otherwise it is a ``Condition``: equal to,
    hashed, shown and pickled as a ``Condition`` with that name. Two threads reading a fresh
    name at once may both print it; both store the same text."""

    __slots__ = ("_source",)

    def __init__(
        self,
        reads: tuple[str, ...],
        evaluate: Predicate,
        name: str | None = None,
        is_default: bool = False,
        origin: Span | None = None,
        *,
        source: Any = None,
    ) -> None:
        # ``Condition``'s own signature too, for ``dataclasses.replace``; the slots are set
        # through their descriptors (``object.__setattr__`` per field cost twice as much)
        _SET_READS(self, reads)
        _SET_EVALUATE(self, evaluate)
        _SET_IS_DEFAULT(self, is_default)
        _SET_ORIGIN(self, origin)
        _SET_SOURCE(self, source)
        if name is not None:
            _NAME_SLOT.__set__(self, name)

    @property  # type: ignore[override]
    def name(self) -> str:
        try:
            return _NAME_SLOT.__get__(self)
        except AttributeError:  # not printed yet
            from flowc.runtime.expression import to_source

            name = to_source(self._source)
            _NAME_SLOT.__set__(self, name)
            return name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return NotImplemented
        return (self.reads, self.name, self.is_default) == (
            other.reads,
            other.name,
            other.is_default,
        )

    def __hash__(self) -> int:
        return hash((self.reads, self.name, self.is_default))

    def __repr__(self) -> str:
        return (
            f"Condition(reads={self.reads!r}, evaluate={self.evaluate!r}, name={self.name!r}, "
            f"is_default={self.is_default!r}, origin={self.origin!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # copied and pickled as the plain Condition
        return (Condition, (self.reads, self.evaluate, self.name, self.is_default, self.origin))


_NEW = object.__new__
_SET_READS = Condition.__dict__["reads"].__set__
_SET_EVALUATE = Condition.__dict__["evaluate"].__set__
_SET_IS_DEFAULT = Condition.__dict__["is_default"].__set__
_SET_ORIGIN = Condition.__dict__["origin"].__set__
_SET_SOURCE = PrintedCondition.__dict__["_source"].__set__


def explain_failure(
    error: Exception, condition: Condition, source: str, target: str, state: Mapping[str, Any]
) -> FlowRuntimeError | None:
    """The error to raise when ``condition`` on ``source -> target`` raised ``error``."""
    where = f"the condition `{condition.name}` on the transition from '{source}' to '{target}'"
    if isinstance(error, KeyError):
        key = getattr(error, "key", None) or (error.args[0] if error.args else "?")
        known = ", ".join(sorted(state)) or "none"
        return ConditionKeyError(
            f"{where} reads {key!r}, which the state does not have (keys: {known})",
            span=condition.origin,
            hints=(f"give {key!r} an initial value, or have an earlier action write it",),
        )
    if isinstance(error, TypeError | ValueError | ArithmeticError | FlowRuntimeError):
        # an expression error knows the failing sub-expression's span; prefer it
        span = getattr(error, "span", None) or condition.origin
        return ConditionEvaluationError(
            f"{where} failed: {getattr(error, 'message', None) or error}",
            span=span,
            hints=("check the types of the keys the condition compares",),
        )
    return None
