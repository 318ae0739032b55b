"""Persisted state is JSON; every value the registry knows comes back equal and of the same type,
and a value it does not know is refused, naming the key, before anything is written."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import pathlib
import uuid

import pydantic
import pytest

from flowc import FlowRuntimeError
from flowc.runtime.serialization import (
    TAG,
    Codec,
    SerializationRegistry,
    StateDeserializationError,
    StateSerializationError,
)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(pydantic.BaseModel):
    x: int
    y: int
    seen: dt.datetime | None = None


class Opaque:
    """A type no codec knows."""


def round_trip(values: dict[str, object], registry: SerializationRegistry | None = None) -> dict:
    registry = registry or SerializationRegistry.default()
    return registry.decode_state(registry.encode_state(values))


def test_plain_json_values_are_written_as_plain_json() -> None:
    values = {"n": 3, "f": 1.5, "s": "é", "b": True, "none": None, "xs": [1, "a"], "d": {"k": []}}
    registry = SerializationRegistry.default()
    assert json.loads(registry.encode_state(values)) == values
    assert round_trip(values) == values


@pytest.mark.parametrize(
    "value",
    [
        (1, 2, (3, "x")),
        {1, 2, 3},
        frozenset({"a", "b"}),
        b"\x00\xffbytes",
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        dt.date(2026, 1, 2),
        dt.time(3, 4, 5),
        dt.timedelta(days=2, seconds=5, microseconds=7),
        decimal.Decimal("1.10"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        pathlib.Path("/tmp/x"),
        Colour.BLUE,
        Point(x=1, y=2, seen=dt.datetime(2026, 1, 1)),
        {1: "int key", (2, 3): "tuple key"},
        {TAG: "a user dict that happens to use the marker key"},
        [{"nested": (1, {2})}],
    ],
    ids=lambda v: type(v).__name__,
)
def test_registered_types_round_trip_with_their_type(value: object) -> None:
    back = round_trip({"v": value})["v"]
    assert back == value
    assert type(back) is type(value)


def test_unknown_type_names_key_path_and_type() -> None:
    registry = SerializationRegistry.default()
    with pytest.raises(StateSerializationError) as caught:
        registry.encode_state({"ok": 1, "results": [1, {"when": Opaque()}]})
    error = caught.value
    assert (error.key, error.path) == ("results", "results[1].when")
    assert error.value_type.endswith("Opaque")
    assert error.code == "F530"
    assert "results" in str(error) and "Opaque" in str(error)
    assert isinstance(error, FlowRuntimeError) and isinstance(error, TypeError)


def nested_list(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


def holding_itself() -> list[object]:
    value: list[object] = [1]
    value.append(value)
    return value


@pytest.mark.parametrize("value", [nested_list(5000), holding_itself()], ids=["deep", "cycle"])
def test_a_value_too_deep_to_write_names_its_key(value: object) -> None:
    with pytest.raises(StateSerializationError) as caught:
        SerializationRegistry.default().encode_state({"ok": [1], "tree": value})
    assert caught.value.key == "tree" and caught.value.code == "F530"
    assert "nested too deeply to persist, or one that contains itself" in str(caught.value)


def test_a_codec_can_be_added_without_changing_the_default() -> None:
    codec = Codec("opaque", Opaque, lambda _o: "opaque", lambda _v: Opaque())
    extended = SerializationRegistry.default().with_codec(codec)
    assert isinstance(round_trip({"o": Opaque()}, extended)["o"], Opaque)
    with pytest.raises(StateSerializationError):
        SerializationRegistry.default().encode_state({"o": Opaque()})


def test_a_codec_failing_on_a_value_is_a_serialization_error() -> None:
    def refuse(_value: Opaque) -> str:
        raise ValueError("no")

    registry = SerializationRegistry.default().with_codec(Codec("o", Opaque, refuse, Opaque))
    with pytest.raises(StateSerializationError) as caught:
        registry.encode_state({"o": Opaque()})
    assert isinstance(caught.value.__cause__, ValueError)


def test_unknown_tag_on_read_is_a_deserialization_error() -> None:
    with pytest.raises(StateDeserializationError) as caught:
        SerializationRegistry.default().decode_state('{"x": {"__flowc__": "martian", "v": 1}}')
    assert caught.value.code == "F531" and "martian" in str(caught.value)


@pytest.mark.parametrize(
    "text", ["not json", "[1, 2]", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"]
)
def test_corrupt_text_is_a_deserialization_error(text: str) -> None:
    with pytest.raises(StateDeserializationError):
        SerializationRegistry.default().decode_state(text)


def test_classes_are_imported_only_if_they_are_models_or_enums() -> None:
    text = json.dumps({"x": {TAG: "pydantic", "v": {"cls": "os:system", "data": {}}}})
    with pytest.raises(StateDeserializationError, match="not a BaseModel subclass"):
        SerializationRegistry.default().decode_state(text)
    missing = json.dumps({"x": {TAG: "enum", "v": {"cls": "no_such_module:E", "value": 1}}})
    with pytest.raises(StateDeserializationError, match="cannot be imported"):
        SerializationRegistry.default().decode_state(missing)


def test_equal_sets_encode_to_equal_text() -> None:
    registry = SerializationRegistry.default()
    assert registry.encode_state({"s": {3, 1, 2}}) == registry.encode_state({"s": {2, 3, 1}})
