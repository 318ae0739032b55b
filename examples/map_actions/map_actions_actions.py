"""Actions of the map_actions example (the reference page's MapActions case)."""

from __future__ import annotations

from typing import Any


def _query_my_llm(prompt: str, model: str) -> str:
    """A deterministic stand-in for the page's ``_query_my_llm``."""
    return f"{model}: {prompt.split()[-1].rstrip('?')}"


def query_llm(state: Any, model: str) -> Any:
    return state.update(llm_output=_query_my_llm(prompt=state["prompt"], model=model))
