"""`flowc run` through the real CLI in a subprocess: output, flags, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ACTIONS = """
def bump(state, by=1):
    return state.update(n=state["n"] + by)

def square(state):
    if state["x"] == 13:
        raise ValueError("unlucky")
    return state.update(sq=state["x"] * state["x"])

def greet(state, name):
    return state.update(greeting=f"hi {name}")

def leave(state):
    raise SystemExit(5)

def nap(state):
    import time

    time.sleep(0.2)
    return state.update(y=state["x"])

def tangle(state):
    deep, loop = [], [1]
    for _ in range(5000):
        deep = [deep]
    loop.append(loop)
    return state.update(deep=deep, loop=loop, n=1)
"""


def flowc(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "flowc.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "run_actions.py").write_text(ACTIONS)
    (tmp_path / "count.flow").write_text(
        "from run_actions import bump\n"
        "state { n: int = 0 }\n"
        "action b = bump reads n writes n\n"
        "start -> b\n"
        "b -> b when n < 3\n"
        "b -> end\n"
    )
    (tmp_path / "squares.flow").write_text(
        "from run_actions import square\n"
        "state { xs: list[int] = [1, 2, 3] }\n"
        "action sq = square reads x writes sq\n"
        "map squares = sq for x in xs { reduce all = collect(sq) }\n"
        "start -> squares -> end\n"
    )
    (tmp_path / "greet.flow").write_text(
        "from run_actions import greet\n"
        "action g = greet writes greeting inputs name\n"
        "start -> g -> end\n"
    )
    return tmp_path


def test_prints_the_final_state_as_json_and_the_app_id_on_stderr(project: Path) -> None:
    result = flowc("run", "count.flow", cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"n": 3}
    assert "flowc: app id " in result.stderr


def test_state_values_parse_as_json_else_strings(project: Path) -> None:
    result = flowc("run", "squares.flow", "--state", "xs=[4, 5]", cwd=project)
    assert json.loads(result.stdout)["all"] == [16, 25]
    result = flowc("run", "greet.flow", "--input", "name=Ada", cwd=project)
    assert json.loads(result.stdout) == {"greeting": "hi Ada"}


def test_state_file_then_state_flags(project: Path) -> None:
    (project / "s.json").write_text('{"n": 10}')
    result = flowc("run", "count.flow", "--state-file", "s.json", cwd=project)
    assert json.loads(result.stdout) == {"n": 11}


def test_halt_after_and_output_file(project: Path) -> None:
    out = project / "out.json"
    result = flowc("run", "count.flow", "--halt-after", "b", "--output", str(out), cwd=project)
    assert result.returncode == 0 and result.stdout == ""
    assert json.loads(out.read_text()) == {"n": 1}


def test_the_flow_directory_is_importable_from_elsewhere(project: Path) -> None:
    result = flowc("run", str(project / "count.flow"), cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_progress_is_one_plain_line_per_map_without_a_terminal(project: Path) -> None:
    result = flowc("run", "squares.flow", "--executor", "threads:2", cwd=project)
    assert "map squares: 3 done, 0 failed" in result.stderr
    assert "\r" not in result.stderr


def test_a_failing_action_exits_3_with_the_flow_path_and_no_flowc_traceback(
    project: Path,
) -> None:
    result = flowc("run", "squares.flow", "--state", "xs=[12, 13]", cwd=project)
    assert result.returncode == 3
    assert "error[F520]" in result.stderr
    assert "branch 1 of map 'squares' (x=13)" in result.stderr
    assert "caused by ValueError: unlucky" in result.stderr
    assert "`tolerate 1`" in result.stderr  # how to let the map go on past such a branch
    assert "run_actions.py" in result.stderr and "flowc/runtime" not in result.stderr
    assert result.stdout == ""


def test_an_action_calling_sys_exit_is_a_failed_run_not_a_silent_exit(project: Path) -> None:
    (project / "leave.flow").write_text(
        "from run_actions import leave\naction a = leave writes x\nstart -> a -> end\n"
    )
    result = flowc("run", "leave.flow", cwd=project)
    assert result.returncode == 3  # a failed run, not the action's exit code 5
    assert "error: SystemExit: 5" in result.stderr and "run_actions.py" in result.stderr


def test_a_final_state_json_cannot_write_still_prints(project: Path) -> None:
    (project / "tangle.flow").write_text(
        "from run_actions import tangle\naction a = tangle writes deep, loop, n\n"
        "start -> a -> end\n"
    )
    result = flowc("run", "tangle.flow", cwd=project)
    assert result.returncode == 0, result.stderr
    final = json.loads(result.stdout)
    assert final["n"] == 1
    assert "nested too deeply to print" in final["deep"] and "holding itself" in final["loop"]


def test_errors_in_the_flow_exit_1(project: Path) -> None:
    (project / "bad.flow").write_text("start -> nowhere -> end\n")
    result = flowc("run", "bad.flow", cwd=project)
    assert result.returncode == 1
    assert "F201" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_input_is_a_runtime_failure(project: Path) -> None:
    result = flowc("run", "greet.flow", cwd=project)
    assert result.returncode == 3 and "F501" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_str_field_takes_the_text_and_an_optional_parameter_is_an_input(project: Path) -> None:
    (project / "topic.flow").write_text(
        "from run_actions import greet\n"
        'state { topic: str = "x" }\n'
        "action g = greet reads topic writes greeting inputs name\n"
        "start -> g -> end\n"
    )
    result = flowc("run", "topic.flow", "--state", "topic=42", "--input", "name=7", cwd=project)
    assert json.loads(result.stdout) == {"topic": "42", "greeting": "hi 7"}
    result = flowc("run", "count.flow", "--input", "by=2", cwd=project)  # bump(state, by=1)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"n": 4}


def test_persist_then_resume_a_finished_run(project: Path) -> None:
    db = project / "runs.db"
    first = flowc("run", "count.flow", "--persist", f"sqlite:{db}", cwd=project)
    assert first.returncode == 0, first.stderr
    app_id = first.stderr.split("flowc: app id ")[1].split()[0]
    again = flowc("run", "count.flow", "--persist", f"sqlite:{db}", "--resume", app_id, cwd=project)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"n": 3}
    assert f"app id {app_id}" in again.stderr
    assert "this run had already finished" in again.stderr


def test_resume_says_where_the_run_picks_up(project: Path) -> None:
    db = project / "runs.db"
    first = flowc(
        "run", "count.flow", "--persist", f"sqlite:{db}", "--halt-after", "b", cwd=project
    )
    assert json.loads(first.stdout) == {"n": 1}
    app_id = first.stderr.split("flowc: app id ")[1].split()[0]
    again = flowc("run", "count.flow", "--persist", f"sqlite:{db}", "--resume", app_id, cwd=project)
    assert again.returncode == 0, again.stderr
    assert "flowc: resuming at 'b'" in again.stderr
    assert json.loads(again.stdout) == {"n": 3}  # from the saved n=1, not from the default 0


def test_a_run_whose_stderr_reader_goes_away_still_finishes(project: Path) -> None:
    """The map's progress line cannot be written; the run goes on and prints its state."""
    (project / "naps.flow").write_text(
        "from run_actions import nap\n"
        "state { xs: list[int] = [1, 2] }\n"
        "action n = nap reads x writes y\n"
        "map naps = n for x in xs { reduce ys = collect(y) }\n"
        "start -> naps -> end\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flowc.cli", "run", "naps.flow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stderr.readline().startswith("flowc: app id ")
    process.stderr.close()  # before the map ends (each branch naps 0.2 s)
    output = process.stdout.read()
    assert process.wait(timeout=60) == 0
    assert json.loads(output)["ys"] == [1, 2]


def test_track_writes_a_run_directory(project: Path) -> None:
    result = flowc("run", "squares.flow", "--track", str(project / "track"), cwd=project)
    assert result.returncode == 0, result.stderr
    assert any((project / "track").rglob("*"))
