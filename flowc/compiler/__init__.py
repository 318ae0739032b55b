"""The .flow compiler: parse → AST → IR → checks → build / emit / render.

``parse`` is the front end (text → typed AST and diagnostics); ``compile_file``,
``compile_source`` and ``CompiledFlow`` are the funnel that joins it to the runtime. The funnel
(and with it networkx and the checks) loads on first use, so parsing or formatting alone
starts fast.
"""

from typing import Any

from flowc.compiler.parse import parse as parse
from flowc.compiler.parse import parse_file as parse_file
from flowc.compiler.parse import parse_or_raise as parse_or_raise

_FUNNEL = ("CompiledFlow", "compile_file", "compile_source")

__all__ = [
    "CompiledFlow",
    "compile_file",
    "compile_source",
    "parse",
    "parse_file",
    "parse_or_raise",
]


def __getattr__(name: str) -> Any:
    if name in _FUNNEL:
        from flowc.compiler import compiled

        return getattr(compiled, name)
    raise AttributeError(f"module 'flowc.compiler' has no attribute {name!r}")
