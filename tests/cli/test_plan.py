"""`flowc plan` through the real CLI: the path from the entry, branch counts, waves, retries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def flowc(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "flowc.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_plan_lists_steps_from_the_entry_with_their_arrows() -> None:
    result = flowc("plan", "examples/prompt_lab/prompt_lab.flow")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "entry: make_prompts"
    order = [line.split(". ")[1].split(" (")[0] for line in lines if line[:1].isdigit()]
    assert order == ["make_prompts", "try_all", "tally"]
    assert "-> make_prompts when round < 3" in result.stdout
    assert "branches: unknown until the run" in result.stdout  # make_prompts writes prompts


def test_known_item_lists_give_branches_waves_and_worst_case_retries() -> None:
    result = flowc("plan", "examples/experiment_grid/experiment_grid.flow", "--format", "json")
    grid = next(s for s in json.loads(result.stdout)["steps"] if s["name"] == "grid")["map"]
    assert grid["branch_count"] is None  # `load` writes prompts
    result = flowc("plan", "examples/product/product.flow", "--format", "json")
    (step,) = json.loads(result.stdout)["steps"]
    assert step["map"]["branch_count"] == 9 and step["map"]["item_count"] == 3


def test_state_defaults_and_overrides_count_items_no_action_writes() -> None:
    result = flowc("plan", "examples/executor_setting/executor_setting.flow", "--format", "json")
    (step,) = json.loads(result.stdout)["steps"]
    plan = step["map"]
    assert plan["branch_count"] == 4 and plan["max_concurrency"] == 10 and plan["waves"] == 1
    result = flowc(
        "plan",
        "examples/executor_setting/executor_setting.flow",
        "--format",
        "json",
        "--state",
        f"prompts={json.dumps(['p'] * 25)}",
    )
    plan = json.loads(result.stdout)["steps"][0]["map"]
    assert plan["branch_count"] == 25 and plan["waves"] == 3


def test_retries_are_multiplied_out() -> None:
    result = flowc("plan", "examples/prompt_lab/prompt_lab.flow", "--format", "json")
    try_all = next(s for s in json.loads(result.stdout)["steps"] if s["name"] == "try_all")
    assert try_all["map"]["retries_per_branch"] == 2
    assert try_all["map"]["failure_policy"] == "tolerate 10%"


def test_plan_runs_no_action(tmp_path: Path) -> None:
    (tmp_path / "plan_boom.py").write_text(
        "def boom(state):\n    raise SystemExit('ran an action')\n"
    )
    (tmp_path / "p.flow").write_text(
        "from plan_boom import boom\naction b = boom writes x\nstart -> b -> end\n"
    )
    result = flowc("plan", str(tmp_path / "p.flow"))
    assert result.returncode == 0, result.stderr
    assert "1. b (action" in result.stdout


def test_errors_exit_1_and_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.flow").write_text("start -> nowhere -> end\n")
    assert flowc("plan", str(tmp_path / "bad.flow")).returncode == 1
    assert flowc("plan", "examples/product/product.flow", "--state", "x").returncode == 2
