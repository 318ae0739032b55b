"""The built-in reducers of the ``.flow`` language, as plain functions over branch states.

A map's ``reduce`` receives its branches' final states in task order. Each function here folds
such an iterable into one value — the value a ``reduce KEY = reducer(...)`` line writes to
``KEY`` — so the same code serves ``.flow`` maps (through the compiler's build and emitted
modules) and hand-written ``MapStates.reduce`` methods::

    from flowc.runtime import reducers

    def reduce(self, state, states):
        states = list(states)
        return state.update(
            answers=reducers.collect(states, "llm_output"),
            best=reducers.max_of(states, "score"),
        )

Fields are state keys or dotted paths (``"answer.score"``): each step indexes a mapping, or
reads an attribute of any other object (a pydantic model). Failed branches: under a tolerate
policy with ``failed="include"`` a map hands ``reduce`` ``BranchFailure`` values in their task
position (docs/parallelism.md); every reducer here skips them, so they count as absent, and
``failures(states)`` gives them to whoever wants them. Under ``failed="skip"`` (the default, and
what the compiler builds) they never arrive. No function mutates its input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from flowc.errors import FlowRuntimeError

FieldPath = str | Sequence[str]


class ReducerFieldError(FlowRuntimeError, KeyError):
    """A reducer read a field that a branch's final state does not have (F540)."""

    default_code = "F540"

    def __str__(self) -> str:  # KeyError would print only the repr of the message
        return FlowRuntimeError.__str__(self)


class ReducerTypeError(FlowRuntimeError, TypeError):
    """A reducer met values it cannot combine: ``sum`` of strings, ``merge`` of lists (F541)."""

    default_code = "F541"


class ReducerResultError(FlowRuntimeError, TypeError):
    """A custom reducer returned something that does not give the keys it must write (F542)."""

    default_code = "F542"


# ---- reading branch states --------------------------------------------------------------------


def is_failure(item: Any) -> bool:
    """True for a failed branch handed to ``reduce`` (a ``BranchFailure``: ``ok`` is False)."""
    return getattr(item, "ok", True) is False and hasattr(item, "error")


def successful(states: Iterable[Any]) -> Iterator[Any]:
    """The final states of the branches that succeeded, in task order."""
    return (item for item in states if not is_failure(item))


def failures(states: Iterable[Any]) -> list[Any]:
    """The ``BranchFailure`` values among ``states`` (empty unless ``failed="include"``)."""
    return [item for item in states if is_failure(item)]


def split_path(path: FieldPath) -> tuple[str, ...]:
    """``"answer.score"`` → ``("answer", "score")``; a sequence is taken as it is."""
    return tuple(path.split(".")) if isinstance(path, str) else tuple(path)


def field_value(state: Any, path: FieldPath, *, index: int | None = None) -> Any:
    """The value at ``path`` in one branch state; ``ReducerFieldError`` names what is missing."""
    parts = split_path(path)
    value = state
    for depth, part in enumerate(parts):
        if not isinstance(value, Mapping) and part.startswith("_"):
            raise _private(parts, depth, value)
        try:
            value = value[part] if isinstance(value, Mapping) else getattr(value, part)
        except (KeyError, AttributeError, TypeError):
            raise _missing(parts, depth, value, index) from None
    return value


def _private(parts: tuple[str, ...], depth: int, holder: Any) -> Exception:
    """As in conditions (F118), a path never reads a private or dunder attribute: a .flow file
    names data, it does not walk into objects' internals (``__class__``, ``__globals__``)."""
    return ReducerFieldError(
        f"field {'.'.join(parts)!r}: attribute {parts[depth]!r} of "
        f"{type(holder).__name__} begins with '_'",
        hints=("reduce public fields only; expose the value under a public name",),
    )


def _missing(parts: tuple[str, ...], depth: int, holder: Any, index: int | None) -> Exception:
    dotted = ".".join(parts)
    where = f"branch {index}" if index is not None else "a branch"
    if depth == 0 and isinstance(holder, Mapping):
        known = ", ".join(sorted(str(k) for k in holder if not str(k).startswith("__")))
        return ReducerFieldError(
            f"{where}'s final state has no key {parts[0]!r} (keys: {known or 'none'})",
            hints=(f"have the branch write {parts[0]!r}, or reduce a key it does write",),
        )
    holder_path = ".".join(parts[:depth]) or "the state"
    return ReducerFieldError(
        f"{where}'s final state has no field {dotted!r}: "
        f"{holder_path} ({type(holder).__name__}) has no {parts[depth]!r}",
        hints=("check the path against what the branch's action writes",),
    )


def _values(states: Iterable[Any], path: FieldPath) -> Iterator[Any]:
    parts = split_path(path)
    for index, state in enumerate(states):
        if not is_failure(state):
            yield field_value(state, parts, index=index)


def field_name(path: FieldPath) -> str:
    """The name a record gives a field written without ``name=``: its last path component."""
    return split_path(path)[-1]


# ---- the built-ins ----------------------------------------------------------------------------


def collect(states: Iterable[Any], field: FieldPath) -> list[Any]:
    """``collect(f)``: the list of each branch's ``f``, in task order."""
    return list(_values(states, field))


def records(
    states: Iterable[Any], fields: Mapping[str, FieldPath] | Sequence[FieldPath]
) -> list[dict[str, Any]]:
    """``records(f, alias=g)``: one dict per branch with the chosen fields, in task order.

    ``fields`` maps each record key to a path (``{"output": "llm_output", "prompt": "prompt"}``)
    or is a sequence of paths, each named by its last component."""
    if isinstance(fields, Mapping):
        chosen = [(name, split_path(path)) for name, path in fields.items()]
    else:
        chosen = [(field_name(path), split_path(path)) for path in fields]
    return [
        {name: field_value(state, path, index=index) for name, path in chosen}
        for index, state in enumerate(states)
        if not is_failure(state)
    ]


