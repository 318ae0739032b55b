"""Turning persisted state into text and back, exactly.

State is stored as JSON. Plain JSON values (str, int, float, bool, None, lists, dicts with string
keys) are written as they are; everything else goes through a :class:`Codec` from a
:class:`SerializationRegistry` and is written as a tagged object ``{"__flowc__": tag, "v": ...}``.
Tuples, sets, bytes, datetimes, decimals, UUIDs, paths, enums and pydantic models round-trip by
default, and so do dicts with non-string keys, so a state read back equals the state written —
which is what makes a resumed run end in the same state as an uninterrupted one.

A value no codec accepts is a :class:`StateSerializationError` naming the state key, the path
inside it and the type, raised while encoding, i.e. before anything is written. Registries are
immutable: ``SerializationRegistry.default().with_codec(...)`` returns a new one, so there is no
global table for one caller to change under another.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import importlib
import json
import pathlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowc.errors import FlowRuntimeError
from flowc.runtime.state import State

TAG = "__flowc__"
"""The key that marks an encoded value; a user dict holding this key is itself encoded."""

_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # stateless, reusable
# The C encoder behind _ENCODER, built once: ``JSONEncoder.encode`` builds it again on every call,
# which costs more than encoding a small state. Without a markers dict (no cycle check), so it is
# given only dicts of scalars, or dicts of those, which cannot hold a cycle. None where the C
# speedups are missing.
_FLAT_ENCODER = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    if json.encoder.c_make_encoder is not None  # type: ignore[attr-defined]
    else None
)


class StateSerializationError(FlowRuntimeError, TypeError):
    """A state value cannot be persisted (F530). ``key`` is the top-level state key, ``path`` the
    place inside it (``results[3].when``) and ``value_type`` the offending type's name."""

    default_code = "F530"

    def __init__(self, key: str, path: str, value_type: str, *, too_deep: bool = False) -> None:
        self.key = key
        self.path = path
        self.value_type = value_type
        where = f"state key '{key}'" if path == key else f"state key '{key}' (at {path})"
        if too_deep:
            super().__init__(
                f"{where} holds a {value_type} nested too deeply to persist, or one that "
                "contains itself",
                hints=(
                    "persist flatter data, e.g. a list of records instead of a deep tree",
                    "a value that contains itself cannot be written as JSON",
                ),
            )
            return
        super().__init__(
            f"{where} holds a value of type {value_type}, which cannot be persisted",
            hints=(
                "store plain data (str, int, float, bool, None, list, dict, tuple, set, bytes, "
                "datetime, Decimal, UUID, Enum, pydantic models) in persisted state",
                "or register a Codec for the type: "
                "SerializationRegistry.default().with_codec(Codec(...))",
            ),
        )


class StateDeserializationError(FlowRuntimeError, ValueError):
    """Persisted text cannot be turned back into state (F531): it is not JSON, names an unknown
    tag, or refers to a class that cannot be imported."""

    default_code = "F531"


@dataclass(frozen=True, slots=True)
class Codec:
    """How one type is written and read. ``encode`` returns JSON-ready data (it may contain values
    that need codecs themselves); ``decode`` receives that data back, already decoded."""

    tag: str
    type: type
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str, base: type) -> type:
    """Import ``module:Qualified.Name`` and check it is a subclass of ``base`` (never eval)."""
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise StateDeserializationError(
            f"persisted state refers to {path}, which cannot be imported ({exc})",
            hints=("import or install the module that defines it before resuming",),
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise StateDeserializationError(
            f"persisted state refers to {path}, which is not a {base.__name__} subclass"
        )
    return obj


def _encode_pydantic(model: Any) -> dict[str, Any]:
    return {"cls": _class_path(type(model)), "data": model.model_dump(mode="python")}


def _decode_pydantic(payload: dict[str, Any]) -> Any:
    from pydantic import BaseModel

    return _import_class(payload["cls"], BaseModel).model_validate(payload["data"])


def _encode_enum(member: enum.Enum) -> dict[str, Any]:
    return {"cls": _class_path(type(member)), "value": member.value}


def _decode_enum(payload: dict[str, Any]) -> enum.Enum:
    return _import_class(payload["cls"], enum.Enum)(payload["value"])


def _encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _encode_timedelta(value: dt.timedelta) -> list[int]:
    return [value.days, value.seconds, value.microseconds]


def _decode_timedelta(parts: list[int]) -> dt.timedelta:
    return dt.timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2])


