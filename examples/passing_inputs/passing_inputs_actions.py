"""Actions of the passing_inputs example (the reference page's "Passing inputs" case)."""

from __future__ import annotations

from typing import Any


def _query_my_llm(prompt: str, model: str) -> str:
    """A deterministic stand-in for the page's ``_query_my_llm``."""
    return f"{model}: {prompt.upper()}"


def process_prompt(state: Any) -> Any:
    return state.update(processed_prompt=state["prompt"])


def query_llm(state: Any, model: str) -> Any:
    return state.update(llm_output=_query_my_llm(prompt=state["processed_prompt"], model=model))
