"""Bad command-line input to `flowc run` and `flowc plan`, through the real CLI in a subprocess:
each case is a clear error with its code, a hint, the documented exit code and no traceback.

Problems the flow itself can judge (unknown --state keys, mistyped values, unknown inputs and
--halt-after names) are all reported by one call, so one subprocess checks several of them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = str(ROOT / "examples/prompt_lab/prompt_lab.flow")
SAVED_RUN = "3f6c2a10-saved-run"


def flowc(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowc.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny flow, state files good and bad, a database holding one run, a plain file."""
    from flowc.runtime.persistence import SQLitePersister
    from flowc.runtime.state import State

    root = tmp_path_factory.mktemp("bad_input")
    (root / "bad_input_actions.py").write_text(
        "def bump(state, by=1):\n    return state.update(n=state['n'] + by)\n"
    )
    (root / "count.flow").write_text(
        "from bad_input_actions import bump\n"
        "state { n: int = 0 }\n"
        "action b = bump reads n writes n\n"
        "start -> b\nb -> b when n < 3\nb -> end\n"
    )
    (root / "broken.json").write_text('{"round": 1,\n  oops}\n')
    (root / "list.json").write_text("[1, 2]\n")
    (root / "typed.json").write_text('{"latest": [1]}\n')
    (root / "plain_file").write_text("not a directory\n")
    with SQLitePersister(root / "runs.db") as persister:
        persister.initialize()
        persister.save(None, SAVED_RUN, 0, "b", State({"n": 1}), "completed")
    return root


