"""Lifecycle hooks: how trackers, persisters and user code observe an application.

A hook is any object with one or more of the methods below; the application calls the ones it
has, always with keyword arguments, so hooks should accept ``**future_kwargs`` to stay
compatible as arguments are added. Post-step hooks run in a ``finally``: they see the exception
of a failed step, and the state is then the state before the step.

- ``post_application_create(*, app_id, partition_key, state, application_graph,
  parent_pointer, spawning_parent_pointer, **future_kwargs)``
- ``pre_run_step(*, app_id, partition_key, sequence_id, state, action, inputs, **future_kwargs)``
- ``post_run_step(*, app_id, partition_key, sequence_id, state, action, result, exception,
  **future_kwargs)``
- ``async`` twins: ``pre_run_step_async`` / ``post_run_step_async`` (awaited by ``astep``;
  a sync app calls only the sync methods). A hook written for Burr, whose ``pre_run_step`` /
  ``post_run_step`` are themselves ``async def``, is treated as that twin.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class PostApplicationCreateHook(abc.ABC):
    @abc.abstractmethod
    def post_application_create(self, **kwargs: Any) -> None: ...


class PreRunStepHook(abc.ABC):
    @abc.abstractmethod
    def pre_run_step(self, **kwargs: Any) -> None: ...


class PostRunStepHook(abc.ABC):
    @abc.abstractmethod
    def post_run_step(self, **kwargs: Any) -> None: ...


class PreRunStepHookAsync(abc.ABC):
    @abc.abstractmethod
    async def pre_run_step_async(self, **kwargs: Any) -> None: ...


class PostRunStepHookAsync(abc.ABC):
    @abc.abstractmethod
    async def post_run_step_async(self, **kwargs: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class HookSet:
    """The hooks of one application, sorted by what they implement (computed once).

    A Burr-style async hook (``async def pre_run_step``/``post_run_step``) is filed with the
    async twins, wrapped so that ``astep`` awaits it under the twin's name; a synchronous step
    never calls it."""

    post_create: tuple[Any, ...] = ()
    pre_step: tuple[Any, ...] = ()
    post_step: tuple[Any, ...] = ()
    pre_step_async: tuple[Any, ...] = ()
    post_step_async: tuple[Any, ...] = ()

    @staticmethod
    def of(hooks: Sequence[Any]) -> HookSet:
        def having(method: str, *, coroutine: bool) -> tuple[Any, ...]:
            return tuple(
                hook
                for hook in hooks
                if callable(found := getattr(hook, method, None))
                and inspect.iscoroutinefunction(found) == coroutine
            )

        def twins(method: str) -> tuple[Any, ...]:
            named = tuple(
                hook for hook in hooks if callable(getattr(hook, f"{method}_async", None))
            )
            burr_style = tuple(
                _AwaitedUnderTwinName(hook, method) for hook in having(method, coroutine=True)
            )
            return named + burr_style

        return HookSet(
            post_create=having("post_application_create", coroutine=False),
            pre_step=having("pre_run_step", coroutine=False),
            post_step=having("post_run_step", coroutine=False),
            pre_step_async=twins("pre_run_step"),
            post_step_async=twins("post_run_step"),
        )

    @property
    def observes_steps(self) -> bool:
        return bool(self.pre_step or self.post_step or self.pre_step_async or self.post_step_async)


class _AwaitedUnderTwinName:
    """Presents a hook's ``async def pre_run_step`` as ``pre_run_step_async`` (same for post)."""

    __slots__ = ("hook", "method")

    def __init__(self, hook: Any, method: str) -> None:
        self.hook = hook
        self.method = method

    async def pre_run_step_async(self, **kwargs: Any) -> None:
        await self.hook.pre_run_step(**kwargs)

    async def post_run_step_async(self, **kwargs: Any) -> None:
        await self.hook.post_run_step(**kwargs)
