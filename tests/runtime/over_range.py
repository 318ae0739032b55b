"""A map used by the parallelism tests: ``branch`` over ``range(n)``, collecting ``field``."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from flowc.runtime.parallelism import MapStates
from flowc.runtime.state import State


class OverRange(MapStates):
    """Maps ``branch`` over range(n) and collects ``field`` from every branch."""

    branch: Any = None
    field = "out"

    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return self.branch

    def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator[State]:
        for i in range(state["n"]):
            yield state.update(i=i)

    def reduce(self, state: State, states: Generator[State]) -> State:
        return state.update(results=[sub[self.field] for sub in states])

    @property
    def reads(self) -> list[str]:
        return ["n"]

    @property
    def writes(self) -> list[str]:
        return ["results"]
