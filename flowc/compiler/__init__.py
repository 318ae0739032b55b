"""The .flow compiler: parse → AST → IR → checks → build / emit / render.

``parse`` is the front end (text → typed AST and diagnostics); ``compile_file``,
``compile_source`` and ``CompiledFlow`` join it to the runtime (added with the IR and checks).
"""

from flowc.compiler.compiled import CompiledFlow, compile_file, compile_source  # noqa: F401
from flowc.compiler.parse import parse as parse
from flowc.compiler.parse import parse_file as parse_file
from flowc.compiler.parse import parse_or_raise as parse_or_raise
