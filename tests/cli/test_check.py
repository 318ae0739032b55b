"""`flowc check` through the real CLI in a subprocess: every diagnostic, exit codes, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLEAN = """\
from helpers import produce, consume
state { n: int = 0 }
action a = produce reads n writes n
action b = consume reads n writes done
start -> a
a -> a when n < 3
a -> b -> end
"""

HELPERS = """\
def produce(state):
    return state


def consume(state):
    return state
"""


def flowc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowc.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_clean_flow_exits_0_and_says_so(tmp_path: Path) -> None:
    write(tmp_path, "helpers.py", HELPERS)
    path = write(tmp_path, "clean.flow", CLEAN)
    result = flowc("check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "1 file checked: no problems"


def test_all_errors_of_all_files_are_reported_with_carets_and_exit_1(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "bad.flow",
        "from m import f\naction ask = f writes x\nstart -> ask -> aks -> end\n",
    )
    broken = write(tmp_path, "broken.flow", "action = f\n")
    result = flowc("check", "--no-import", str(bad), str(broken))
    assert result.returncode == 1
    out = result.stdout
    assert f"{bad}:3:17: error[F201]: 'aks' is not an action, graph or map" in out
    assert " 3 | start -> ask -> aks -> end" in out
    assert "^^^" in out
    assert "did you mean 'ask'?" in out
    assert f"{broken}:1:" in out and "error[F1" in out
    assert out.rstrip().endswith("in 2 files")
    assert "Traceback" not in result.stderr


def test_json_lists_every_diagnostic_with_position_and_hints(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.flow",
        "from m import f, unused\naction a = f reads x writes y\nstart -> a -> end\n",
    )
    result = flowc("check", "--no-import", "--format", "json", str(path))
    assert result.returncode == 1
    found = json.loads(result.stdout)
    rows = [(d["code"], d["severity"], d["line"], d["col"]) for d in found]
    assert rows == [("F301", "error", 2, 20), ("F250", "warning", 1, 18)]
    assert found[0]["hints"] and found[0]["file"] == str(path)


def test_warnings_alone_exit_0_and_strict_makes_them_errors(tmp_path: Path) -> None:
    write(tmp_path, "helpers.py", HELPERS)
    path = write(tmp_path, "warn.flow", "from helpers import produce as spare\n" + CLEAN)
    relaxed = flowc("check", str(path))
    assert relaxed.returncode == 0
    assert "warning[F250]" in relaxed.stdout
    strict = flowc("check", "--strict", str(path))
    assert strict.returncode == 1
    assert "error[F250]" in strict.stdout


def test_python_side_checks_run_unless_no_import(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "py.flow",
        "from no_such_module_xyz import f\naction a = f writes x\nstart -> a -> end\n",
    )
    checked = flowc("check", str(path))
    assert checked.returncode == 1 and "error[F401]" in checked.stdout
    skipped = flowc("check", "--no-import", str(path))
    assert skipped.returncode == 0, skipped.stdout


def test_python_modules_are_found_next_to_the_flow_file(tmp_path: Path) -> None:
    write(tmp_path, "helpers.py", HELPERS)
    path = write(tmp_path, "clean.flow", CLEAN)
    result = flowc("check", str(path), cwd=Path("/"))
    assert result.returncode == 0, result.stdout


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = flowc("check", str(tmp_path / "nope.flow"))
    assert result.returncode == 1
    assert "cannot read" in result.stdout
    assert "Traceback" not in result.stderr


def test_output_cut_short_by_its_reader_exits_141_without_a_traceback(tmp_path: Path) -> None:
    """`flowc check big.flow | head`: far more output than a pipe buffers, read one line."""
    actions = "".join(f"action a{i} = nowhere reads x writes x\n" for i in range(3000))
    path = write(tmp_path, "big.flow", f"state {{ x: int = 0 }}\n{actions}start -> a0 -> end\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "flowc.cli", "check", "--no-import", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    assert "error[" in process.stdout.readline()
    process.stdout.close()
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in errors and "Exception ignored" not in errors


def test_usage_errors_exit_2() -> None:
    assert flowc("check").returncode == 2
    assert flowc("check", "--format", "xml", "a.flow").returncode == 2
