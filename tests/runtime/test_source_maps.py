"""Source maps: a failure inside an action is reported with the .flow path to it — map, item,
graph, action — and only the user's own traceback frames; the exception object is kept."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from flowc.compiler import compile_source
from flowc.compiler.build import build_application
from flowc.runtime.source_maps import describe_failure, flow_path, user_frames

ACTIONS = """
def prepare(state):
    return state.update(ready=True)

def ask(state):
    if state["prompt"] == "bad":
        raise ValueError("the model refused")
    return state.update(answer=state["prompt"])
"""

FLOW = """
from {module} import prepare, ask
state {{ prompts: list[str] = ["a", "b", "bad", "c"] }}
graph riddle {{
  action prep = prepare writes ready
  action asking = ask reads prompt writes answer
  start -> prep -> asking -> end
}}
map try_all = riddle for prompt in prompts {{
  reduce answers = collect(answer)
}}
start -> try_all -> end
"""


def run_to_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flow: str) -> BaseException:
    """Build ``flow`` (``{module}`` names the actions above) and run it until it raises."""
    module = f"maps_actions_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(ACTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "lab.flow"
    text = textwrap.dedent(flow.format(module=module))
    path.write_text(text)
    app = build_application(compile_source(text, str(path)).ir)
    with pytest.raises(Exception) as caught:
        app.run()
    sys.modules.pop(module, None)
    return caught.value


@pytest.fixture
def failing_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BaseException:
    return run_to_failure(tmp_path, monkeypatch, FLOW)


def test_the_branch_exception_is_kept_as_the_cause(failing_run: BaseException) -> None:
    cause = failing_run.__cause__
    assert type(cause) is ValueError and str(cause) == "the model refused"
    assert isinstance(failing_run, ValueError)  # the map's F520 error subclasses it too


def test_the_path_reads_map_then_item_then_graph_then_action(failing_run: BaseException) -> None:
    path = flow_path(failing_run)
    assert len(path) == 3
    assert path[0].startswith("in action 'try_all' at ") and path[0].endswith("lab.flow:9:1")
    assert "branch 2 of map 'try_all' (prompt='bad')" in path[1]
    assert "graph 'riddle' at " in path[1] and path[1].endswith("lab.flow:9:15")
    assert path[2].startswith("in action 'asking' at ") and path[2].endswith("lab.flow:6:3")


def test_only_user_frames_are_kept(failing_run: BaseException) -> None:
    frames = user_frames(failing_run)
    assert [f.name for f in frames] == ["ask"]
    assert frames[0].filename.endswith(".py") and "flowc" not in Path(frames[0].filename).parts


def test_describe_failure_shows_path_source_line_and_user_frames(
    failing_run: BaseException,
) -> None:
    text = describe_failure(failing_run)
    assert "error[F520]" in text
    assert "in action 'try_all'" in text and "→ branch 2" in text and "→ action 'asking'" in text
    assert "caused by ValueError: the model refused" in text
    assert " 6 |   action asking = ask reads prompt writes answer" in text
    assert 'in ask\n    raise ValueError("the model refused")' in text
    assert "flowc/runtime" not in text


def test_full_traceback_keeps_every_frame(failing_run: BaseException) -> None:
    assert "flowc/runtime" in describe_failure(failing_run, full=True)


KEYED_FLOW = """
from {module} import prepare, ask
state {{ prompts: list[str] = ["a", "bad"] }}
graph riddle {{
  action prep = prepare writes ready
  action asking = ask reads prompt writes answer
  start -> prep -> asking -> end
}}
action plain = prepare writes ready
map try_all = [plain, riddle] for prompt in prompts {{
  key prompt
  reduce answers = collect(answer)
  reduce readies = collect(ready)
}}
start -> try_all -> end
"""


def test_a_failed_graph_branch_is_named_by_its_graph_among_keyed_branches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with `key`, the runtime keys this branch 'prep/bad' and knows it by its entry action,
    # 'prep'; the path still names the graph the .flow file put in the map
    path = flow_path(run_to_failure(tmp_path, monkeypatch, KEYED_FLOW))
    assert len(path) == 3
    assert "branch 3 of map 'try_all' (prompt='bad')" in path[1]
    assert "graph 'riddle' at " in path[1] and path[1].endswith("lab.flow:10:23")
    assert path[2].startswith("in action 'asking' at ") and path[2].endswith("lab.flow:6:3")
