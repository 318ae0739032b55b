"""Actions of the low_level_tasks example (the reference page's TaskBasedParallelAction)."""

from __future__ import annotations

import hashlib
from typing import Any


def _query_my_llm(prompt: str, model: str) -> str:
    """A deterministic stand-in for the page's ``_query_my_llm``."""
    return f"{model}: {prompt.split()[-1].rstrip('?')}"


def query_llm(state: Any, model: str) -> Any:
    output = _query_my_llm(prompt=state["prompt"], model=model)
    return state.update(llm_output=output, model=model)


def prompt_key(state: Any) -> str:
    """A stable task key: the page hashes the prompt into the child's application id."""
    return hashlib.sha256(state["prompt"].encode()).hexdigest()[:16]
