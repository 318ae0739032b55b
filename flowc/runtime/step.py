"""Running one action on one state: inputs, the call, and the checks on what it wrote.

This is the whole of a step minus hooks and bookkeeping, shared by ``Application`` and by
parallel branches that run an action without building a child application. It is the hot path
of every sequential flow, so the common case (no inputs, a function returning one
``state.update(...)``) costs one call into the action plus a few comparisons:

- the action gets a state with an empty write record (``State._fresh``; free when the state
  came out of a previous step, whose record is reset once it has been checked);
- the record of the state it returns is compared with the declared writes (a frozenset);
  only a mismatch goes on to work out which rule was broken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowc.errors import FlowRuntimeError
from flowc.runtime.action import CONTEXT_INPUT, Action, ActionPlan, normalise_result, plan_for
from flowc.runtime.state import EMPTY_RECORD, State, validate_writes

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


def call_kwargs(plan: ActionPlan, inputs: Mapping[str, Any] | None, context: Any) -> dict:
    """The keyword arguments for ``plan.call``: bound values, inputs and the context."""
    if plan.plain:
        return plan.bound
    kwargs = dict(plan.bound)
    given = inputs or _NO_INPUTS
    for name in plan.required:
        if name not in given:
            hints = [f"pass it: app.run(..., inputs={{'{name}': ...}})"]
            if name in plan.action.reads:  # a map's item, say: the author meant the key's value
                hints.append(
                    f"'{name}' is also a state key the action reads: to use its value, drop the "
                    f'parameter and read state["{name}"] in the function'
                )
            raise MissingInputError(
                f"action '{plan.name}' needs the input '{name}', which was not passed",
                hints=tuple(hints),
                span=plan.action.origin,
            )
        kwargs[name] = given[name]
    for name in plan.optional:
        if name in given:
            kwargs[name] = given[name]
    if plan.wants_context:
        kwargs[CONTEXT_INPUT] = context
    return kwargs


def note_action(error: BaseException, plan: ActionPlan) -> None:
    """Add ``flowc: in action 'x' at file:line:col`` to an exception escaping an action."""
    origin = plan.action.origin
    where = f" at {origin}" if origin is not None else ""
    error.add_note(f"flowc: in action '{plan.name}'{where}")


def finish(plan: ActionPlan, given: State, out: Any) -> tuple[dict, State]:
    """Turn what the action returned into (result, new state) and check its writes."""
    if plan.single_step:
        if type(out) is State:
            result, new_state = {}, out
        else:
            result, new_state = normalise_result(plan.action, out)
    else:
        result = out
        new_state = plan.update(out, given)  # type: ignore[misc]
        if type(new_state) is not State:
            normalise_result(plan.action, new_state)
    written = new_state._written
    if written is None:
        written = new_state._written_since(given)
    if len(written) != plan.n_writes or not plan.writes.issuperset(written):
        _check_writes(plan, written, new_state)
    if new_state._schema is not None and written:
        validate_writes(new_state, written, plan.name)
    if new_state is not given:
        new_state._written = EMPTY_RECORD  # checked: the next action may start from it
    return result, new_state


def _check_writes(plan: ActionPlan, written: Any, state: State) -> None:
    undeclared = sorted(set(written) - plan.writes)
    if undeclared:
        raise UndeclaredWriteError(
            f"action '{plan.name}' wrote {', '.join(map(repr, undeclared))}, "
            f"which it does not declare (writes: {', '.join(sorted(plan.writes)) or 'none'})",
            hints=(f"add {', '.join(map(repr, undeclared))} to the action's writes",),
            span=plan.action.origin,
        )
    missing = sorted(key for key in plan.writes.difference(written) if key not in state)
    if missing:
        raise MissingWriteError(
            f"action '{plan.name}' declares it writes {', '.join(map(repr, missing))}, "
            "but did not write it",
            hints=("write every declared key, or remove it from the action's writes",),
            span=plan.action.origin,
        )


def async_in_sync_error(plan: ActionPlan) -> AsyncActionInSyncRunError:
    return AsyncActionInSyncRunError(
        f"action '{plan.name}' is async; run the application with astep/arun/aiterate",
        hints=("await app.arun(...) inside an event loop, or make the action a plain def",),
        span=plan.action.origin,
    )


def run_plan(
    plan: ActionPlan, state: State, inputs: Mapping[str, Any] | None, context: Any
) -> tuple[dict, State]:
    """``run_action`` for a plan already looked up (the step loop's entry)."""
    if plan.is_async:
        raise async_in_sync_error(plan)
    kwargs = plan.bound if plan.plain else call_kwargs(plan, inputs, context)
    given = state if state._written is EMPTY_RECORD else state._fresh()
    try:
        out = plan.call(given, **kwargs)
        # The common case, checked inline: one State back, with a write record that is
        # exactly the declared writes, and no schema to validate.
        if type(out) is State and plan.single_step and out._schema is None:
            written = out._written
            if (
                written is not None
                and len(written) == plan.n_writes
                and plan.writes.issuperset(written)
            ):
                if out is not given:
                    out._written = EMPTY_RECORD
                return {}, out
        return finish(plan, given, out)
    except Exception as error:
        note_action(error, plan)
        raise


def run_action(
    action: Action, state: State, inputs: Mapping[str, Any] | None, context: Any
) -> tuple[dict, State]:
    """Run one synchronous action: resolve inputs, call it, check its writes.

    ``context`` is the ``ApplicationContext`` passed to an action asking for ``__context``
    (it may be ``None`` when the action does not ask)."""
    return run_plan(plan_for(action), state, inputs, context)


async def arun_plan(
    plan: ActionPlan, state: State, inputs: Mapping[str, Any] | None, context: Any
) -> tuple[dict, State]:
    kwargs = plan.bound if plan.plain else call_kwargs(plan, inputs, context)
    given = state._fresh()
    try:
        out = plan.call(given, **kwargs)
        if plan.is_async:
            out = await out
        return finish(plan, given, out)
    except Exception as error:
        note_action(error, plan)
        raise


async def arun_action(
    action: Action, state: State, inputs: Mapping[str, Any] | None, context: Any
) -> tuple[dict, State]:
    """Run one action from async code: awaited when async, called inline otherwise."""
    return await arun_plan(plan_for(action), state, inputs, context)
