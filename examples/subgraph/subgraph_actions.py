"""Actions of the subgraph example (the reference page's RunnableGraph case)."""

from __future__ import annotations

from typing import Any


def _query_my_llm(prompt: str, model: str = "gpt-4") -> str:
    """A deterministic stand-in for the page's ``_query_my_llm``."""
    return f"{model}: {len(prompt)} characters of riddle"


def process_prompt(state: Any) -> Any:
    processed = (
        f"The user has asked: {state['prompt']}. "
        "Please respond directly to that prompt, but only in riddles."
    )
    return state.update(processed_prompt=processed)


def query_llm(state: Any) -> Any:
    return state.update(llm_output=_query_my_llm(prompt=state["processed_prompt"]))