def to_dict(states: Iterable[Any], key: FieldPath, value: FieldPath) -> dict[Any, Any]:
    """``to_dict(k, v)``: each branch's ``k`` mapped to its ``v`` (a later branch wins a tie)."""
    key_path, value_path = split_path(key), split_path(value)
    result: dict[Any, Any] = {}
    for index, state in enumerate(states):
        if is_failure(state):
            continue
        found = field_value(state, key_path, index=index)
        try:
            result[found] = field_value(state, value_path, index=index)
        except TypeError as error:  # an unhashable key
            raise ReducerTypeError(
                f"to_dict: branch {index}'s key {'.'.join(key_path)!r} is a "
                f"{type(found).__name__}, which cannot be a dict key",
                hints=("key by a string or number field",),
            ) from error
    return result


def sum_of(states: Iterable[Any], field: FieldPath) -> Any:
    """``sum(f)``: the sum of each branch's ``f`` (0 when no branch succeeded)."""
    total: Any = 0
    for value in _values(states, field):
        try:
            total = total + value
        except TypeError as error:
            raise ReducerTypeError(
                f"sum({'.'.join(split_path(field))}): cannot add {type(value).__name__} "
                f"to {type(total).__name__}",
                hints=("sum adds numbers; use concat to join lists or strings",),
            ) from error
    return total


def count(states: Iterable[Any]) -> int:
    """``count()``: how many branches succeeded."""
    return sum(1 for state in states if not is_failure(state))


def _extreme(states: Iterable[Any], field: FieldPath, pick: Callable[..., Any], name: str) -> Any:
    values = list(_values(states, field))
    if not values:
        return None
    try:
        return pick(values)
    except TypeError as error:
        kinds = sorted({type(v).__name__ for v in values})
        raise ReducerTypeError(
            f"{name}({'.'.join(split_path(field))}): cannot compare {' and '.join(kinds)}",
            hints=(f"{name} needs values of one comparable type",),
        ) from error


def min_of(states: Iterable[Any], field: FieldPath) -> Any:
    """``min(f)``: the smallest ``f`` (``None`` when no branch succeeded)."""
    return _extreme(states, field, min, "min")


def max_of(states: Iterable[Any], field: FieldPath) -> Any:
    """``max(f)``: the largest ``f`` (``None`` when no branch succeeded)."""
    return _extreme(states, field, max, "max")


def concat(states: Iterable[Any], field: FieldPath) -> Any:
    """``concat(f)``: the branches' lists (or strings) ``f`` joined in task order.

    The result has the type of the first value (``[]`` when no branch succeeded); tuples join
    into a list."""
    values = list(_values(states, field))
    if not values:
        return []
    if all(isinstance(v, str) for v in values):
        return "".join(values)
    joined: list[Any] = []
    for value in values:
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise ReducerTypeError(
                f"concat({'.'.join(split_path(field))}): a branch wrote a "
                f"{type(value).__name__}; concat joins lists (or strings, all of them)",
                hints=("use collect to gather single values into a list",),
            )
        joined.extend(value)
    return joined


def first(states: Iterable[Any], field: FieldPath) -> Any:
    """``first(f)``: ``f`` of the first successful branch in task order (``None`` if none)."""
    for value in _values(states, field):
        return value
    return None


def merge(states: Iterable[Any], field: FieldPath) -> dict[Any, Any]:
    """``merge(f)``: the branches' dicts ``f`` merged in task order (a later branch wins)."""
    merged: dict[Any, Any] = {}
    for value in _values(states, field):
        if not isinstance(value, Mapping):
            raise ReducerTypeError(
                f"merge({'.'.join(split_path(field))}): a branch wrote a "
                f"{type(value).__name__}; merge combines dicts",
                hints=("use collect to gather other values into a list",),
            )
        merged.update(value)
    return merged


BUILTIN_REDUCERS: Mapping[str, Callable[..., Any]] = {
    "collect": collect,
    "records": records,
    "to_dict": to_dict,
    "sum": sum_of,
    "count": count,
    "min": min_of,
    "max": max_of,
    "concat": concat,
    "first": first,
    "merge": merge,
}
"""The ``.flow`` name of each built-in reducer and its function here."""


# ---- custom reducers --------------------------------------------------------------------------


def custom_result(result: Any, targets: Sequence[str], reducer_name: str) -> dict[str, Any]:
    """The values a custom reducer's return value gives its ``targets``.

    A custom reducer is called like Burr's ``reduce(state, states)`` and may return the updated
    ``State`` (or any mapping) holding every target, or — with one target — the value itself,
    or — with several — a tuple of the values in target order."""
    from flowc.runtime.state import State

    if isinstance(result, State) or (isinstance(result, Mapping) and len(targets) > 1):
        missing = [key for key in targets if key not in result]
        if missing:
            raise ReducerResultError(
                f"reducer '{reducer_name}' returned a state without "
                f"{', '.join(map(repr, missing))}",
                hints=(f"return state.update({', '.join(f'{k}=...' for k in targets)})",),
            )
        return {key: result[key] for key in targets}
    if len(targets) == 1:
        return {targets[0]: result}
    if isinstance(result, tuple) and len(result) == len(targets):
        return dict(zip(targets, result, strict=True))
    raise ReducerResultError(
        f"reducer '{reducer_name}' must give {len(targets)} keys "
        f"({', '.join(targets)}) but returned {type(result).__name__}",
        hints=("return the updated State, a dict of those keys, or a tuple in that order",),
    )
