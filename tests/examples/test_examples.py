"""Every example runs through the real `flowc run` in a subprocess and its output is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = [
    "What is the meaning of life?",
    "What is the airspeed velocity of an unladen swallow?",
    "What is the best way to cook a steak?",
]


def run_example(name: str, *flags: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "flowc.cli", "run", f"examples/{name}/{name}.flow", *flags],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "flowc: app id " in result.stderr
    return json.loads(result.stdout)


def test_prompt_lab_runs_with_its_defaults_as_the_readme_says() -> None:
    state = run_example("prompt_lab")
    assert state["round"] == 3
    assert len(state["history"]) == 3 * 2 * 3  # rounds × prompts × branches
    first = state["history"][0]
    assert first == {
        "round": 1,
        "model": "gpt-4",
        "prompt": "Write a haiku about the sea, take 1",
        "output": "gpt-4 answers in 8 words: 1 take sea,",
    }
    riddles = [row for row in state["history"] if row["prompt"].startswith("Answer only")]
    assert len(riddles) == 6


def test_map_states() -> None:
    state = run_example("map_states")
    assert state["all_llm_outputs"] == ["gpt-4: life", "gpt-4: swallow", "gpt-4: steak"]


def test_map_actions() -> None:
    assert run_example("map_actions")["all_llm_outputs"] == [
        "gpt-4: life",
        "o1: life",
        "claude: life",
    ]


def test_product_is_action_major() -> None:
    outputs = run_example("product")["all_llm_outputs"]
    assert [(o["model"], o["prompt"]) for o in outputs] == [
        (model, prompt) for model in ("gpt-4", "o1", "claude") for prompt in PROMPTS
    ]


def test_subgraph() -> None:
    state = run_example("subgraph")
    assert state["all_llm_outputs"][0] == "gpt-4: 110 characters of riddle"
    assert len(state["processed_prompts"]) == 3


def test_passing_inputs() -> None:
    state = run_example("passing_inputs", "--input", 'prompts=["a?", "b?"]')
    assert state["all_llm_outputs"] == ["gpt-4: A?", "gpt-4: B?"]


def test_low_level_tasks() -> None:
    outputs = run_example("low_level_tasks")["all_llm_outputs"]
    assert len(outputs) == 6 and outputs[0]["output"] == "gpt-4: life"


def test_executor_setting() -> None:
    state = run_example("executor_setting", "--executor", "threads:2")
    assert state["all_llm_outputs"] == [
        f"answer to {p}" for p in ["one?", "two?", "three?", "four?"]
    ]


def test_tracking_overrides(tmp_path: Path) -> None:
    state = run_example(
        "tracking_overrides",
        "--persist",
        f"sqlite:{tmp_path / 'runs.db'}",
        "--track",
        str(tmp_path / "track"),
    )
    assert state["tracked_outputs"] == state["untracked_outputs"] == ["gpt-4: life", "gpt-4: blue"]


def test_retrieval_merges_both_searches() -> None:
    state = run_example("retrieval")
    assert state["sources"] == 2
    sources = {p["source"].split(":")[0] for p in state["passages"]}
    assert sources == {"encyclopedia", "https"}
    assert state["answer"].startswith("Tides are caused by the gravitational pull")


def test_retrieval_without_hits_takes_the_other_arrow() -> None:
    state = run_example("retrieval", "--state", "question=Penguins?")
    assert state["answer"] == "I found nothing about: Penguins?"


def test_experiment_grid_scores_models() -> None:
    state = run_example("experiment_grid")
    assert state["best_model"] == "large"
    assert state["report"] == "best: large | large: 100%, medium: 75%, small: 25%"
    assert len(state["trials"]) == 12


def test_every_example_checks_clean_with_strict() -> None:
    paths = sorted(p for p in (ROOT / "examples").glob("*/*.flow") if p.parent.name != "lang")
    result = subprocess.run(
        [sys.executable, "-m", "flowc.cli", "check", "--strict", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
