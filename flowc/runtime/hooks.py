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
  a sync app calls only the sync methods).
"""

from __future__ import annotations

import abc
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
    """The hooks of one application, sorted by what they implement (computed once)."""

    post_create: tuple[Any, ...] = ()
    pre_step: tuple[Any, ...] = ()
    post_step: tuple[Any, ...] = ()
    pre_step_async: tuple[Any, ...] = ()
    post_step_async: tuple[Any, ...] = ()

    @staticmethod
    def of(hooks: Sequence[Any]) -> HookSet:
        def having(method: str) -> tuple[Any, ...]:
            return tuple(hook for hook in hooks if callable(getattr(hook, method, None)))

        return HookSet(
            post_create=having("post_application_create"),
            pre_step=having("pre_run_step"),
            post_step=having("post_run_step"),
            pre_step_async=having("pre_run_step_async"),
            post_step_async=having("post_run_step_async"),
        )

    @property
    def observes_steps(self) -> bool:
        return bool(self.pre_step or self.post_step or self.pre_step_async or self.post_step_async)
