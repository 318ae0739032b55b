"""`flowc compile --emit ir` through the real CLI: JSON that loads back to the same IR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flowc.compiler import compile_file
from flowc.compiler.ir_schema import load_ir

FLOW = """\
flow demo
from m import plan, ask
state { topic: str = "x" }
action make = plan reads topic writes prompts
action q = ask(model="a") reads prompt writes answer
map each = q for prompt in prompts { max_concurrency 4
  reduce answers = collect(answer) }
start -> make -> each -> end
"""


def flowc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowc.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_emit_ir_to_a_file_loads_back_to_an_equal_ir(tmp_path: Path) -> None:
    path = tmp_path / "demo.flow"
    path.write_text(FLOW)
    out = tmp_path / "demo.json"
    result = flowc("compile", str(path), "--emit", "ir", "-o", str(out), "--no-import")
    assert result.returncode == 0, result.stderr
    loaded = load_ir(out.read_text())
    assert loaded == compile_file(path, import_python=False).ir
    assert loaded.node_of("each").options.max_concurrency == 4


def test_emit_ir_defaults_to_stdout(tmp_path: Path) -> None:
    path = tmp_path / "demo.flow"
    path.write_text(FLOW)
    result = flowc("compile", str(path), "--no-import")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["version"] == 1 and document["flow"]["meta"]["name"] == "demo"


def test_a_flow_with_errors_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.flow"
    path.write_text("from m import f\naction a = f\nstart -> a -> b -> end\n")
    out = tmp_path / "bad.json"
    result = flowc("compile", str(path), "-o", str(out), "--no-import")
    assert result.returncode == 1
    assert "error[F201]" in result.stderr
    assert not out.exists()


def test_an_output_in_a_missing_directory_is_refused_before_compiling(tmp_path: Path) -> None:
    path = tmp_path / "demo.flow"
    path.write_text(FLOW)
    result = flowc(
        "compile", str(path), "-o", str(tmp_path / "no" / "dir" / "x.json"), "--no-import"
    )
    assert result.returncode == 2
    assert "error[F611]" in result.stderr and "cannot write" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "no").exists()


def test_an_output_named_py_gets_the_python_module_unless_emit_says_otherwise(
    tmp_path: Path,
) -> None:
    path = tmp_path / "demo.flow"
    path.write_text(FLOW)
    module, forced = tmp_path / "demo.py", tmp_path / "ir.py"
    assert flowc("compile", str(path), "-o", str(module), "--no-import").returncode == 0
    assert (
        flowc("compile", str(path), "--emit", "ir", "-o", str(forced), "--no-import").returncode
        == 0
    )
    assert "def build_application(" in module.read_text()
    assert load_ir(forced.read_text()) == compile_file(path, import_python=False).ir
