"""Importing the runtime loads nothing from the compiler, the CLI or the heavy libraries the
language and the renderer need; the runtime's source does not import them at module level."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import flowc.runtime

RUNTIME = Path(flowc.runtime.__file__).parent
FORBIDDEN_AT_IMPORT = ("flowc.compiler", "flowc.cli", "lark", "networkx", "graphviz", "pygraphviz")
FORBIDDEN_IN_SOURCE = ("flowc.compiler", "flowc.cli", "lark", "networkx", "graphviz")


def loaded_after(statement: str) -> list[str]:
    probe = f"import sys; {statement}; print('\\n'.join(sorted(m for m in sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.split()


def forbidden(modules: list[str], roots: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == r or m.startswith(r + ".") for r in roots)]


def test_importing_the_runtime_loads_no_compiler_cli_or_heavy_library() -> None:
    modules = loaded_after("import flowc.runtime")
    assert "flowc.runtime" in modules
    assert forbidden(modules, FORBIDDEN_AT_IMPORT) == []


def test_the_reference_pages_imports_load_no_compiler_and_no_pydantic() -> None:
    modules = loaded_after(
        "from flowc.runtime import action, state, State, ApplicationContext; "
        "from flowc.runtime.application import ApplicationBuilder, run_action, arun_action; "
        "from flowc.runtime.graph import Graph, GraphBuilder; "
        "from flowc.runtime.step import run_action"
    )
    assert forbidden(modules, (*FORBIDDEN_AT_IMPORT, "pydantic")) == []


def test_running_an_untyped_flow_with_an_expr_condition_loads_no_pydantic_or_lark() -> None:
    modules = loaded_after(
        "from flowc.runtime import ApplicationBuilder, action, expr\n"
        "bump = action(reads=['n'], writes=['n'])(lambda state: state.update(n=state['n'] + 1))\n"
        "app = (ApplicationBuilder().with_actions(bump=bump)"
        ".with_transitions(('bump', 'bump', expr('n < 3')))"
        ".with_state(n=0).with_entrypoint('bump').build())\n"
        "assert app.run()[2]['n'] == 3"
    )
    assert forbidden(modules, (*FORBIDDEN_AT_IMPORT, "pydantic")) == []


def module_level_imports(path: Path) -> list[str]:
    """Modules imported by statements that run when ``path`` is imported (not inside a def)."""
    names: list[str] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return names


def test_no_runtime_module_imports_the_compiler_cli_lark_networkx_or_graphviz() -> None:
    offenders = {
        str(path.relative_to(RUNTIME)): bad
        for path in sorted(RUNTIME.rglob("*.py"))
        if (bad := forbidden(module_level_imports(path), FORBIDDEN_IN_SOURCE))
    }
    assert offenders == {}


def test_the_scan_sees_module_level_imports_but_not_ones_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import lark\nfrom networkx import DiGraph\n"
        "try:\n    import graphviz\nexcept ImportError:\n    pass\n"
        "def later():\n    import flowc.compiler\n",
        encoding="utf-8",
    )
    assert module_level_imports(sample) == ["lark", "networkx", "graphviz"]
