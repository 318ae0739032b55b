"""Source maps agree between the two ways of building a flow: a branch failing at run time is
reported by the emitted module (``flowc compile --emit python``, run as a script) exactly as by
``flowc run`` — map, branch index, item, graph with its .flow line, action with its .flow
location — with the user's own traceback frames only. Everything runs through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ACTIONS = """\
def prepare(state):
    return state.update(ready=True)


def ask(state):
    if state["prompt"] == "bad":
        raise ValueError("the model refused")
    return state.update(answer=state["prompt"])
"""

GRAPH_BRANCH = """\
from acts import prepare, ask
state { prompts: list[str] = ["a", "b", "bad", "c"] }
graph riddle {
  action prep = prepare writes ready
  action asking = ask reads prompt writes answer
  start -> prep -> asking -> end
}
map try_all = riddle for prompt in prompts {
  reduce answers = collect(answer)
  reduce readies = collect(ready)
}
start -> try_all -> end
"""

KEYED = """\
from acts import prepare, ask
state { prompts: list[str] = ["a", "bad"] }
graph riddle {
  action prep = prepare writes ready
  action asking = ask reads prompt writes answer
  start -> prep -> asking -> end
}
action plain = prepare writes ready
map try_all = [plain, riddle] for prompt in prompts {
  key prompt
  reduce answers = collect(answer)
  reduce readies = collect(ready)
}
start -> try_all -> end
"""

SEVERAL_ACTIONS = """\
from acts import prepare, ask
state { prompts: list[str] = ["a", "bad"] }
action prep = prepare writes ready
action asking = ask reads prompt writes answer
map both = [prep, asking] for prompt in prompts {
  tolerate 0
  reduce readies = collect(ready)
}
start -> both -> end
"""

GRAPH_STEP = """\
from acts import prepare, ask
state { prompt: str = "bad" }
graph riddle {
  action prep = prepare writes ready
  action asking = ask reads prompt writes answer
  start -> prep -> asking -> end
}
start -> riddle -> end
"""


@dataclass(frozen=True, slots=True)
class Reports:
    """What ``flowc run`` and the emitted module printed for the same failing flow."""

    run: subprocess.CompletedProcess[str]
    emitted: subprocess.CompletedProcess[str]
    module: str
    directory: Path

    @property
    def run_report(self) -> str:
        return report(self.run.stderr)

    @property
    def emitted_report(self) -> str:
        return report(self.emitted.stderr)


def report(stderr: str) -> str:
    """The failure report, without what only ``flowc run`` prints before it (the checks'
    warnings, the app id)."""
    assert "error[" in stderr, stderr
    return stderr[stderr.index("error[") :]


def command(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), str(ROOT)])}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def both_ways(tmp_path: Path, flow: str) -> Reports:
    """Run ``flow`` with ``flowc run`` and as the module ``flowc compile`` emits for it."""
    (tmp_path / "acts.py").write_text(ACTIONS)
    (tmp_path / "lab.flow").write_text(flow)
    compiled = command(tmp_path, "-m", "flowc.cli", "compile", "--emit", "python", "lab.flow")
    assert compiled.returncode == 0, compiled.stderr
    (tmp_path / "out.py").write_text(compiled.stdout)
    return Reports(
        run=command(tmp_path, "-m", "flowc.cli", "run", "lab.flow"),
        emitted=command(tmp_path, "out.py"),
        module=compiled.stdout,
        directory=tmp_path,
    )


def path_lines(text: str) -> list[str]:
    """The report's .flow path: the ``in …`` line and the ``→ …`` lines under it."""
    return [line.strip() for line in text.splitlines() if line.lstrip().startswith(("in ", "→ "))]


def traceback_files(text: str) -> list[str]:
    """The files of the traceback frames the report shows."""
    return [line.split('"')[1] for line in text.splitlines() if line.lstrip().startswith('File "')]


@pytest.fixture(scope="module")
def graph_branch(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    return both_ways(tmp_path_factory.mktemp("graph_branch"), GRAPH_BRANCH)


def test_a_failed_graph_branch_is_reported_the_same_by_the_emitted_module_and_flowc_run(
    graph_branch: Reports,
) -> None:
    assert graph_branch.emitted_report == graph_branch.run_report
    assert graph_branch.run.returncode == graph_branch.emitted.returncode == 3


def test_the_path_names_map_branch_item_graph_and_action_with_their_flow_locations(
    graph_branch: Reports,
) -> None:
    assert path_lines(graph_branch.emitted_report) == [
        "in action 'try_all' at lab.flow:8:1",
        "→ branch 2 of map 'try_all' (prompt='bad'), graph 'riddle' at lab.flow:8:15",
        "→ action 'asking' at lab.flow:5:3",
    ]


def test_the_traceback_shows_only_the_users_frames_in_both(graph_branch: Reports) -> None:
    for text in (graph_branch.run_report, graph_branch.emitted_report):
        assert [Path(file).name for file in traceback_files(text)] == ["acts.py"]
        assert 'raise ValueError("the model refused")' in text


def test_the_emitted_module_labels_its_branches_in_a_readable_tuple(graph_branch: Reports) -> None:
    assert (
        "TRY_ALL_BRANCHES = (\n"
        "    BranchLabel('riddle', 'graph', Span(FLOW_FILE, 8, 15, 8, 21), 'prep'),\n"
        ")"
    ) in graph_branch.module
    assert "note_failed_branch(self.name, TRY_ALL_BRANCHES, 'prompt', outcome)" in (
        graph_branch.module
    )


def test_a_full_traceback_from_the_emitted_module_keeps_flowcs_frames(
    graph_branch: Reports,
) -> None:
    emitted = command(graph_branch.directory, "out.py", "--traceback", "full")
    assert emitted.returncode == 3
    assert any("flowc" in Path(file).parts for file in traceback_files(emitted.stderr))


def test_keyed_branches_name_the_graph_the_flow_put_in_the_map(tmp_path: Path) -> None:
    # with `key prompt` the runtime keys the failing branch 'prep/bad', by the graph's entry
    reports = both_ways(tmp_path, KEYED)
    assert reports.emitted_report == reports.run_report
    assert path_lines(reports.emitted_report) == [
        "in action 'try_all' at lab.flow:9:1",
        "→ branch 3 of map 'try_all' (prompt='bad'), graph 'riddle' at lab.flow:9:23",
        "→ action 'asking' at lab.flow:5:3",
    ]


def test_a_map_of_several_actions_names_the_action_that_failed(tmp_path: Path) -> None:
    reports = both_ways(tmp_path, SEVERAL_ACTIONS)
    assert reports.emitted_report == reports.run_report
    assert path_lines(reports.emitted_report) == [
        "in action 'both' at lab.flow:5:1",
        "→ branch 3 of map 'both' (prompt='bad'), action 'asking'",
        "→ action 'asking' at lab.flow:4:1",
    ]


def test_a_graph_used_as_a_step_is_named_in_both(tmp_path: Path) -> None:
    reports = both_ways(tmp_path, GRAPH_STEP)
    assert reports.emitted_report == reports.run_report
    assert path_lines(reports.emitted_report) == [
        "in action 'riddle' at lab.flow:3:1",
        "→ branch 0 of map 'riddle', graph 'riddle' at lab.flow:3:1",
        "→ action 'asking' at lab.flow:5:3",
    ]
