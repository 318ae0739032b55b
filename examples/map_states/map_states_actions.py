"""Actions of the map_states example (the reference page's MapStates case)."""

from __future__ import annotations

from typing import Any

PROMPTS = [
    "What is the meaning of life?",
    "What is the airspeed velocity of an unladen swallow?",
    "What is the best way to cook a steak?",
]


def _query_my_llm(prompt: str, model: str = "gpt-4") -> str:
    """A deterministic stand-in for the page's ``_query_my_llm``."""
    return f"{model}: {prompt.split()[-1].rstrip('?')}"


def generate_prompts(state: Any) -> Any:
    return state.update(prompts=PROMPTS)


def query_llm(state: Any) -> Any:
    return state.update(llm_output=_query_my_llm(prompt=state["prompt"]))
