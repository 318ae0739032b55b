"""``State``: the immutable mapping every action reads and returns.

Every write returns a new ``State`` holding a shallow copy of the mapping, so unchanged values
are shared between a state and everything derived from it (a fan-out of 10,000 branches over a
10 MB list holds the list once).

A state also carries a *write record*: the keys written since the state the current action was
handed. The step loop hands an action a state with an empty record and reads the record of the
state it gets back, which is how declared writes are enforced for every kind of action without
comparing values. A state built from scratch (``State({...})``) has no record (``None``); its
writes are then found by comparing it with the state the action was given.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from flowc.errors import FlowRuntimeError

_MISSING = object()
# The empty write record. States handed to an action carry exactly this object, so the step
# loop can tell "fresh" states by identity.
EMPTY_RECORD: frozenset[str] = frozenset()
WriteRecord = frozenset[str] | KeysView[str] | None


class StateTypeError(FlowRuntimeError, TypeError):
    """A write does not match the state's declared (pydantic) schema."""

    default_code = "F507"


class State:
    """An immutable mapping of state keys to values; see the module docstring.

    ``State`` is registered as a ``collections.abc.Mapping`` rather than derived from it: the
    step loop creates a state per write, and plain classes are cheaper to instantiate."""

    __slots__ = ("_data", "_schema", "_written")

    def __init__(self, initial_values: Mapping[str, Any] | None = None, *, schema: Any = None):
        self._data: dict[str, Any] = dict(initial_values) if initial_values else {}
        self._schema = schema
        self._written: WriteRecord = None

    def _with(self, data: dict[str, Any], keys: Any) -> State:
        """A state holding ``data``, whose record adds ``keys`` (a key view or a frozenset)."""
        state = _new(State)
        state._data = data
        state._schema = self._schema
        written = self._written
        if written is None:
            state._written = None
        elif not written:
            state._written = keys
        else:
            state._written = frozenset(written).union(keys)
        return state

    # -- writes: each returns a new State --

    def update(self, **updates: Any) -> State:
        # ``_with`` inlined: this is the write nearly every action makes.
        state = _new(State)
        state._data = {**self._data, **updates}
        state._schema = self._schema
        written = self._written
        if written is EMPTY_RECORD:
            state._written = updates.keys()
        elif written is None:
            state._written = None
        else:
            state._written = frozenset(written).union(updates)
        return state

    def append(self, **values: Any) -> State:
        data = self._data.copy()
        for key, value in values.items():
            data[key] = [*self._list(key), value]
        return self._with(data, values.keys())

    def extend(self, **values: Any) -> State:
        data = self._data.copy()
        for key, more in values.items():
            data[key] = [*self._list(key), *more]
        return self._with(data, values.keys())

    def increment(self, **deltas: int | float) -> State:
        data = self._data.copy()
        for key, delta in deltas.items():
            data[key] = data.get(key, 0) + delta
        return self._with(data, deltas.keys())

    def wipe(self, delete: list[str] | None = None, keep: list[str] | None = None) -> State:
        """Drop ``delete`` keys, or everything but ``keep`` (exactly one of the two)."""
        if (delete is None) == (keep is None):
            raise ValueError("State.wipe takes exactly one of delete= or keep=")
        if keep is not None:
            kept = set(keep)
            removed = frozenset(key for key in self._data if key not in kept)
        else:
            removed = frozenset(key for key in delete or () if key in self._data)
        data = {key: value for key, value in self._data.items() if key not in removed}
        return self._with(data, removed)

    def merge(self, other: Mapping[str, Any]) -> State:
        """This state updated with every key of ``other`` (``other`` wins)."""
        values = other._data if isinstance(other, State) else dict(other)
        data = self._data.copy()
        data.update(values)
        return self._with(data, frozenset(values))

    def subset(self, *keys: str, ignore_missing: bool = True) -> State:
        """Only ``keys`` (a missing one is skipped, or a ``KeyError`` with ignore_missing=False).
        Keys left out count as written (deleted)."""
        if not ignore_missing:
            missing = [key for key in keys if key not in self._data]
            if missing:
                raise KeyError(f"state has no key(s) {', '.join(map(repr, missing))}")
        data = {key: self._data[key] for key in keys if key in self._data}
        return self._with(data, frozenset(self._data.keys() - data.keys()))

    # -- reads --

    def get_all(self) -> dict[str, Any]:
        """A dict of every key (a shallow copy: mutating it does not touch the state)."""
        return self._data.copy()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise KeyError(
                f"state has no key {key!r} (keys: {', '.join(sorted(self._data)) or 'none'})"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> KeysView[str]:
        return self._data.keys()

    def values(self) -> ValuesView[Any]:
        return self._data.values()

    def items(self) -> ItemsView[str, Any]:
        return self._data.items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, State):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"State({self._data!r})"

    def __reduce__(self):  # pickles as its data and schema (for process and Dask executors)
        return (_rebuild_state, (self._data, self._schema))

    # -- typed state --

    @property
    def schema(self) -> Any:
        """The pydantic model class declaring this state's fields, or ``None``."""
        return self._schema

    def with_schema(self, schema: Any) -> State:
        """This state typed by ``schema`` (a pydantic model class); values are not re-checked."""
        state = _new(State)
        state._data = self._data
        state._schema = schema
        state._written = self._written
        return state

    def _list(self, key: str) -> list[Any]:
        current = self._data.get(key, _MISSING)
        if current is _MISSING:
            return []
        if not isinstance(current, list):
            raise TypeError(
                f"cannot append to state key {key!r}: it holds {type(current).__name__}"
            )
        return current

    # -- for the step loop --

    def _fresh(self) -> State:
        """This state with an empty write record: what an action receives."""
        if self._written is EMPTY_RECORD:
            return self
        state = _new(State)
        state._data = self._data
        state._schema = self._schema
        state._written = EMPTY_RECORD
        return state

    def _written_since(self, before: State) -> WriteRecord:
        """Keys written since ``before`` was handed out (by value when there is no record)."""
        if self._written is not None:
            return self._written
        old, new = before._data, self._data
        changed = {key for key, value in new.items() if old.get(key, _MISSING) is not value}
        return frozenset(changed | (old.keys() - new.keys()))


