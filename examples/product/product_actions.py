"""Actions of the product example (the reference page's MapActionsAndStates case)."""

from __future__ import annotations

from typing import Any


def _query_my_llm(prompt: str, model: str) -> str:
    """A deterministic stand-in for the page's ``_query_my_llm``."""
    return f"{model}: {prompt.split()[-1].rstrip('?')}"


def query_llm(state: Any, model: str) -> Any:
    output = _query_my_llm(prompt=state["prompt"], model=model)
    return state.update(llm_output=output, model=model)
