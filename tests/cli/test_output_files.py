"""Every command that writes a file (`run -o`, `compile -o`, `render -o`) treats its output path
the same way, through the real CLI: a path in a missing directory, or a directory, is refused
before any work with F611 and exit 2, and no directory is ever created; a good path is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ACTIONS = "def bump(state):\n    return state.update(n=state['n'] + 1)\n"
FLOW = "from output_files_actions import bump\nstate { n: int = 0 }\n"
FLOW += "action b = bump reads n writes n\nstart -> b -> end\n"

# the command line before `-o OUT`, and what OUT holds when it is written
COMMANDS = {
    "run": (["run", "count.flow"], "the final state"),
    "compile": (["compile", "count.flow", "--emit", "python"], "the compiled flow"),
    "render": (["render", "count.flow", "--format", "dot"], "the drawing"),
}


def flowc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowc.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("output_files")
    (root / "output_files_actions.py").write_text(ACTIONS)
    (root / "count.flow").write_text(FLOW)
    (root / "plain_file").write_text("not a directory\n")
    return root


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_output_in_a_missing_directory_is_refused_and_no_directory_is_made(
    project: Path, command: str
) -> None:
    flags, what = COMMANDS[command]
    result = flowc(*flags, "-o", "missing/dir/out", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "error[F611]" in result.stderr and f"cannot write {what} there" in result.stderr
    assert "the directory 'missing/dir' does not exist" in result.stderr
    assert "mkdir -p missing/dir" in result.stderr and "Traceback" not in result.stderr
    assert "flowc: app id" not in result.stderr  # refused before anything ran
    assert not (project / "missing").exists()


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    ("output", "reason"),
    [(".", "it is a directory"), ("plain_file/out", "'plain_file' is not a directory")],
)
def test_an_output_that_cannot_be_a_file_is_refused(
    project: Path, command: str, output: str, reason: str
) -> None:
    flags, _ = COMMANDS[command]
    result = flowc(*flags, "-o", output, cwd=project)
    assert result.returncode == 2, result.stderr
    assert "error[F611]" in result.stderr and reason in result.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_output_in_an_existing_directory_is_written(
    project: Path, tmp_path: Path, command: str
) -> None:
    flags, _ = COMMANDS[command]
    out = tmp_path / "out"
    result = flowc(*flags, "-o", str(out), cwd=project)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    if command == "run":
        assert json.loads(text) == {"n": 1}
    elif command == "compile":
        assert "def build_application(" in text
    else:
        assert text.startswith("digraph")