_new = object.__new__
Mapping.register(State)


def _rebuild_state(data: dict[str, Any], schema: Any) -> State:
    return State(data, schema=schema)


def validate_writes(state: State, keys: Any, action_name: str) -> None:
    """Check ``keys`` of ``state`` against its pydantic schema; errors name key, type, action."""
    schema = state.schema
    if schema is None:
        return
    fields = schema.model_fields
    for key in keys:
        if key not in state or key not in fields:
            continue
        adapter = _adapter(schema, key)
        value = state[key]
        try:
            adapter.validate_python(value, strict=True)
        except Exception as error:  # pydantic.ValidationError, without importing pydantic here
            expected = _type_name(fields[key].annotation)
            raise StateTypeError(
                f"action '{action_name}' wrote {key!r} = {value!r} ({type(value).__name__}), "
                f"but the state schema {schema.__name__} declares {key}: {expected}",
                hints=(f"make '{action_name}' write a {expected} to {key!r}",),
            ) from error


def _adapter(schema: Any, key: str) -> Any:
    cache = schema.__dict__.get("__flowc_adapters__")
    if cache is None:
        cache = {}
        type.__setattr__(schema, "__flowc_adapters__", cache)
    adapter = cache.get(key)
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = cache[key] = TypeAdapter(schema.model_fields[key].annotation)
    return adapter


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def state_from_model(model: Any) -> State:
    """A ``State`` holding a pydantic model instance's fields, typed by its class."""
    return State(dict(model), schema=type(model))
