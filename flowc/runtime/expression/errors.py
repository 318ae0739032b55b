"""Errors and codes of the condition language (F11x syntax, F51x evaluation)."""

from __future__ import annotations

from typing import Any

from flowc.errors import FlowRuntimeError, FlowSyntaxError


class ExpressionSyntaxError(FlowSyntaxError, ValueError):
    """The text of a condition does not parse, or uses something the language forbids. F11x."""

    default_code = "F113"


class ExpressionKeyError(FlowRuntimeError, KeyError):
    """Evaluation read a top-level state key that the state lacks. F510; ``.key`` names it."""

    default_code = "F510"

    def __init__(self, key: str, message: str | None = None, **kwargs: Any) -> None:
        self.key = key
        super().__init__(message or f"state has no key '{key}'", **kwargs)


class ExpressionEvaluationError(FlowRuntimeError, TypeError):
    """An operation inside a condition failed (``"a" < 3``, ``len(5)``, ``xs[9]``). F511-F513;
    the span and ``.expression`` (canonical text) are those of the failing sub-expression."""

    default_code = "F511"

    def __init__(self, message: str, *, expression: str = "", **kwargs: Any) -> None:
        self.expression = expression
        super().__init__(message, **kwargs)


F_CHARACTER = "F110"
F_STRING = "F111"
F_NUMBER = "F112"
F_TOKEN = "F113"
F_END = "F114"
F_UNSUPPORTED = "F115"
F_FUNCTION = "F116"
F_CALL = "F117"
F_PRIVATE = "F118"
F_DEPTH = "F119"
F_TYPE = "F511"
F_LOOKUP = "F512"
F_VALUE = "F513"
