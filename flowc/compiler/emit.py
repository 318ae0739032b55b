"""IR → a readable Python module that builds the same application: ``emit_python(ir) -> str``.

The module imports only public ``flowc.runtime`` names (plus ``flowc.errors.Span``, the leaf the
runtime itself uses) and the user's own modules, never the compiler, so it runs where only the
runtime is installed. It defines ``build_application(state=None, *, executor=None, …)`` with the
keywords of ``flowc.compiler.build.build_application``, and runs the flow when executed as a
script (``python out.py key=value …`` prints the final state as JSON).

Source maps: every runtime object is constructed with the ``Span`` it came from (``origin``), so
the runtime's notes name ``.flow`` lines exactly as for the in-process build. As Jinja's
``CodeGenerator`` does, the writer also records a (flow line, Python line) pair whenever the
``.flow`` line changes; the module keeps them in ``__flow_debug_info__`` and
``flow_line(module, py_line)`` maps a Python line back.

The translation rules are ``build.py``'s; the pure ones (retry, failure policy, reducer arguments,
end-arrow guards, halts) are shared at emit time, what both need at build time (the inputs a map
hands its branches) is ``flowc.runtime.flow_support``, which the module imports, and a test
compares the final states of both on every example.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from flowc.compiler.build import (
    builtin_arguments,
    custom_arguments,
    failure_policy,
    graph_halts,
    map_reads,
    retry,
)
from flowc.compiler.ir import (
    HALT,
    ActionNode,
    CallableSpec,
    ExecutorSpec,
    FlowIR,
    GraphNode,
    ItemsFromInput,
    ItemsFromState,
    ItemsLiteral,
    ItemsRange,
    MapNode,
    ReduceSpec,
)
from flowc.compiler.ir import MapOptions as IRMapOptions
from flowc.compiler.map_classes import class_name
from flowc.errors import Span
from flowc.runtime.reducers import BUILTIN_REDUCERS

INDENT = "    "

_HELPERS = '''

def _action(target, name, reads, writes, bound, origin):
    """The runtime action for a callable, as flowc's build makes it."""
    if isinstance(target, type) and issubclass(target, Action):
        target = target()
    if isinstance(target, Action):
        made = (target.bind(**bound) if bound else target).with_name(name)
    elif isinstance(getattr(target, "action_function", None), FunctionBasedAction):
        declared = target.action_function
        made = FunctionBasedAction(
            declared.fn,
            reads or declared.reads,
            writes or declared.writes,
            {**declared.bound, **bound},
            name,
        )
    else:
        made = FunctionBasedAction(target, reads, writes, bound, name)
    return made.with_origin(origin)


def _condition(text, origin):
    """A transition condition in the expression language (interpreted, never eval'd)."""
    return from_expression(parse_expression(text, span=origin), origin=origin)
'''

_BUILD = '''

def build_application(
    state=None,
    *,
    executor=None,
    persister=None,
    tracker=None,
    app_id=None,
    partition_key=None,
    resume=False,
    hooks=(),
):
    """The application of this flow; ``state`` overrides the schema's defaults."""
    return assemble_application(
        GRAPH,
        ENTRY,
        {**INITIAL_STATE, **dict(state or {})},
        executor=executor,
        persister=persister,
        tracker=tracker,
        app_id=app_id,
        partition_key=partition_key,
        resume=resume,
        hooks=hooks,
    )


