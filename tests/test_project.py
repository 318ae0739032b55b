"""The project's own promises: the README's commands, CI, and no eval/exec anywhere in flowc."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", readme, flags=re.S)[:2]


def test_readme_opens_with_an_example_command_and_a_test_command() -> None:
    example, tests = _readme_commands()
    assert "flowc run" in example and "flowc render" in example and ".svg" in example
    assert "pytest" in tests
    for flow_file in re.findall(r"(\S+\.flow)", example):
        assert (ROOT / flow_file).is_file(), f"the README runs {flow_file}, which does not exist"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, tests = _readme_commands()
    ci_lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert tests.strip() in ci_lines
    assert "set -euo pipefail" in ci_lines, "a failing (or empty) pytest run must fail CI"


def test_no_eval_or_exec_in_flowc() -> None:
    offenders = []
    for path in (ROOT / "flowc").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"eval", "exec", "compile"}
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_cli_loads_the_compiler_only_when_a_command_needs_it() -> None:
    """`flowc --version`, `--help` and usage errors answer without importing the compiler, Lark
    or networkx (most of a command's start-up): the command modules import them on use."""
    import subprocess
    import sys

    code = (
        "import sys, flowc.cli; "
        "print(sorted(m for m in ('lark', 'networkx', 'flowc.compiler.ast') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
