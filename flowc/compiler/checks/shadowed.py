"""Shadowed arrows: arrows from one step are tried in order, so any arrow written after that
step's first default (unconditional) arrow can never be taken."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from itertools import compress
from operator import lt

from flowc.compiler.checks.common import error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import ENTRY, FlowIR
from flowc.errors import Diagnostic, Related

F_SHADOWED = "F218"

_MORE_THAN_ONE = partial(lt, 1)
"""``1 < n``, as a C callable: the filter over the steps' arrow counts runs without bytecode."""


def check_shadowed(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    for scope in facts.scopes:
        table = facts.shape(scope).arrows
        several = map(_MORE_THAN_ONE, map(len, table.values()))
        for source, arrows in compress(table.items(), several):  # steps with 2+ arrows only
            if source == ENTRY:
                continue  # several entries are check_entry's
            default = None
            for target, arrow in arrows:
                if default is None:
                    if arrow.condition is None:  # ``is_default``, without a property call
                        default = (target, arrow)
                    continue
                default_target, default_arrow = default
                yield error(
                    F_SHADOWED,
                    f"`{source} -> {target}` is never taken: the earlier default arrow "
                    f"`{source} -> {default_target}` always is",
                    arrow.span,
                    f"move the default `{source} -> {default_target}` after this arrow "
                    "(arrows are tried in the order written)",
                    related=(Related("the default arrow is here", default_arrow.span),),
                )
