"""Whether a value has a state field's declared type (``int``, ``list[str]``, ``optional[Answer]``):
one answer for the defaults a ``state { }`` block writes (check F312) and for the values given on
the command line (``--state``, ``--state-file``: F604).

Imported types (a pydantic model, an ``Enum``) are checked only when the caller can look the
class up (``ModelLookup``); other classes, and models that cannot be imported, are accepted.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowc.compiler.ast import TypeRef
    from flowc.compiler.ir import FlowMeta, PythonImport

ModelLookup = Callable[[str], Any]
"""The class a .flow file imports under a name, or ``None`` when it cannot tell."""


def imported_classes(meta: FlowMeta, load: Callable[[PythonImport], Any] | None) -> ModelLookup:
    """The ``ModelLookup`` of a .flow file: a type name it imports (``from m import Answer``),
    loaded by ``load`` (``None``: nothing is imported, so no imported type is checked)."""
    from flowc.compiler.ir import PythonImport

    imports = {i.local: i for i in meta.imports if isinstance(i, PythonImport)}

    def lookup(name: str) -> Any:
        found = imports.get(name)
        return None if found is None or load is None else load(found)

    return lookup


SCALARS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
}
CONTAINERS = ("list", "dict", "optional", "any")


def describe_value(value: Any, *, flow: bool = False) -> str:
    """A value in words: ``the string 'x'``, ``the integer 3``, ``a list of 2 items``; with
    ``flow``, constants as a .flow file writes them (``None``, ``True``), else as JSON does."""
    if value is None:
        return "None" if flow else "null"
    if isinstance(value, bool):
        return f"the boolean {value if flow else json.dumps(value)}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "a dict" if flow else "an object"
    return f"a {type(value).__name__}"


@dataclass(frozen=True, slots=True)
class TypeProblem:
    """Where in a value the type first fails (``xs[1]``), the part that fails, the type it should
    have, and why an imported type rejected it (pydantic's first error, an enum's choices)."""

    path: str
    value: Any
    expected: str
    detail: str = ""

    def found(self, *, flow: bool = False) -> str:
        described = describe_value(self.value, flow=flow)
        return f"{described} ({self.detail})" if self.detail else described


def type_problem(
    value: Any, ref: TypeRef, path: str, model_of: ModelLookup, *, json_keys: bool = False
) -> TypeProblem | None:
    """Why ``value`` is not of the declared type ``ref``, or ``None`` when it is. ``json_keys``:
    the value came from JSON, whose object keys are always text (``{"1": 0.5}`` for
    ``dict[int, float]``), so a key of another type is read from its text first."""
    name = ref.name.value
    args = ref.args
    if name == "any":
        return None
    if name == "optional":
        if value is None or not args:
            return None
        return type_problem(value, args[0], path, model_of, json_keys=json_keys)
    if name in SCALARS:
        return None if SCALARS[name](value) else TypeProblem(path, value, name)
    if name == "list":
        if not isinstance(value, list):
            return TypeProblem(path, value, str(ref))
        for index, item in enumerate(value):
            found = args and type_problem(
                item, args[0], f"{path}[{index}]", model_of, json_keys=json_keys
            )
            if found:
                return found
        return None
    if name == "dict":
        if not isinstance(value, dict):
            return TypeProblem(path, value, str(ref))
        if len(args) != 2:
            return None
        key_type, item_type = args
        for key, item in value.items():
            typed_key = _from_json(key) if json_keys and key_type.name.value != "str" else key
            found = type_problem(
                typed_key, key_type, f"a key of {path}", model_of, json_keys=json_keys
            ) or type_problem(item, item_type, f"{path}[{key!r}]", model_of, json_keys=json_keys)
            if found:
                return found
        return None
    return model_problem(value, name, path, model_of)


def _from_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def model_problem(value: Any, name: str, path: str, model_of: ModelLookup) -> TypeProblem | None:
    """A value for an imported type: validated by pydantic (a ``BaseModel``), by value (an
    ``Enum``); other classes, and models that cannot be imported, are not checked."""
    model = model_of(name)
    if model is None:
        return None
    validate = getattr(model, "model_validate", None)
    if callable(validate):
        try:
            validate(value)
        except Exception as error:  # pydantic's ValidationError; any failure means "not valid"
            return TypeProblem(path, value, name, first_pydantic_error(error))
        return None
    if isinstance(model, type) and issubclass(model, enum.Enum):
        try:
            model(value)
        except ValueError:
            choices = ", ".join(json.dumps(m.value, default=repr) for m in model)
            return TypeProblem(path, value, name, f"one of {choices}")
    return None


def first_pydantic_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    try:
        first = errors()[0] if callable(errors) else None
    except Exception:  # not pydantic's error after all
        first = None
    if not first:
        return str(error).splitlines()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))


def example_value(ref: TypeRef) -> Any:
    """A value of type ``ref``, for hints (``json.dumps`` writes its keys as JSON text)."""
    name = ref.name.value
    args = ref.args
    examples = {"str": "text", "int": 3, "float": 0.5, "bool": True, "any": 1}
    if name in examples:
        return examples[name]
    if name == "optional" and args:
        return example_value(args[0])
    if name == "list":
        return [example_value(args[0])] if args else []
    if name == "dict" and len(args) == 2:
        key = example_value(args[0])
        return {key if isinstance(key, Hashable) else "key": example_value(args[1])}
    return {}
