"""Actions of the prompt_lab example: a deterministic stand-in for an LLM, and prompt helpers.

Plain functions taking the state first and returning ``state.update(...)``; the .flow file
declares what each reads and writes.
"""

from __future__ import annotations

from typing import Any


def fake_llm(prompt: str, model: str) -> str:
    """What a model "answers": deterministic, so runs and tests repeat exactly."""
    words = prompt.split()
    return f"{model} answers in {len(words)} words: {' '.join(reversed(words[-3:]))}"


def make_prompt_list(state: Any) -> Any:
    round_number = state["round"] + 1
    topic = state["topic"]
    prompts = [
        f"Write a haiku about {topic}, take {round_number}",
        f"Explain {topic} to a child, take {round_number}",
    ]
    return state.update(prompts=prompts, round=round_number)


def query_llm(state: Any, model: str) -> Any:
    return state.update(llm_output=fake_llm(state["prompt"], model), model=model)


def as_riddle(state: Any) -> Any:
    return state.update(prompt=f"Answer only in riddles: {state['prompt']}")


def keep_round(state: Any) -> Any:
    rows = [{"round": state["round"], **row} for row in state["latest"]]
    return state.update(history=[*state["history"], *rows])
