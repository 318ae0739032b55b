"""Actions of the tracking_overrides example (the reference page's cascade overrides)."""

from __future__ import annotations

from typing import Any


def generate_prompts(state: Any) -> Any:
    return state.update(prompts=["What is the meaning of life?", "Why is the sky blue?"])


def query_llm(state: Any) -> Any:
    return state.update(llm_output=f"gpt-4: {state['prompt'].split()[-1].rstrip('?')}")
