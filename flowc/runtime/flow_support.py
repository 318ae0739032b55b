"""What an application compiled from a ``.flow`` file needs from the runtime at build time, in one
place for both ways of building it: ``flowc.compiler.build`` (in process) and the module
``flowc compile --emit python`` writes, which may import only the runtime. Sharing these
functions, rather than writing them twice, keeps the two builds from drifting apart:

- ``branch_inputs``: the runtime inputs a map hands on to its branches.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def branch_inputs(branches: Iterable[Any]) -> list[str]:
    """Every runtime input the branches' actions take (a map passes them on to each branch),
    in first-seen order, without the runtime's own (``__context``)."""
    found: list[str] = []
    for branch in branches:
        graph = getattr(branch, "graph", None)
        actions = list(graph.actions) if graph is not None else [branch]
        for action in actions:
            raw = action.inputs
            names = [*raw[0], *raw[1]] if isinstance(raw, tuple) else list(raw)
            found.extend(n for n in names if not n.startswith("__"))
    return list(dict.fromkeys(found))
