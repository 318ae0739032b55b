"""Running one action on one state: inputs, the call, and the checks on what it wrote.

This is the whole of a step minus hooks and bookkeeping, shared by ``Application`` and by
parallel branches that run an action without building a child application.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowc.errors import FlowRuntimeError
from flowc.runtime.action import CONTEXT_INPUT, Action, ActionPlan, normalise_result, plan_for
from flowc.runtime.state import State, validate_writes

_NO_INPUTS: Mapping[str, Any] = {}


class MissingInputError(FlowRuntimeError, ValueError):
    """An action needs a runtime input that the caller did not pass."""

    default_code = "F501"


class UndeclaredWriteError(FlowRuntimeError, ValueError):
    """An action wrote a key it does not declare in ``writes``."""

    default_code = "F502"


class MissingWriteError(FlowRuntimeError, ValueError):
    """An action declares a write that the state does not hold after it ran."""

    default_code = "F503"


class AsyncActionInSyncRunError(FlowRuntimeError, ValueError):
    """An async action was reached from a synchronous ``step``/``run``/``iterate``."""

    default_code = "F504"


def _kwargs(plan: ActionPlan, inputs: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    if not (plan.required or plan.optional or plan.wants_context):
        return plan.bound
    kwargs = dict(plan.bound)
    given = inputs or _NO_INPUTS
    for name in plan.required:
        if name not in given:
            raise MissingInputError(
                f"action '{plan.name}' needs the input '{name}', which was not passed",
                hints=(f"pass it: app.run(..., inputs={{'{name}': ...}})",),
            )
        kwargs[name] = given[name]
    for name in plan.optional:
        if name in given:
            kwargs[name] = given[name]
    if plan.wants_context:
        kwargs[CONTEXT_INPUT] = context
    return kwargs


def _note(error: BaseException, action: Action) -> None:
    where = f" at {action.origin}" if action.origin is not None else ""
    error.add_note(f"flowc: in action '{action.name}'{where}")


def _finish(action: Action, plan: ActionPlan, given: State, out: Any) -> tuple[dict, State]:
    if plan.single_step:
        result, new_state = normalise_result(action, out)
    else:
        result = out
        new_state = action.update(out, given)
        if not isinstance(new_state, State):
            normalise_result(action, new_state)
    written = new_state._written_since(given)
    if written != plan.writes:
        _check_writes(action, plan, written, new_state)
    if new_state._schema is not None and written:
        validate_writes(new_state, written, plan.name)
    return result, new_state


def _check_writes(action: Action, plan: ActionPlan, written: frozenset[str], state: State) -> None:
    undeclared = sorted(written - plan.writes)
    if undeclared:
        raise UndeclaredWriteError(
            f"action '{plan.name}' wrote {', '.join(map(repr, undeclared))}, "
            f"which it does not declare (writes: {', '.join(sorted(plan.writes)) or 'none'})",
            hints=(f"add {', '.join(map(repr, undeclared))} to the action's writes",),
            span=action.origin,
        )
    missing = sorted(key for key in plan.writes - written if key not in state)
    if missing:
        raise MissingWriteError(
            f"action '{plan.name}' declares it writes {', '.join(map(repr, missing))}, "
            "but did not write it",
            hints=("write every declared key, or remove it from the action's writes",),
            span=action.origin,
        )


def run_action(
    action: Action, state: State, inputs: Mapping[str, Any] | None, context: Any
) -> tuple[dict, State]:
    """Run one synchronous action: resolve inputs, call it, check its writes."""
    plan = plan_for(action)
    if plan.is_async:
        raise AsyncActionInSyncRunError(
            f"action '{plan.name}' is async; run the application with astep/arun/aiterate",
            span=action.origin,
        )
    kwargs = _kwargs(plan, inputs, context)
    given = state._fresh()
    try:
        out = plan.call(given, **kwargs)
        return _finish(action, plan, given, out)
    except Exception as error:
        _note(error, action)
        raise


async def arun_action(
    action: Action, state: State, inputs: Mapping[str, Any] | None, context: Any
) -> tuple[dict, State]:
    """Run one action from async code: awaited when async, called inline otherwise."""
    plan = plan_for(action)
    kwargs = _kwargs(plan, inputs, context)
    given = state._fresh()
    try:
        out = plan.call(given, **kwargs)
        if plan.is_async:
            out = await out
        return _finish(action, plan, given, out)
    except Exception as error:
        _note(error, action)
        raise
