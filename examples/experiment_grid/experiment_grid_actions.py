"""Actions and the scoring reducer of the experiment_grid example (deterministic models)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DATASETS = {
    "capitals": {
        "What is the capital of France?": "Paris",
        "What is the capital of Japan?": "Tokyo",
        "What is the capital of Kenya?": "Nairobi",
        "What is the capital of Peru?": "Lima",
    }
}
# How many of the questions (in dataset order) each stand-in model gets right.
SKILL = {"small": 1, "medium": 3, "large": 4}


def load_dataset(state: Any) -> Any:
    expected = DATASETS[state["dataset"]]
    return state.update(prompts=list(expected), expected=expected)


def query_model(state: Any, model: str) -> Any:
    questions = list(state["expected"])
    position = questions.index(state["prompt"])
    right = position < SKILL[model]
    answer = state["expected"][state["prompt"]] if right else "I am not sure"
    return state.update(answer=answer, model=model)


def score_models(state: Any, states: Iterable[Any], metric: str) -> Any:
    """A custom reducer: grade every branch, then rank the models by accuracy."""
    if metric != "exact":
        raise ValueError(f"unknown metric {metric!r}; this example knows 'exact'")
    expected = state["expected"]
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    for branch in states:
        model = branch["model"]
        total[model] = total.get(model, 0) + 1
        right[model] = right.get(model, 0) + (branch["answer"] == expected[branch["prompt"]])
    leaderboard = sorted(
        ({"model": m, "accuracy": right[m] / total[m]} for m in total),
        key=lambda row: (-row["accuracy"], row["model"]),
    )
    return state.update(leaderboard=leaderboard, best_model=leaderboard[0]["model"])


def write_report(state: Any) -> Any:
    lines = [f"{row['model']}: {row['accuracy']:.0%}" for row in state["leaderboard"]]
    return state.update(report=f"best: {state['best_model']} | " + ", ".join(lines))
