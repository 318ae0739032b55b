"""What a finished branch is, as seen by ``reduce``, streaming consumers and error messages."""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

from flowc.runtime.parallel.errors import BranchFailedError, branch_error_class

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxdict = 6


@dataclass(frozen=True, slots=True)
class BranchResult:
    """A branch that succeeded: its position, key, what ran, and its final state."""

    index: int
    key: str
    action_name: str
    state: Any
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class BranchFailure:
    """A branch that failed (after its retries): handed to ``reduce`` in its task position when
    the failure policy says ``failed="include"``. ``state`` is the branch's *input* state."""

    index: int
    key: str
    action_name: str
    error: BaseException
    state: Any
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return False

    def describe(self) -> str:
        return describe_branch(self.index, self.key, self.action_name)

    def to_error(self, map_name: str, item: str = "") -> BranchFailedError:
        """The F520 error for this failure, with the branch's exception as its cause."""
        cls = branch_error_class(self.error)
        where = f" of map '{map_name}'" if map_name else ""
        hints = [f"the branch's input: {item}"] if item else []
        hints.append("the branch's own exception is this error's __cause__")
        hints.append(
            "to let the map reduce without failed branches, tolerate them: `tolerate 1` or "
            "`tolerate 10%` on a .flow map (`FailurePolicy.tolerate(1)` in Python); `retry 2` "
            "retries each branch first"
        )
        error = cls(
            f"{self.describe()}{where} failed after {self.attempts} attempt(s): "
            f"{type(self.error).__name__}: {self.error}",
            hints=hints,
        )
        error.index, error.task_key, error.action_name = self.index, self.key, self.action_name
        error.__cause__ = self.error
        return error


def describe_branch(index: int, key: str, action_name: str) -> str:
    keyed = f", key {key!r}" if key != str(index) else ""
    return f"branch {index}{keyed} (action '{action_name}')"


def describe_item(branch_state: Any, parent_state: Any) -> str:
    """The fields a branch's input state changed relative to its parent: what the branch was
    *about*, for error messages. Compared by identity, so it is cheap and never calls ``__eq__``."""
    try:
        changed = {
            key: value
            for key, value in dict(branch_state).items()
            if not key.startswith("__")
            and (key not in parent_state or parent_state[key] is not value)
        }
    except Exception:  # a state we cannot read as a mapping: name it by type only
        return type(branch_state).__name__
    return _short.repr(changed)