def _builtin_codecs() -> tuple[Codec, ...]:
    codecs = [
        Codec("tuple", tuple, list, tuple),
        Codec("set", set, _sorted_if_possible, set),
        Codec("frozenset", frozenset, _sorted_if_possible, frozenset),
        Codec("bytes", bytes, _encode_bytes, base64.b64decode),
        Codec("datetime", dt.datetime, dt.datetime.isoformat, dt.datetime.fromisoformat),
        Codec("date", dt.date, dt.date.isoformat, dt.date.fromisoformat),
        Codec("time", dt.time, dt.time.isoformat, dt.time.fromisoformat),
        Codec("timedelta", dt.timedelta, _encode_timedelta, _decode_timedelta),
        Codec("decimal", decimal.Decimal, str, decimal.Decimal),
        Codec("uuid", uuid.UUID, str, uuid.UUID),
        Codec("path", pathlib.PurePath, str, pathlib.Path),
        Codec("enum", enum.Enum, _encode_enum, _decode_enum),
    ]
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic is a dependency
        return tuple(codecs)
    codecs.append(Codec("pydantic", BaseModel, _encode_pydantic, _decode_pydantic))
    return tuple(codecs)


def _sorted_if_possible(items: Iterable[Any]) -> list[Any]:
    """Sets are written sorted when their items allow it, so equal sets give equal text."""
    values = list(items)
    try:
        return sorted(values)
    except TypeError:
        return values


