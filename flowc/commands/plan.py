"""``flowc plan FILE [--state key=value ...] [--state-file s.json] [--format text|json]``.

A dry run: nothing runs. It prints the steps reachable from the entry in the order a run would
first meet them, each with its arrows (conditions as written); for each map its kind, branches,
the number of branches when the item list is known before the run (a literal list, a range, or a
state key no action writes, from its default or ``--state``), the concurrency waves
(``ceil(branches / max_concurrency)``) and the worst-case number of retries. ``--state`` values
are checked against the flow's state block as ``flowc run`` checks them.

Exit codes: 0 planned; 1 the flow has errors; 2 usage errors (a bad ``--state`` key or value).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flowc.errors import FlowError

SUMMARY = "show what a run would do, without running anything"
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> Any:
    from flowc.commands.arguments import add_state_arguments

    parser.add_argument("file", metavar="FILE", type=Path, help="the .flow file")
    add_state_arguments(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--no-import",
        action="store_true",
        help="do not import the Python modules the flow names (skips the Python-side checks)",
    )
    parser.epilog = "exit codes: 0 planned, 1 errors in the flow, 2 usage error"
    return run


@dataclass
class MapPlan:
    kind: str
    branches: list[str]
    items: str | None
    item_count: int | None
    branch_count: int | None
    max_concurrency: int | None
    waves: int | None
    retries_per_branch: int
    worst_case_retries: int | None
    failure_policy: str
    timeout_seconds: float | None
    first_k: int | None


@dataclass
class StepPlan:
    name: str
    kind: str
    where: str
    arrows: list[str]
    map: MapPlan | None = None
    graph: list[StepPlan] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    from flowc.commands.arguments import (
        UsageError,
        flow_search_path,
        given_state,
        missing_flow_file,
        resolve_state,
    )
    from flowc.commands.report import render_report
    from flowc.compiler import compile_file
    from flowc.compiler.build import initial_state

    sources: dict[str, str | None] = {}

    def report(error: FlowError) -> None:
        if error.source is not None and error.span is not None:
            sources.setdefault(error.span.file, error.source)
        print(render_report(error.diagnostics, sources), file=sys.stderr)

    try:
        given = given_state(args)
    except UsageError as error:
        report(error)
        return EXIT_USAGE
    missing = missing_flow_file(args.file)
    if missing is not None:
        report(missing)
        return EXIT_ERRORS
    sys.path[:0] = [p for p in flow_search_path(args.file) if p not in sys.path]
    try:
        compiled = compile_file(args.file, import_python=not args.no_import)
    except FlowError as error:
        sources[str(args.file)] = error.source
        report(error)
        return EXIT_ERRORS
    sources[str(args.file)] = compiled.source
    try:
        overrides = resolve_state(compiled.ir, given, import_python=not args.no_import)
    except UsageError as error:
        report(error)
        return EXIT_USAGE
    ir = compiled.ir
    state = {**initial_state(ir), **overrides}
    steps = plan_scope(ir, state, written_keys(ir))
    if args.format == "json":
        document = {"flow": ir.meta.name, "entry": ir.entry, "steps": [asdict(s) for s in steps]}
        print(json.dumps(document, indent=2))
    else:
        print(f"flow {ir.meta.name or args.file} ({ir.meta.file})")
        print(f"entry: {ir.entry}")
        print("\n".join(render_steps(steps, 0)))
    return EXIT_OK


def written_keys(ir: Any) -> set[str]:
    """Every state key some action or map of the flow (or its graphs) writes."""
    from flowc.compiler.ir import ActionNode, MapNode, iter_scopes

    keys: set[str] = set()
    for _, scope in iter_scopes(ir):
        for node in [*scope.steps(), *scope.meta.declarations]:
            if isinstance(node, ActionNode):
                keys.update(node.write_keys)
            elif isinstance(node, MapNode):
                keys.update(node.writes)
                for branch in node.branches:
                    if isinstance(branch.step, ActionNode):
                        keys.update(branch.step.write_keys)
    return keys


def plan_scope(scope: Any, state: dict[str, Any], written: set[str]) -> list[StepPlan]:
    """The reachable steps of a scope, breadth-first from its entry, each once."""
    from flowc.compiler.ir import HALT, GraphNode, MapNode

    plans: list[StepPlan] = []
    seen: set[str] = set()
    queue = deque([scope.entry] if scope.entry else [])
    while queue:
        name = queue.popleft()
        if name in seen or name == HALT:
            continue
        seen.add(name)
        node = scope.node_of(name)
        arrows = []
        for _, target, edge in scope.outgoing(name):
            label = "end" if target == HALT else target
            when = f" when {edge.condition.text}" if edge.condition is not None else ""
            arrows.append(f"-> {label}{when}")
            queue.append(target)
        where = f"{node.span.file}:{node.span.line}"
        step = StepPlan(name, node.kind.value, where, arrows)
        if isinstance(node, MapNode):
            step.map = plan_map(node, state, written)
        elif isinstance(node, GraphNode):
            step.graph = plan_scope(node.body, state, written)
        plans.append(step)
    return plans


def plan_map(node: Any, state: dict[str, Any], written: set[str]) -> MapPlan:
    from flowc.compiler.build import failure_policy, retry
    from flowc.compiler.ir import ItemsFromState, ItemsLiteral, ItemsRange
    from flowc.runtime.executors import DEFAULT_MAX_CONCURRENCY

    options = node.options
    count: int | None = None
    items_text = None
    if node.items is None:
        count = 1
    else:
        source = node.items.source
        items_text = f"{node.items.var.name} in {_items_text(source)}"
        if isinstance(source, ItemsLiteral):
            count = len(source.values.items)
        elif isinstance(source, ItemsRange):
            count = len(range(source.start, source.stop, source.step))
        elif isinstance(source, ItemsFromState):
            key = source.key.name
            value = state.get(key)
            if key not in written and isinstance(value, list | tuple | dict | str):
                count = len(value)
    branches = count * len(node.branches) if count is not None else None
    limit = options.max_concurrency or DEFAULT_MAX_CONCURRENCY
    again = retry(options)
    extra = again.attempts - 1 if again is not None else 0
    policy = failure_policy(options)
    if policy.is_fail_fast:
        policy_text = "fail fast"
    elif policy.max_failure_ratio is not None:
        policy_text = f"tolerate {policy.max_failure_ratio:.0%}"
    else:
        policy_text = f"tolerate {policy.max_failures}"
    return MapPlan(
        kind=node.map_kind.value,
        branches=[b.name for b in node.branches],
        items=items_text,
        item_count=count if node.items is not None else None,
        branch_count=branches,
        max_concurrency=options.max_concurrency,
        waves=math.ceil(branches / limit) if branches is not None else None,
        retries_per_branch=extra,
        worst_case_retries=branches * extra if branches is not None else None,
        failure_policy=policy_text,
        timeout_seconds=options.timeout_seconds,
        first_k=options.first_k,
    )


def render_steps(steps: list[StepPlan], depth: int) -> list[str]:
    pad = "  " * depth
    lines: list[str] = []
    for number, step in enumerate(steps, 1):
        lines.append(f"{pad}{number}. {step.name} ({step.kind}, {step.where})")
        if step.map is not None:
            lines.extend(f"{pad}     {line}" for line in render_map(step.map))
        if step.graph:
            lines.append(f"{pad}     graph body:")
            lines.extend(render_steps(step.graph, depth + 3))
        lines.extend(f"{pad}     {arrow}" for arrow in step.arrows)
    return lines


def _items_text(source: Any) -> str:
    """Where the items come from, as the .flow file says it."""
    from flowc.compiler.ir import ItemsFromInput, ItemsFromState, ItemsLiteral

    if isinstance(source, ItemsFromState):
        return source.key.name
    if isinstance(source, ItemsFromInput):
        return f"input {source.input.name}"
    if isinstance(source, ItemsLiteral):
        return f"a list of {len(source.values.items)}"
    return f"range({source.start}, {source.stop}, {source.step})"


def render_map(plan: MapPlan) -> list[str]:
    from flowc.runtime.executors import DEFAULT_MAX_CONCURRENCY

    over = f" for {plan.items}" if plan.items else ""
    lines = [f"{plan.kind}: [{', '.join(plan.branches)}]{over}"]
    if plan.branch_count is None:
        lines.append("branches: unknown until the run (the item list is computed or an input)")
    else:
        per = f"{plan.item_count} items × {len(plan.branches)}" if plan.items else "one each"
        cap = plan.max_concurrency or f"{DEFAULT_MAX_CONCURRENCY} (the default pool's width)"
        lines.append(
            f"branches: {plan.branch_count} ({per}); waves: {plan.waves} at max_concurrency {cap}"
        )
    retries = (
        f"{plan.worst_case_retries} worst case ({plan.retries_per_branch} per branch)"
        if plan.worst_case_retries is not None
        else f"{plan.retries_per_branch} per branch"
    )
    extras = [f"failures: {plan.failure_policy}", f"retries: {retries}"]
    if plan.timeout_seconds is not None:
        extras.append(f"timeout: {plan.timeout_seconds:g}s")
    if plan.first_k is not None:
        extras.append(f"first {plan.first_k}")
    lines.append("; ".join(extras))
    return lines
