"""Actions of the executor_setting example (the reference page's "Execution" section)."""

from __future__ import annotations

from typing import Any

from flowc.runtime.executors import MultiThreadedExecutor


def ten_threads() -> MultiThreadedExecutor:
    """The map's own executor, made for each invocation (a zero-argument factory)."""
    return MultiThreadedExecutor(max_concurrency=10)


def query_llm(state: Any) -> Any:
    return state.update(llm_output=f"answer to {state['prompt']}")