@dataclass(frozen=True, slots=True)
class SerializationRegistry:
    """An immutable table of codecs, looked up by exact type, then along the type's MRO."""

    codecs: tuple[Codec, ...] = ()
    _by_type: dict[type, Codec] = field(init=False, repr=False, compare=False)
    _by_tag: dict[str, Codec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_type: dict[type, Codec] = {}
        by_tag: dict[str, Codec] = {}
        for codec in self.codecs:  # later codecs win, so with_codec can override a default
            by_type[codec.type] = codec
            by_tag[codec.tag] = codec
        object.__setattr__(self, "_by_type", by_type)
        object.__setattr__(self, "_by_tag", by_tag)

    @classmethod
    def default(cls) -> SerializationRegistry:
        """The built-in codecs (tuple, set, frozenset, bytes, datetime family, Decimal, UUID,
        paths, Enum, pydantic models)."""
        return cls(_builtin_codecs())

    def with_codec(self, codec: Codec) -> SerializationRegistry:
        """A new registry that also knows ``codec`` (replacing one with the same type or tag)."""
        kept = tuple(c for c in self.codecs if c.type is not codec.type and c.tag != codec.tag)
        return SerializationRegistry((*kept, codec))

    def codec_for(self, value_type: type) -> Codec | None:
        codec = self._by_type.get(value_type)
        if codec is not None:
            return codec
        for base in value_type.__mro__[1:]:
            codec = self._by_type.get(base)
            if codec is not None:
                return codec
        return None

    def codec_named(self, tag: str) -> Codec | None:
        return self._by_tag.get(tag)

    # -- encoding -------------------------------------------------------------------------------

    def to_jsonable(self, value: Any, key: str, path: str) -> Any:
        """``value`` as plain JSON data; raises StateSerializationError naming key and path."""
        value_type = type(value)
        if value_type in _SCALARS:
            return value
        if value_type is list:
            if all(type(item) in _SCALARS for item in value):
                return value
            return [self.to_jsonable(item, key, f"{path}[{i}]") for i, item in enumerate(value)]
        if value_type is dict:
            return self._dict_to_jsonable(value, key, path)
        codec = self.codec_for(value_type)
        if codec is None:
            if isinstance(value, Mapping) and value_type is not dict:
                return self._dict_to_jsonable(dict(value), key, path)
            raise StateSerializationError(key, path, _type_name(value_type))
        try:
            payload = codec.encode(value)
        except StateSerializationError:
            raise
        except Exception as exc:  # a codec that fails on this value cannot persist it
            raise StateSerializationError(key, path, _type_name(value_type)) from exc
        return {TAG: codec.tag, "v": self.to_jsonable(payload, key, f"{path}<{codec.tag}>")}

    def _dict_to_jsonable(self, value: dict[Any, Any], key: str, path: str) -> Any:
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: self.to_jsonable(v, key, f"{path}.{k}") for k, v in value.items()}
        pairs = [
            [self.to_jsonable(k, key, f"{path}<key>"), self.to_jsonable(v, key, f"{path}[{k!r}]")]
            for k, v in value.items()
        ]
        return {TAG: "dict", "v": pairs}

    def encode_state(self, values: Mapping[str, Any]) -> str:
        """The JSON text of a state's values. Raises before returning if any value cannot be
        written, so a caller that encodes first never writes half a state."""
        if _SCALARS.issuperset(map(type, values.values())):
            return encode_payload(values if type(values) is dict else dict(values))
        try:
            return _ENCODER.encode(
                {key: self.to_jsonable(value, key, key) for key, value in values.items()}
            )
        except RecursionError:  # a value nested about 500 levels deep, or one holding itself
            raise self._too_deep(values) from None

    def state_payload(self, state: Any) -> dict[str, Any] | str:
        """What a saver queues for ``state``: a dict of its own values when they are all
        scalars (encoded later, many states in one call: :func:`encode_keyed`), else its JSON
        text. Checked now either way, so a value that cannot be persisted raises before
        anything is queued."""
        if type(state) is State:
            values = state.get_all()  # already a dict of our own
            if _SCALARS.issuperset(map(type, values.values())):
                return values
        else:
            values = state_values(state)
            if _SCALARS.issuperset(map(type, values.values())):
                return dict(values)
        return self.encode_state(values)

    def _too_deep(self, values: Mapping[str, Any]) -> StateSerializationError:
        """The error for a state too deep to encode, naming the key that is."""
        deepest = next(k for k, v in values.items() if type(v) not in _SCALARS)
        for key, value in values.items():
            try:
                _ENCODER.encode(self.to_jsonable(value, key, key))
            except RecursionError:
                deepest = key
                break
        value_type = _type_name(type(values[deepest]))
        return StateSerializationError(deepest, deepest, value_type, too_deep=True)

    # -- decoding -------------------------------------------------------------------------------

    def _object_hook(self, obj: dict[str, Any]) -> Any:
        tag = obj.get(TAG)
        if tag is None:
            return obj
        payload = obj.get("v")
        if tag == "dict":
            return {_hashable(k): v for k, v in payload}
        codec = self._by_tag.get(tag)
        if codec is None:
            raise StateDeserializationError(
                f"persisted state holds a value tagged '{tag}', and no codec has that tag",
                hints=("pass the registry that wrote this state (with_codec) to the persister",),
            )
        try:
            return codec.decode(payload)
        except StateDeserializationError:
            raise
        except Exception as exc:
            raise StateDeserializationError(
                f"persisted value tagged '{tag}' cannot be decoded: {exc}"
            ) from exc

    def decode_state(self, text: str | bytes) -> dict[str, Any]:
        """The state values encoded by :meth:`encode_state`."""
        try:
            values = json.loads(text, object_hook=self._object_hook)
        except json.JSONDecodeError as exc:
            raise StateDeserializationError(f"persisted state is not valid JSON: {exc}") from exc
        except RecursionError:
            message = "persisted state is nested too deeply to read"
            raise StateDeserializationError(message) from None
        if not isinstance(values, dict):
            raise StateDeserializationError("persisted state is not a JSON object")
        return values


def encode_payload(payload: dict[str, Any] | str) -> str:
    """The JSON text of a :meth:`SerializationRegistry.state_payload`."""
    if type(payload) is str:
        return payload
    if _FLAT_ENCODER is not None:
        return "".join(_FLAT_ENCODER(payload, 0))
    return _ENCODER.encode(payload)


def encode_keyed(flat_states: dict[str, dict[str, Any]]) -> str:
    """One JSON object of flat states (dict payloads) by key, in one encoder call: the same text
    per state as :func:`encode_payload`, for less than half the cost of one call per state."""
    if _FLAT_ENCODER is not None:
        return "".join(_FLAT_ENCODER(flat_states, 0))
    return _ENCODER.encode(flat_states)


def _hashable(key: Any) -> Any:
    """Keys decode as lists when they were tuples inside a list; dict keys must be hashable."""
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _type_name(value_type: type) -> str:
    module = value_type.__module__
    return (
        value_type.__qualname__ if module == "builtins" else f"{module}.{value_type.__qualname__}"
    )


def state_values(state: Any) -> Mapping[str, Any]:
    """The key/value mapping of a flowc ``State``, a Burr-style state or a plain mapping."""
    get_all = getattr(state, "get_all", None)
    if callable(get_all):
        return get_all()
    if isinstance(state, Mapping):
        return state
    raise TypeError(f"expected a State or a mapping, got {type(state).__name__}")
