"""flowc: a declarative graph language, its compiler, and the parallel runtime it compiles to.

This module exports only the leaf names (errors and spans). Compiler names are served lazily so
that ``import flowc.runtime`` never loads the compiler, Lark or Graphviz.
"""

from __future__ import annotations

from typing import Any

from flowc.errors import (
    Diagnostic as Diagnostic,
)
from flowc.errors import (
    FlowBuildError as FlowBuildError,
)
from flowc.errors import (
    FlowCheckError as FlowCheckError,
)
from flowc.errors import (
    FlowError as FlowError,
)
from flowc.errors import (
    FlowRuntimeError as FlowRuntimeError,
)
from flowc.errors import (
    FlowSyntaxError as FlowSyntaxError,
)
from flowc.errors import (
    Severity as Severity,
)
from flowc.errors import (
    Span as Span,
)

__version__ = "0.1.0"

_LAZY = {"compile_file", "compile_source", "CompiledFlow"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import flowc.compiler

        return getattr(flowc.compiler, name)
    raise AttributeError(f"module 'flowc' has no attribute {name!r}")
