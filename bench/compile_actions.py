"""The one callable the flows ``bench/compile.py`` generates import, so that they can be built
(``CompiledFlow.build_application``) and not only checked."""

from __future__ import annotations

from typing import Any


def step(state: Any, n: int, label: str) -> dict[str, Any]:
    """A stand-in action: it is built, never run, by the benchmark."""
    return {"n": n, "label": label}
