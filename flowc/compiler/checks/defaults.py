"""State defaults: a field's ``= default`` must have the field's declared type (F312).

``round: int = "3"`` would start every run with a string where the flow's conditions and every
``--state`` value expect an int; the CLI already refuses ``--state round=x`` (F604) by the same
rule (``compiler.value_types``). Imported types (pydantic models, enums) are checked only when
the checks may import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flowc.compiler.checks.common import error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.checks.imported import FAILED, PythonObjects
from flowc.compiler.ir import FlowIR, FlowMeta, PythonImport, StateFieldSpec
from flowc.compiler.value_types import (
    CONTAINERS,
    SCALARS,
    ModelLookup,
    TypeProblem,
    example_value,
    imported_classes,
    type_problem,
)
from flowc.errors import Diagnostic, Span

F_DEFAULT_TYPE = "F312"


def check_defaults(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    seen: set[int] = set()  # a file's schema is shared by its nested graphs: check it once
    for scope in facts.scopes:
        meta = scope.meta
        if id(meta.schema) in seen or not any(f.default is not None for f in meta.schema):
            continue
        seen.add(id(meta.schema))
        model_of = _model_lookup(meta, facts.python)
        for spec in meta.schema:
            if spec.default is None:
                continue
            problem = type_problem(spec.default.to_python(), spec.type, spec.name, model_of)
            if problem is not None:
                yield _wrong_default(spec, problem, spec.default.span)


def _model_lookup(meta: FlowMeta, python: PythonObjects | None) -> ModelLookup:
    """The imported class a type name stands for, from the checks' own imports."""
    if python is None:
        return imported_classes(meta, None)

    def load(spec: PythonImport) -> Any:
        target = python.get(spec.module, spec.name, spec.span)
        return None if target is FAILED else target

    return imported_classes(meta, load)


def _wrong_default(spec: StateFieldSpec, problem: TypeProblem, where: Span) -> Diagnostic:
    declared = str(spec.type)
    found = problem.found(flow=True)
    if problem.path == spec.name:
        detail = f"its default is {found}"
    else:
        detail = f"in its default {problem.path} is {found} (expected {problem.expected})"
    hints = []
    if problem.value is None and problem.path == spec.name:
        hints.append(f"declare it `optional[{declared}]` to start it as None")
    if spec.type.name.value in (*SCALARS, *CONTAINERS):
        example = _flow_literal(example_value(spec.type))
        hints.append(f"give a default of that type, e.g. `{spec.name}: {declared} = {example}`")
    else:
        hints.append(f"give a default that {declared} accepts")
    hints.append("or leave the default out: the field then starts unset")
    return error(
        F_DEFAULT_TYPE,
        f"the state field '{spec.name}' is declared `{declared}`, but {detail}",
        where,
        *hints,
    )


def _flow_literal(value: Any) -> str:
    """``value`` as a .flow file writes it (``True``, ``None``, ``"text"``, ``[3]``)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, list):
        return f"[{', '.join(map(_flow_literal, value))}]"
    if isinstance(value, dict):
        entries = (f"{_flow_literal(k)}: {_flow_literal(v)}" for k, v in value.items())
        return f"{{{', '.join(entries)}}}"
    return json.dumps(value)