# (flags after `flowc`, exit code, fragments of stderr); `{dir}` is the project directory.
CASES = {
    "missing flow file": (["run", "{dir}/cuont.flow"], 1, ["F101", "no such file", "count.flow"]),
    "missing state file": (
        ["run", "count.flow", "--state-file", "nope.json"],
        2,
        ["F602", "cannot read the state file nope.json", "hint:"],
    ),
    "state file is a directory": (
        ["run", "count.flow", "--state-file", "."],
        2,
        ["F602", "Is a directory"],
    ),
    "malformed JSON in the state file": (
        ["run", "count.flow", "--state-file", "broken.json"],
        2,
        ["broken.json:2:3: error[F602]", "not valid JSON", "  oops}", "^"],
    ),
    "state file that is not an object": (
        ["run", "count.flow", "--state-file", "list.json"],
        2,
        ["F602", "must hold a JSON object, not a list of 2 items"],
    ),
    "malformed KEY=VALUE, and a value nested too deeply for JSON": (
        ["run", "count.flow", "--state", "novalue", "--input", "=3", "--state", "n=" + "[" * 5000],
        2,
        [
            "F601",
            "--state 'novalue' is not KEY=VALUE",
            "--input '=3' is not KEY=VALUE",
            "nested too deeply to read",
        ],
    ),
    "everything the flow can judge, at once": (
        [
            "run",
            LAB,
            "--state-file",
            "typed.json",
            "--state",
            "round=notjson",
            "--state",
            "rund=1",
            "--state",
            "nokey=1",
            "--input",
            "nope=1",
            "--halt-after",
            "nope",
            "--halt-after",
            "tlly",
            "--halt-after",
            "rephrase",
        ],
        2,
        [
            # item 3: a mistyped value points at the field's declaration
            "prompt_lab.flow:12:10: error[F604]: --state round=notjson: the state field 'round' "
            "is declared `int`, got the string 'notjson'",
            " 12 |   round: int = 0",
            "hint: write e.g. --state round=3",
            "error[F604]: --state-file typed.json: the state field 'latest' is declared "
            "`list[dict[str, any]]`, but latest[0] is the integer 1",
            # item 2: unknown keys, with did-you-mean and the declared fields
            "error[F603]: --state rund=1: the flow's state declares no field 'rund'",
            "did you mean 'round'?",
            "error[F603]: --state nokey=1",
            "the flow's state declares: topic, prompts, latest, history, round",
            # an input nothing takes
            "error[F605]: --input nope=1: no step of the flow takes an input 'nope'",
            # item 1: --halt-after names, with the steps and a did-you-mean
            "error[F606]: --halt-after 'nope': the flow has no top-level step 'nope'",
            "the flow's steps: make_prompts, try_all, tally",
            "did you mean 'tally'?",
            "'rephrase' is a step inside graph 'riddle'",
        ],
    ),
    "threads:0": (["run", "count.flow", "--executor", "threads:0"], 2, ["F607", "at least 1"]),
    "threads:-1": (["run", "count.flow", "--executor", "threads:-1"], 2, ["F607", "'-1'"]),
    "dask: with no address": (
        ["run", "count.flow", "--executor", "dask:"],
        2,
        ["F607", "needs the scheduler's address", "dask:tcp://"],
    ),
    "dask: with a bad address": (
        ["run", "count.flow", "--executor", "dask:nowhere"],
        2,
        ["F607", "cannot connect to a Dask scheduler", "dask scheduler"],
    ),
    "unknown executor": (
        ["run", "count.flow", "--executor", "fibers:3"],
        2,
        ["F607", "unknown executor 'fibers'", "threads:N"],
    ),
    "persist with a bad scheme": (
        ["run", "count.flow", "--persist", "postgres://db"],
        2,
        ["F608", "SQLite only", "sqlite:PATH"],
    ),
    "persist where no database can be": (
        ["run", "count.flow", "--persist", "sqlite:plain_file/runs.db"],
        2,
        ["F608", "cannot open the state database"],
    ),
    "resume without persist": (
        ["run", "count.flow", "--resume", "abc"],
        2,
        ["F609", "--resume needs --persist"],
    ),
    "resume of an unknown app id": (
        ["run", "count.flow", "--persist", "sqlite:runs.db", "--resume", SAVED_RUN + "x"],
        2,
        ["F609", "no run with that app id is saved in runs.db", f"did you mean {SAVED_RUN}?"],
    ),
    "resume from a database that does not exist": (
        ["run", "count.flow", "--persist", "sqlite:other.db", "--resume", SAVED_RUN],
        2,
        ["F609", "no database 'other.db'"],
    ),
    "track to an unwritable directory": (
        ["run", "count.flow", "--track", "plain_file/track"],
        2,
        ["F610", "cannot write there", "hint:"],
    ),
    "output to a directory": (
        ["run", "count.flow", "--output", "."],
        2,
        ["F611", "it is a directory"],
    ),
    "output into a missing directory": (
        ["run", "count.flow", "-o", "missing/out.json"],
        2,
        ["F611", "the directory 'missing' does not exist"],
    ),
    "plan checks --state like run": (
        ["plan", LAB, "--state", "round=notjson", "--state", "rund=1", "--no-import"],
        2,
        ["prompt_lab.flow:12:10: error[F604]", "error[F603]", "did you mean 'round'?"],
    ),
    "plan with malformed JSON in the state file": (
        ["plan", "count.flow", "--state-file", "broken.json"],
        2,
        ["broken.json:2:3: error[F602]"],
    ),
    "plan of a missing file": (["plan", "nope.flow"], 1, ["F101", "no such file"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_clear_error_with_its_exit_code(project: Path, case: str) -> None:
    flags, code, fragments = CASES[case]
    result = flowc(*(flag.replace("{dir}", str(project)) for flag in flags), cwd=project)
    assert result.returncode == code, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert "flowc: app id" not in result.stderr  # refused before anything ran
    assert result.stdout == ""
    assert not (project / "other.db").exists()  # nothing was created for a refused run


def test_a_refused_resume_leaves_the_saved_runs_alone(project: Path) -> None:
    from flowc.runtime.persistence import SQLitePersister

    flags, _, _ = CASES["resume of an unknown app id"]
    assert flowc(*flags, cwd=project).returncode == 2
    with SQLitePersister(project / "runs.db") as persister:
        assert persister.list_app_ids(None) == [SAVED_RUN]


def dead_port() -> int:
    """A local TCP port nothing listens on: bound by us, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_dead_dask_address_fails_fast_with_f607(project: Path) -> None:
    address = f"tcp://127.0.0.1:{dead_port()}"
    result = flowc(
        *("run", "count.flow", "--executor", f"dask:{address}"),
        cwd=project,
        env={"FLOWC_DASK_TIMEOUT": "1"},
        timeout=25,  # Dask's own connect timeout (30 s) would overrun this
    )
    assert result.returncode == 2, result.stderr
    assert "error[F607]" in result.stderr and address in result.stderr
    assert "after 1 s" in result.stderr  # Dask waited the timeout flowc gave it
    assert "FLOWC_DASK_TIMEOUT" in result.stderr and "Traceback" not in result.stderr
    assert "flowc: app id" not in result.stderr


def test_a_dask_timeout_that_is_not_a_number_of_seconds_is_f607(project: Path) -> None:
    result = flowc(
        *("run", "count.flow", "--executor", "dask:tcp://127.0.0.1:8786"),
        cwd=project,
        env={"FLOWC_DASK_TIMEOUT": "soon"},
    )
    assert result.returncode == 2
    assert "error[F607]" in result.stderr and "FLOWC_DASK_TIMEOUT='soon'" in result.stderr
