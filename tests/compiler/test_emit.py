"""emit_python: the emitted module imports only the runtime and the user's modules, and builds
an application whose final state equals the in-process build's, for every example."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowc.compiler import compile_file
from flowc.compiler.build import build_application
from flowc.compiler.emit import emit_python, flow_line, parse_debug_info
from flowc.errors import FlowBuildError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*/*.flow") if p.parent.name != "lang")
INPUTS = {"passing_inputs": {"prompts": ["What is a riddle?", "Why?"]}}

RUN_EMITTED = """
import json, sys, importlib.util
sys.modules["flowc.compiler"] = None  # emitted code must not need the compiler
finals = {}
for name, file, inputs in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location(name + "_emitted", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, _, state = module.build_application().run(inputs=inputs or None)
    finals[name] = state.get_all()
assert not any(name.startswith("flowc.compiler") and sys.modules[name] for name in sys.modules)
print(json.dumps(finals, default=repr))
"""


def in_process(path: Path) -> dict:
    sys.path.insert(0, str(path.parent))
    try:
        compiled = compile_file(path)
        app = build_application(compiled.ir)
        _, _, state = app.run(inputs=INPUTS.get(path.stem))
        return json.loads(json.dumps(state.get_all(), default=repr))
    finally:
        sys.path.remove(str(path.parent))


@pytest.fixture(scope="module")
def emitted_finals(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every example's emitted module, run in one subprocess that cannot import the compiler."""
    directory = tmp_path_factory.mktemp("emitted")
    jobs = []
    for path in EXAMPLES:
        module_file = directory / f"{path.stem}_emitted.py"
        module_file.write_text(emit_python(compile_file(path, import_python=False).ir))
        jobs.append((path.stem, str(module_file), INPUTS.get(path.stem, {})))
    result = subprocess.run(
        [sys.executable, "-c", RUN_EMITTED, json.dumps(jobs)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": os.pathsep.join(str(p.parent) for p in EXAMPLES), "PATH": "/usr/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_emitted_module_and_build_reach_the_same_final_state(
    path: Path, emitted_finals: dict
) -> None:
    assert emitted_finals[path.stem] == in_process(path)


def test_emitted_code_imports_only_the_runtime_and_user_modules() -> None:
    path = ROOT / "examples/prompt_lab/prompt_lab.flow"
    tree = ast.parse(emit_python(compile_file(path, import_python=False).ir))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    flowc_modules = {m for m in imported if m.startswith("flowc")}
    assert all(m == "flowc.errors" or m.startswith("flowc.runtime") for m in flowc_modules)
    assert "lab" in imported
    assert imported <= flowc_modules | {
        "lab",
        "functools",
        "json",
        "sys",
        "concurrent.futures",
        "dataclasses",
        "distributed",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_emitted_module_imports_only_what_it_uses(path: Path) -> None:
    """A reader (or a linter) of the emitted module sees no import it does not need."""
    tree = ast.parse(emit_python(compile_file(path, import_python=False).ir))
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert imported - used == set()


def test_the_line_table_maps_python_lines_back_to_flow_lines(tmp_path: Path) -> None:
    path = ROOT / "examples/prompt_lab/prompt_lab.flow"
    source = emit_python(compile_file(path, import_python=False).ir)
    module_file = tmp_path / "prompt_lab_emitted.py"
    module_file.write_text(source)
    spec = importlib.util.spec_from_file_location("prompt_lab_emitted", module_file)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    assert module.__flow_file__ == str(path)
    pairs = parse_debug_info(module.__flow_debug_info__)
    assert pairs, "the emitter records (flow line, python line) pairs"
    lines = source.splitlines()
    map_line = next(i for i, text in enumerate(lines, 1) if text.startswith("class TryAll"))
    assert flow_line(module, map_line) == 24  # `map try_all = …` in prompt_lab.flow
    action_line = next(i for i, text in enumerate(lines, 1) if text.startswith("tally = "))
    assert flow_line(module, action_line) == 17
    assert flow_line(module, 1) is None


def test_emitted_objects_carry_flow_spans(tmp_path: Path) -> None:
    path = ROOT / "examples/map_states/map_states.flow"
    module_file = tmp_path / "map_states_emitted.py"
    module_file.write_text(emit_python(compile_file(path, import_python=False).ir))
    spec = importlib.util.spec_from_file_location("map_states_emitted", module_file)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
        actions = {a.name: a for a in module.build_application().graph.actions}
    finally:
        sys.path.remove(str(path.parent))
    assert actions["multi_prompt_test"].origin.line == 14
    assert actions["prompt_generator"].origin.line == 11


def load_emitted(source: str, tmp_path: Path, name: str) -> Any:
    """Import an emitted module from ``tmp_path`` (where its actions module lives too)."""
    module_file = tmp_path / f"{name}.py"
    module_file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


INPUT_ACTIONS = """
def ask(state, tone="plain"):
    return state.update(answer=f"{tone}: {state['prompt']}")

def say(state, lang, tone="plain"):
    return state.update(said=f"{lang}/{tone}: {state['answer']}")
"""

INPUT_FLOW = """
from {module} import ask, say
state {{ prompts: list[str] = ["a", "b"] }}
graph talk {{
  action asking = ask reads prompt writes answer
  action saying = say reads answer writes said
  start -> asking -> saying -> end
}}
map over_prompts = [ask as plain, talk] for prompt in prompts {{
  reduce answers = collect(answer)
}}
start -> over_prompts -> end
"""


def test_emitted_maps_take_their_branch_inputs_from_the_runtime_as_the_build_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"emit_inputs_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(INPUT_ACTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "inputs.flow"
    path.write_text(INPUT_FLOW.format(module=module))
    compiled = compile_file(path)
    source = emit_python(compiled.ir)
    imports = {
        (node.module, alias.name)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("flowc.runtime.flow_support", "branch_inputs") in imports
    assert "def _inputs_of" not in source  # one implementation, in the runtime
    emitted = load_emitted(source, tmp_path, f"{module}_emitted").build_application()
    built = build_application(compiled.ir)
    maps = [
        {a.name: a.inputs for a in app.graph.actions}["over_prompts"] for app in (emitted, built)
    ]
    assert maps[0] == maps[1] == (["__context"], ["tone", "lang"])
    sys.modules.pop(module, None)


WIDTH_FLOW = """
from {module} import ask
state {{ prompts: list[str] = ["a", "b"] }}
map over_prompts = ask for prompt in prompts {{
  executor threads "eight"
  reduce answers = collect(answer)
}}
start -> over_prompts -> end
"""


def refusal(make: Any) -> tuple[str, str, int | None]:
    """How making an application fails: the error class, its code and its .flow line."""
    with pytest.raises(FlowBuildError) as caught:
        make()
    error = caught.value
    return type(error).__name__, error.code, error.span.line if error.span else None


@pytest.fixture
def input_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    module = f"emit_refusals_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(INPUT_ACTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))

    def compiled(text: str) -> Any:
        path = tmp_path / "refused.flow"
        path.write_text(text.format(module=module))
        return compile_file(path)

    yield compiled
    sys.modules.pop(module, None)


@pytest.mark.parametrize(
    "keywords",
    [
        {"resume": True},
        {"resume": True, "app_id": "run-1"},
        {"resume": True, "persister": object()},
    ],
    ids=["nothing", "no persister", "no app id"],
)
def test_resume_without_a_persister_and_app_id_is_f413_in_both_builds(
    input_actions: Any, tmp_path: Path, keywords: dict
) -> None:
    compiled = input_actions(INPUT_FLOW)
    module = load_emitted(emit_python(compiled.ir), tmp_path, "resume_emitted")
    built = refusal(lambda: build_application(compiled.ir, **keywords))
    emitted = refusal(lambda: module.build_application(**keywords))
    assert built == emitted == ("FlowBuildError", "F413", None)


def test_an_executor_width_that_is_not_a_number_is_f412_in_both_builds(
    input_actions: Any, tmp_path: Path
) -> None:
    compiled = input_actions(WIDTH_FLOW)
    source = emit_python(compiled.ir)
    built = refusal(lambda: build_application(compiled.ir))
    emitted = refusal(lambda: load_emitted(source, tmp_path, "width_emitted"))  # made at import
    assert built == emitted == ("FlowBuildError", "F412", 5)