def _value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _main(arguments):
    """Run the flow with ``key=value`` overrides; a failure is reported as ``flowc run`` reports
    it (the .flow path and your own frames; ``--traceback full`` shows every frame)."""
    full = arguments[-2:] == ["--traceback", "full"]
    overrides = dict(arg.split("=", 1) for arg in arguments[: -2 if full else None])
    application = build_application({key: _value(v) for key, v in overrides.items()})
    try:
        _, _, final = application.run()
    except Exception as error:
        print(describe_failure(error, full=full), file=sys.stderr)
        return 3  # as `flowc run` exits for a run that failed
    print(json.dumps(final.get_all(), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
'''


@dataclass
class _Writer:
    """Lines of Python with a line table: (flow line, Python line) whenever the flow line
    changes, as Jinja's ``CodeGenerator.newline``/``write`` do."""

    lines: list[str] = field(default_factory=list)
    debug_info: list[tuple[int, int]] = field(default_factory=list)
    flow_file: str = ""

    def line(self, text: str = "", span: Span | None = None, depth: int = 0) -> None:
        changed = not self.debug_info or self.debug_info[-1][0] != getattr(span, "line", None)
        if span is not None and span.file == self.flow_file and changed:
            self.debug_info.append((span.line, len(self.lines) + 1))
        self.lines.append(f"{INDENT * depth}{text}" if text else "")

    def block(self, text: str) -> None:
        self.lines.extend(text.split("\n"))


def emit_python(ir: FlowIR) -> str:
    """The source of a Python module that builds ``ir``'s application on ``flowc.runtime``."""
    return _Emitter(ir).module()


def flow_line(module: ModuleType, py_line: int) -> int | None:
    """The ``.flow`` line that produced line ``py_line`` of an emitted module (like Jinja's
    ``Template.get_corresponding_lineno``); ``None`` before the first mapped line."""
    found = None
    for flow, python in parse_debug_info(getattr(module, "__flow_debug_info__", "")):
        if python > py_line:
            break
        found = flow
    return found


def parse_debug_info(text: str) -> list[tuple[int, int]]:
    """``"12=30&14=33"`` → ``[(12, 30), (14, 33)]`` (flow line, Python line)."""
    pairs = []
    for item in filter(None, text.split("&")):
        flow, python = item.split("=")
        pairs.append((int(flow), int(python)))
    return pairs


class _Emitter:
    def __init__(self, ir: FlowIR) -> None:
        self.ir = ir
        self.out = _Writer(flow_file=ir.meta.file)
        self.modules: dict[str, str] = {}  # module → local alias
        self.names: dict[Any, str] = {}  # id(IR node or body), or ("class", id) → name
        self.taken: set[str] = set()

    # -- names --

    def module_alias(self, module: str) -> str:
        if module not in self.modules:
            alias = _identifier(module.replace(".", "_"))
            while alias in self.taken or alias in _RESERVED:
                alias += "_"
            self.taken.add(alias)
            self.modules[module] = alias
        return self.modules[module]

    def ref(self, spec: CallableSpec) -> str:
        if spec.module is None:
            raise ValueError(f"unresolved callable {spec.written!r}")  # checks report it first
        return f"{self.module_alias(spec.module)}.{spec.name}"

    def variable(self, key: Any, wanted: str) -> str:
        if key not in self.names:
            name = _identifier(wanted)
            while name in self.taken or name in _RESERVED:
                name += "_"
            self.taken.add(name)
            self.names[key] = name
        return self.names[key]

    # -- the module --

    def module(self) -> str:
        ir = self.ir
        out = self.out
        body = _Writer(flow_file=ir.meta.file)
        self.out = body
        entry = self.scope(ir, prefix="")
        graph_var = self.names[id(ir)]
        self.out = out
        build = _BUILD.replace("ENTRY", repr(entry)).replace("GRAPH", graph_var).rstrip("\n")
        header = self.header("\n".join((*body.lines, _HELPERS, build)))
        offset = len(header)
        out.lines = header + body.lines
        out.debug_info = [(flow, py + offset) for flow, py in body.debug_info]
        out.block(build)
        out.line()
        out.line()
        out.line(f"__flow_file__ = {ir.meta.file!r}")
        info = "&".join(f"{flow}={py}" for flow, py in out.debug_info)
        out.line(f"__flow_debug_info__ = {info!r}")
        return "\n".join(out.lines) + "\n"

    def header(self, uses: str) -> list[str]:
        """The docstring, the imports ``uses`` (the rest of the module's text) needs, the user's
        modules and the constants."""
        ir = self.ir
        title = ir.meta.name or "flow"
        lines = [
            f'"""{title}: generated by `flowc compile --emit python` from {ir.meta.file}.',
            "",
            "Do not edit; edit the .flow file and compile again. `build_application()` returns the",
            "application; run this file to run the flow and print its final state as JSON.",
            '"""',
            "",
            *_import_lines(set(_WORD.findall(uses))),
        ]
        for module, alias in sorted(self.modules.items()):
            lines.append(f"import {module} as {alias}" if alias != module else f"import {module}")
        lines.append("")
        lines.append(f"FLOW_FILE = {ir.meta.file!r}")
        state = {f.name: f.default.to_python() for f in ir.meta.schema if f.default is not None}
        lines.append(f"INITIAL_STATE = {state!r}")
        lines.extend(_HELPERS.split("\n"))
        return lines

    def span(self, span: Span) -> str:
        file = "FLOW_FILE" if span.file == self.ir.meta.file else repr(span.file)
        return f"Span({file}, {span.line}, {span.col}, {span.end_line}, {span.end_col})"

    # -- scopes --

    def scope(self, scope: FlowIR, prefix: str) -> str | None:
        """Emit every step of ``scope`` and its graph; returns the scope's entry."""
        steps = [self.step(node, prefix) for node in scope.steps()]
        graph_var = self.variable(id(scope), f"{prefix}graph" if prefix else "graph")
        out = self.out
        out.line()
        where = f"graph {prefix[:-2]}" if prefix else "the flow"
        out.line(f"# the transitions of {where}", scope.meta.span)
        out.line(f"{graph_var} = (")
        out.line(f"GraphBuilder().with_actions({', '.join(steps)})", depth=1)
        out.line(".with_transitions(", depth=1)
        for line, span in self.transitions(scope):
            out.line(line, span, depth=2)
        out.line(")", depth=1)
        out.line(".build()", depth=1)
        out.line(")")
        return scope.entry

    def transitions(self, scope: FlowIR) -> Iterator[tuple[str, Span]]:
        for source in scope.nodes:
            stops: list[tuple[str, str]] = []  # (condition source, its span) of `-> end`
            for _, target, edge in scope.outgoing(source):
                if source == "start" or (stops and stops[-1][0] == ""):
                    continue
                condition, where = "", ""
                if edge.condition is not None:
                    where = self.span(edge.condition.span)
                    condition = f"_condition({edge.condition.text!r}, {where})"
                if target == HALT:
                    stops.append((condition, where))
                    continue
                guarded = _guarded(condition, where, stops)
                cond = f"{guarded}, " if guarded else ""
                yield (
                    f"Transition({source!r}, {target!r}, {cond}origin={self.span(edge.span)}),",
                    edge.span,
                )

    def step(self, node: Any, prefix: str) -> str:
        if id(node) in self.names:
            return self.names[id(node)]
        if isinstance(node, ActionNode):
            return self.action(node, prefix)
        if isinstance(node, MapNode):
            return self.map(node, prefix)
        if isinstance(node, GraphNode):
            return self.graph_step(node, prefix)
        raise ValueError(f"cannot emit step {node.name!r}")  # checks report unknown names first

    def action(self, node: ActionNode, prefix: str) -> str:
        var = self.variable(id(node), f"{prefix}{node.name}")
        bound = {arg.name: arg.value.to_python() for arg in node.args}
        out = self.out
        out.line()
        out.line(f"{var} = _action(", node.span)
        out.line(f"{self.ref(node.callable)},", depth=1)
        out.line(f"{node.name!r},", depth=1)
        out.line(f"{list(node.read_keys)!r},", depth=1)
        out.line(f"{list(node.write_keys)!r},", depth=1)
        out.line(f"{bound!r},", depth=1)
        out.line(f"{self.span(node.span)},", depth=1)
        out.line(")")
        return var

    def runnable(self, node: GraphNode) -> str:
        key = id(node.body)
        if key in self.names:
            return self.names[key] + "_runnable"
        self.scope(node.body, prefix=f"{node.name}__")
        graph_var = self.names[key]
        halts = graph_halts(node.body) or [node.body.entry]
        self.out.line(
            f"{graph_var}_runnable = RunnableGraph({graph_var}, {node.body.entry!r}, {halts!r})",
            node.span,
        )
        return f"{graph_var}_runnable"

    def graph_step(self, node: GraphNode, prefix: str) -> str:
        runnable = self.runnable(node)
        var = self.variable(id(node), f"{prefix}{node.name}")
        cls = self.variable(("class", id(node)), class_name(node.name))
        label = self.label(node.name, "graph", node.span, node.body.entry)
        labels = self.labels(node, prefix, [label])
        out = self.out
        out.line()
        out.line()
        out.line(f"class {cls}(MapActions):", node.span)
        out.line(
            f'"""graph {node.name} used as a step: run it, write back what it writes."""', depth=1
        )
        out.line()
        out.line(f"origin = {self.span(node.span)}", depth=1)
        out.line("reads = []", depth=1)
        out.line(
            f"writes = sorted({{k for a in {runnable}.graph.actions for k in a.writes}})",
            depth=1,
        )
        out.line()
        out.line("@property", depth=1)
        out.line("def inputs(self):", depth=1)
        out.line(f'return ["__context"], branch_inputs([{runnable}])', depth=2)
        out.line()
        out.line("def actions(self, state, context, inputs):", depth=1)
        out.line(f"yield {runnable}", depth=2)
        out.line()
        out.line("def reduce(self, state, states):", depth=1)
        out.line("(final,) = list(states)", depth=2)
        out.line("return state.update(**{k: final[k] for k in self.writes if k in final})", depth=2)
        self.branch_notes(labels, None)
        out.line()
        out.line()
        out.line(f"{var} = {cls}().with_name({node.name!r})")
        return var

    # -- maps --

    def map(self, node: MapNode, prefix: str) -> str:
        branches, labels = [], []
        for branch in node.branches:
            if isinstance(branch.step, GraphNode):
                branches.append(self.runnable(branch.step))
                entry = branch.step.body.entry or ""
                labels.append(self.label(branch.name, "graph", branch.span, entry))
            elif isinstance(branch.step, ActionNode):
                branches.append(self.step(branch.step, f"{prefix}{node.name}__"))
                labels.append(self.label(branch.name, "action", branch.span, branch.step.name))
            else:
                raise ValueError(f"unresolved branch {branch.ref!r}")
        var = self.variable(id(node), f"{prefix}{node.name}")
        cls = self.variable(("class", id(node)), class_name(node.name))
        base = {"states": "MapStates", "actions": "MapActions", "product": "MapActionsAndStates"}
        labels_var = self.labels(node, prefix, labels)
        out = self.out
        out.line()
        out.line()
        out.line(f"class {cls}({base[node.map_kind.value]}):", node.span)
        names = ", ".join(b.name for b in node.branches)
        out.line(f'"""map {node.name}: [{names}]{_items_text(node)}."""', depth=1)
        out.line()
        out.line(f"origin = {self.span(node.span)}", depth=1)
        out.line(f"options = {self.options(node.options)}", depth=1)
        out.line(f"reads = {map_reads(node)!r}", depth=1)
        out.line(f"writes = {list(node.writes)!r}", depth=1)
        out.line()
        input_name = (
            node.items.source.input.name
            if node.items is not None and isinstance(node.items.source, ItemsFromInput)
            else None
        )
        required = [input_name, "__context"] if input_name else ["__context"]
        out.line("@property", depth=1)
        out.line("def inputs(self):", depth=1)
        optional = f"branch_inputs([{', '.join(branches)}])"
        if input_name:
            optional = f"[n for n in {optional} if n != {input_name!r}]"
        out.line(f"return {required!r}, {optional}", depth=2)
        out.line()
        if node.map_kind.value == "states":
            out.line("def action(self, state, inputs):", depth=1)
            out.line(f"return {branches[0]}", depth=2)
        else:
            out.line("def actions(self, state, context, inputs):", depth=1)
            for branch_var in branches:
                out.line(f"yield {branch_var}", depth=2)
        if node.items is not None:
            out.line()
            out.line("def states(self, state, context, inputs):", depth=1)
            out.line(f"for item in {items_source(node)}:", node.items.span, depth=2)
            out.line(f"yield state.update({node.items.var.name}=item)", depth=3)
        out.line()
        out.line("def reduce(self, state, states):", depth=1)
        out.line("states = list(states)", depth=2)
        out.line("return state.update(", depth=2)
        for reduce in node.reduces:
            out.line(f"{self.reduce(reduce)},", reduce.span, depth=3)
        out.line(")", depth=2)
        self.branch_notes(labels_var, node.items.var.name if node.items is not None else None)
        if node.options.tracker == "none":
            out.line()
            out.line("def tracker(self, context=None):", depth=1)
            out.line("return None  # tracker none", depth=2)
        if node.options.persister == "none":
            out.line()
            out.line("def state_persister(self, **kwargs):", depth=1)
            out.line("return None  # persister none", depth=2)
            out.line()
            out.line("def state_initializer(self, **kwargs):", depth=1)
            out.line("return None", depth=2)
        out.line()
        out.line()
        out.line(f"{var} = {cls}().with_name({node.name!r})")
        return var

    def label(self, name: str, kind: str, span: Span, entry: str) -> str:
        """The source of one ``BranchLabel``: what the note on a failed branch names."""
        return f"BranchLabel({name!r}, {kind!r}, {self.span(span)}, {entry!r})"

    def labels(self, node: MapNode | GraphNode, prefix: str, labels: list[str]) -> str:
        """A module-level tuple of a map's branch labels, in branch order; returns its name."""
        var = self.variable(("labels", id(node)), f"{prefix}{node.name}_branches".upper())
        out = self.out
        out.line()
        out.line(f"{var} = (", node.span)
        for label in labels:
            out.line(f"{label},", depth=1)
        out.line(")")
        return var

    def branch_notes(self, labels: str, item_var: str | None) -> None:
        """The map class's ``on_branch_complete``: a failed branch's exception is noted with its
        branch (``flowc.runtime.source_maps``, as the in-process build notes it)."""
        out = self.out
        out.line()
        out.line("def on_branch_complete(self, outcome):", depth=1)
        out.line(f"note_failed_branch(self.name, {labels}, {item_var!r}, outcome)", depth=2)

    def reduce(self, spec: ReduceSpec) -> str:
        if spec.builtin is not None:
            function = BUILTIN_REDUCERS[spec.builtin].__name__
            args = "".join(f", {arg!r}" for arg in builtin_arguments(spec))
            return f"{spec.target_keys[0]}=reducers.{function}(states{args})"
        assert spec.callable is not None
        bound = "".join(f", {k}={v!r}" for k, v in custom_arguments(spec).items())
        call = f"{self.ref(spec.callable)}(state, states{bound})"
        targets = list(spec.target_keys)
        return f"**reducers.custom_result({call}, {targets!r}, {spec.callable.written!r})"

    def options(self, options: IRMapOptions) -> str:
        parts = []
        if options.max_concurrency is not None:
            parts.append(f"max_concurrency={options.max_concurrency}")
        policy = failure_policy(options)
        if not policy.is_fail_fast:
            if policy.max_failure_ratio is not None:
                parts.append(
                    f"failure_policy=FailurePolicy.tolerate_ratio({policy.max_failure_ratio!r})"
                )
            else:
                parts.append(f"failure_policy=FailurePolicy.tolerate({policy.max_failures!r})")
        again = retry(options)
        if again is not None:
            parts.append(
                f"retry=Retry(attempts={again.attempts}, base_delay={again.base_delay!r}, "
                f"max_delay={again.max_delay!r}, jitter={again.jitter!r})"
            )
        if options.timeout_seconds is not None:
            parts.append(f"timeout={options.timeout_seconds!r}")
        if options.first_k is not None:
            parts.append(f"first_k={options.first_k}")
        if options.task_key is not None:
            spec = options.task_key
            if spec.callable is not None:
                parts.append(f"task_key={self.ref(spec.callable)}")
            elif spec.field_path and len(spec.field_path) == 1:
                parts.append(f"task_key={spec.field_path[0]!r}")
            elif spec.field_path:
                path = ".".join(spec.field_path)
                parts.append(f"task_key=functools.partial(reducers.field_value, path={path!r})")
        if options.executor is not None:
            parts.append(f"executor={self.executor(options.executor)}")
        if not parts:
            return "MapOptions()"
        inner = "".join(f"\n{INDENT * 2}{part}," for part in parts)
        return f"MapOptions({inner}\n{INDENT})"

    def executor(self, spec: ExecutorSpec) -> str:
        arg = spec.arg.to_python() if spec.arg is not None else None
        if spec.kind == "callable" and spec.callable is not None:
            factory = self.ref(spec.callable)
            return f"functools.partial({factory}, {arg!r})" if arg is not None else factory
        return f"map_executor({spec.kind!r}, {arg!r}, {self.span(spec.span)})"


def _guarded(condition: str, where: str, stops: list[tuple[str, str]]) -> str:
    """The source of ``build.guarded``: ``condition`` taken only when no earlier end arrow holds."""
    if not stops:
        return condition
    guard = " & ".join(f"~{stop}" for stop, _ in stops)
    combined = f"{guard} & {condition}" if condition else guard
    return f"replace({combined}, origin={where or stops[0][1]})"


def items_source(node: MapNode) -> str:
    assert node.items is not None
    source = node.items.source
    if isinstance(source, ItemsFromState):
        return f"state[{source.key.name!r}]"
    if isinstance(source, ItemsFromInput):
        return f"inputs[{source.input.name!r}]"
    if isinstance(source, ItemsLiteral):
        return repr(tuple(source.values.to_python()))
    assert isinstance(source, ItemsRange)
    return f"range({source.start}, {source.stop}, {source.step})"


def _items_text(node: MapNode) -> str:
    if node.items is None:
        return ""
    return f" for {node.items.var.name} in {items_source(node)}"


# What an emitted module may import: ``import module`` (no names) or ``from module import names``.
_IMPORTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("functools", ()),
    ("json", ()),
    ("sys", ()),
    ("dataclasses", ("replace",)),
    ("flowc.errors", ("Span",)),
    ("flowc.runtime", ("Action", "FunctionBasedAction", "GraphBuilder", "Transition", "reducers")),
    ("flowc.runtime.conditions", ("from_expression",)),
    ("flowc.runtime.expression", ("parse_expression",)),
    ("flowc.runtime.flow_support", ("assemble_application", "branch_inputs", "map_executor")),
    (
        "flowc.runtime.parallelism",
        (
            "FailurePolicy",
            "MapActions",
            "MapActionsAndStates",
            "MapOptions",
            "MapStates",
            "Retry",
            "RunnableGraph",
        ),
    ),
    ("flowc.runtime.source_maps", ("BranchLabel", "describe_failure", "note_failed_branch")),
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _import_lines(used: set[str]) -> list[str]:
    """The import statements for the names in ``used``: standard library first, then flowc,
    each group followed by a blank line (isort's layout)."""
    stdlib: list[str] = []
    flowc: list[str] = []
    for module, names in _IMPORTS:
        group = flowc if module.startswith("flowc") else stdlib
        if not names:
            if module in used:
                group.append(f"import {module}")
            continue
        wanted = [name for name in names if name in used]
        if len(wanted) == 1:
            group.append(f"from {module} import {wanted[0]}")
        elif wanted:
            group.extend([f"from {module} import (", *(f"{INDENT}{n}," for n in wanted), ")"])
    return [line for group in (stdlib, flowc) if group for line in (*group, "")]


# Names the module defines or imports; a flow's names that collide get a trailing underscore.
_RESERVED = frozenset(
    {
        *(name for module, names in _IMPORTS for name in (names or (module,))),
        "FLOW_FILE",
        "INITIAL_STATE",
        "build_application",
        "_action",
        "_condition",
        "_value",
        "_main",
    }
)


def _identifier(name: str) -> str:
    cleaned = "".join(ch if ch.isidentifier() or ch.isdigit() else "_" for ch in name)
    if not cleaned.isidentifier():
        cleaned = f"_{cleaned}"
    return f"{cleaned}_" if keyword.iskeyword(cleaned) else cleaned
