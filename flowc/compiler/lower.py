"""AST → IR: ``lower(module) -> FlowIR``.

Lowering resolves names and nothing else: callables through the file's imports, endpoints and map
branches through the scope chain (a graph body sees its own declarations, then its enclosing
scopes'), graphs imported from other .flow files by parsing and lowering those files. It never
raises for user mistakes: a name that resolves to nothing becomes an ``UnknownNode`` or an
unresolved ``CallableSpec``, and file-level problems (a missing or broken imported file, an import
cycle) are recorded in ``meta.problems``; the checks report all of them.

Declarations may be used before they are written (a graph or map referenced above its
declaration); each is lowered once, on first use, and shared by every scope that refers to it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from flowc.compiler import ast
from flowc.compiler.ir import (
    BUILTIN_EXECUTORS,
    ENTRY,
    HALT,
    ActionNode,
    BoundArg,
    CallableSpec,
    Declaration,
    EntryNode,
    ExecutorSpec,
    FlowImport,
    FlowIR,
    FlowMeta,
    GraphNode,
    HaltNode,
    Import,
    IRNode,
    ItemsFromInput,
    ItemsLiteral,
    ItemSource,
    ItemsRange,
    MapBranch,
    MapItems,
    MapNode,
    MapOptions,
    PythonImport,
    ReducerArg,
    ReduceSpec,
    RetrySpec,
    StateFieldSpec,
    TaskKeySpec,
    Transition,
    UnknownNode,
    new_action_node,
    new_bound_args,
    new_callable_spec,
    new_condition_spec,
    new_items_from_state,
    new_key,
    new_keys,
    new_map_branch,
    new_map_items,
    new_map_node,
    new_map_options,
    new_reduce_spec,
    new_retry_spec,
    new_transition,
)
from flowc.compiler.parse import parse_file
from flowc.errors import Diagnostic, Related, Span

F_FLOW_IMPORT_MISSING = "F220"
F_FLOW_IMPORT_BROKEN = "F221"
F_FLOW_IMPORT_CYCLE = "F222"
F_FLOW_IMPORT_NAME = "F223"
F_SELF_REFERENCE = "F224"
F_NESTED_TOO_DEEP = "F225"

MAX_NESTING = 32
"""How many graphs may nest inside one another (a graph used as a step of the next, across
imported .flow files too); deeper is F225. Real flows nest a handful, and every later stage
(checks, build, drawing, the IR's JSON) walks the nesting recursively."""

_new_span = tuple.__new__
"""``_new_span(Span, fields)``: the span ``Span(*fields)`` makes, without its Python ``__new__``
(a third of the cost); all five fields are always given."""


def lower(module: ast.Module, *, file: str | None = None) -> FlowIR:
    """Lower a parsed module to its IR. ``file`` defaults to the module's span's file; imported
    .flow paths are resolved relative to its directory (the working directory for
    ``<string>``)."""
    file = file or module.span.file
    return _FileLowerer(module, file, _Loader()).lower()


# ---- loading imported .flow files -------------------------------------------------------------


@dataclass(slots=True)
class _Loader:
    """Lowers each imported file once per compile and detects import cycles."""

    cache: dict[str, FlowIR | None] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    depth: int = 0  # scopes (files and graph bodies) being lowered, one inside the other

    @property
    def nesting(self) -> int:
        """How deep the scope being lowered is: the scopes around it, and the files whose
        imports are being loaded (a file loads its imports before it lowers its scope)."""
        return self.depth + len(self.stack)

    def load(self, path: Path, span: Span) -> tuple[FlowIR | None, list[Diagnostic]]:
        key = str(path.resolve())
        shown = str(path)
        if key in self.stack:
            chain = [Path(p).name for p in self.stack[self.stack.index(key) :]] + [path.name]
            return None, [
                Diagnostic(
                    F_FLOW_IMPORT_CYCLE,
                    f"import cycle: {' → '.join(chain)}",
                    span,
                    hints=("move the shared graphs into a third file that both import",),
                )
            ]
        if key in self.cache:
            return self.cache[key], []
        if self.nesting >= MAX_NESTING:
            return None, [_nested_too_deep(shown, span)]
        if not path.is_file():
            return None, [
                Diagnostic(
                    F_FLOW_IMPORT_MISSING,
                    f"cannot import {shown}: no such file",
                    span,
                    hints=("a .flow path is relative to the file that imports it",),
                )
            ]
        module, errors = parse_file(shown)
        if module is None:
            first = errors[0] if errors else None
            related = tuple(Related(d.message, d.span) for d in errors if d.span is not None)
            return None, [
                Diagnostic(
                    F_FLOW_IMPORT_BROKEN,
                    f"cannot import {shown}: it has {len(errors)} syntax error(s)"
                    + (f"; first: {first.message}" if first else ""),
                    span,
                    hints=(f"run `flowc check {shown}`",),
                    related=related[:5],
                )
            ]
        self.stack.append(key)
        try:
            ir = _FileLowerer(module, shown, self).lower()
        finally:
            self.stack.pop()
        self.cache[key] = ir
        return ir, list(ir.meta.problems)


# ---- one file ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Statements:
    """A scope's statements by kind, in source order, sorted in one pass: the module's own
    ``imports``/``state_fields``/``name`` each walk every statement, and a flow of 10,000
    actions has some 25,000."""

    declared: dict[str, ast.ActionDecl | ast.GraphDecl | ast.MapDecl] = field(default_factory=dict)
    """The first declaration of each name."""
    declarations: list[ast.ActionDecl | ast.GraphDecl | ast.MapDecl] = field(default_factory=list)
    transitions: list[ast.Transition] = field(default_factory=list)
    imports: list[ast.ImportFrom] = field(default_factory=list)
    fields: list[ast.StateField] = field(default_factory=list)
    header: ast.FlowHeader | None = None


def _sort_statements(statements: Iterable[ast.Statement]) -> _Statements:
    found = _Statements()
    declared, declarations, transitions = found.declared, found.declarations, found.transitions
    for statement in statements:
        kind = type(statement)
        if kind is ast.Transition:
            transitions.append(statement)  # type: ignore[arg-type]
        elif kind in _DECLARATION_TYPES:
            declarations.append(statement)  # type: ignore[arg-type]
            declared.setdefault(statement.name.value, statement)  # type: ignore[union-attr]
        elif kind is ast.ImportFrom:
            found.imports.append(statement)  # type: ignore[arg-type]
        elif kind is ast.StateBlock:
            found.fields.extend(statement.fields)  # type: ignore[union-attr]
        elif kind is ast.FlowHeader and found.header is None:
            found.header = statement  # type: ignore[assignment]
    return found


_DECLARATION_TYPES = frozenset({ast.ActionDecl, ast.GraphDecl, ast.MapDecl})


@dataclass(slots=True)
class _Scope:
    """The declarations of one scope (the file, or a graph body), lowered lazily."""

    raw: dict[str, ast.ActionDecl | ast.GraphDecl | ast.MapDecl]
    parent: _Scope | None
    done: dict[str, Declaration] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)


class _FileLowerer:
    def __init__(self, module: ast.Module, file: str, loader: _Loader) -> None:
        self.module = module
        self.file = file
        self.loader = loader
        self.problems: list[Diagnostic] = []
        self.python: dict[str, PythonImport] = {}
        self.imports: list[Import] = []
        self.imported: list[Declaration] = []
        self.statements = _sort_statements(module.statements)
        self.schema = tuple(_state_field(f) for f in self.statements.fields)

    def lower(self) -> FlowIR:
        self._lower_imports()
        body = self.statements
        scope = _Scope(body.declared, None)
        for declared in self.imported:
            scope.done.setdefault(declared.name, declared)
        name = body.header.name.value if body.header is not None else None
        ir = self._lower_scope(name, self.module.span, body, scope, prelude=tuple(self.imported))
        ir.graph["meta"] = replace(ir.meta, problems=tuple(self.problems))
        return ir

    # -- imports --

    def _lower_imports(self) -> None:
        for statement in self.statements.imports:
            if isinstance(statement.source, ast.ModulePath):
                for name in statement.names:
                    spec = PythonImport(
                        statement.source.dotted, name.name.value, name.local, name.span
                    )
                    self.imports.append(spec)
                    self.python.setdefault(spec.local, spec)
            else:
                self._lower_flow_import(statement, statement.source)

    def _lower_flow_import(self, statement: ast.ImportFrom, source: ast.FlowPath) -> None:
        base = Path(self.file).parent if not self.file.startswith("<") else Path()
        path = base / source.path
        for name in statement.names:
            self.imports.append(
                FlowImport(source.path, str(path), name.name.value, name.local, name.span)
            )
        other, problems = self.loader.load(path, source.span)
        self.problems.extend(problems)
        if other is None:
            return
        exported = {d.name: d for d in reversed(other.meta.declarations)}
        for name in statement.names:
            wanted = name.name.value
            if wanted in exported:
                found: Declaration = exported[wanted]
            elif wanted == other.meta.name:
                found = GraphNode(wanted, other, other.meta.span)
            else:
                self.problems.append(_missing_flow_name(wanted, path, other, name.name.span))
                continue
            self.imported.append(replace(found, name=name.local, span=name.span))

    # -- scopes --

    def _lower_scope(
        self,
        name: str | None,
        span: Span,
        body: _Statements,
        scope: _Scope,
        *,
        prelude: tuple[Declaration, ...] = (),
    ) -> FlowIR:
        self.loader.depth += 1
        try:
            return self._lower_body(name, span, body, scope, prelude)
        finally:
            self.loader.depth -= 1

    def _lower_body(
        self,
        name: str | None,
        span: Span,
        body: _Statements,
        scope: _Scope,
        prelude: tuple[Declaration, ...],
    ) -> FlowIR:
        declarations = list(prelude)
        for statement in body.declarations:
            label = statement.name.value
            if scope.raw.get(label) is statement:  # declared here: ``scope`` owns it
                declared = self._resolve_in(label, scope, statement.span)
            else:  # a later duplicate: lowered in a throwaway scope, so a check can point at it
                throwaway = _Scope({label: statement}, scope)
                declared = self._resolve(label, throwaway, statement.span)
            if declared is not None:
                declarations.append(declared)
        ir = FlowIR()
        ir.graph["meta"] = FlowMeta(
            name=name,
            span=span,
            schema=self.schema,
            imports=tuple(self.imports),
            declarations=tuple(declarations),
        )
        self._lower_transitions(ir, body.transitions, scope)
        return ir

    def _resolve(self, name: str, scope: _Scope, use: Span) -> Declaration | None:
        """The declaration ``name`` refers to from ``scope`` (the nearest scope out from it that
        declares the name), lowering it on first use."""
        owner: _Scope | None = scope
        while owner is not None:
            if name in owner.raw or name in owner.done:
                return self._resolve_in(name, owner, use)
            owner = owner.parent
        return None

    def _resolve_in(self, name: str, owner: _Scope, use: Span) -> Declaration | None:
        """``name`` as ``owner`` (the scope that declares it) declares it."""
        done = owner.done.get(name)
        if done is not None:
            return done
        if name in owner.busy:
            self.problems.append(
                Diagnostic(
                    F_SELF_REFERENCE,
                    f"'{name}' refers to itself",
                    use,
                    hints=("a graph cannot contain itself; an action cannot re-bind itself",),
                )
            )
            return None
        statement = owner.raw[name]
        kind = type(statement)
        if kind is ast.GraphDecl and self.loader.nesting >= MAX_NESTING:
            self.problems.append(_nested_too_deep(f"graph '{name}'", use))
            return None
        owner.busy.add(name)
        try:
            declared: Declaration
            if kind is ast.ActionDecl:
                declared = self._lower_action(statement, owner)  # type: ignore[arg-type]
            elif kind is ast.GraphDecl:
                declared = self._lower_graph(statement, owner)  # type: ignore[arg-type]
            else:
                declared = self._lower_map(statement, owner)  # type: ignore[arg-type]
        finally:
            owner.busy.discard(name)
        owner.done[name] = declared
        return declared

    def _lower_graph(self, decl: ast.GraphDecl, scope: _Scope) -> GraphNode:
        body = _sort_statements(decl.body)
        inner = _Scope(body.declared, scope)
        return GraphNode(
            decl.name.value, self._lower_scope(decl.name.value, decl.span, body, inner), decl.span
        )

    # -- actions --

    def _lower_action(self, decl: ast.ActionDecl, scope: _Scope) -> ActionNode:
        args = new_bound_args(decl.args)
        node = new_action_node(  # positional (name, callable, span, args, reads, writes, inputs)
            decl.name.value,
            self._callable(decl.target),
            decl.span,
            args,
            new_keys(decl.reads),
            new_keys(decl.writes),
            new_keys(decl.inputs) if decl.inputs else (),  # most declare none: no call
        )
        if decl.target.module is None and decl.target.name != decl.name.value:
            base = self._resolve(decl.target.name, scope, decl.target.span)
            if isinstance(base, ActionNode):
                return _rebind(base, node.name, args, decl.span, node)
        return node

    def _callable(self, ref: ast.CallableRef) -> CallableSpec:
        if ref.module is not None:
            return new_callable_spec(ref.module, ref.name, ref.qualified, ref.span)
        imported = self.python.get(ref.name)
        if imported is None:
            return new_callable_spec(None, ref.name, ref.name, ref.span)
        return new_callable_spec(imported.module, imported.name, ref.name, ref.span)

    # -- maps --

    def _lower_map(self, decl: ast.MapDecl, scope: _Scope) -> MapNode:
        return new_map_node(
            name=decl.name.value,
            map_kind=decl.kind,
            branches=tuple(self._branch(b, scope) for b in decl.branches),
            span=decl.span,
            items=_items(decl.items) if decl.items else None,
            options=self._options(decl.options),
            reduces=tuple(self._reduce(r) for r in decl.reduces),
        )

    def _branch(self, branch: ast.Branch, scope: _Scope) -> MapBranch:
        args = new_bound_args(branch.args)
        target = branch.target
        step: ActionNode | GraphNode | None = None
        declared = None if target.module else self._resolve(target.name, scope, target.span)
        if isinstance(declared, ActionNode) and not args and branch.alias is None:
            step = declared
        elif isinstance(declared, ActionNode):
            step = _rebind(declared, branch.name, args, branch.span)
        elif isinstance(declared, GraphNode):
            step = declared if branch.alias is None else replace(declared, name=branch.name)
        elif declared is None:
            spec = self._callable(target)
            if spec.resolved:
                step = new_action_node(branch.name, spec, branch.span, args)
        return new_map_branch(branch.name, target.qualified, step, branch.span, args)

    def _options(self, options: tuple[ast.MapOption, ...]) -> MapOptions:
        values: dict[str, object] = {}
        spans: list[tuple[str, Span]] = []
        for option in options:
            match option:
                case ast.MaxConcurrency(value=value):
                    values["max_concurrency"] = value
                    spans.append(("max_concurrency", option.span))
                case ast.Executor():
                    values["executor"] = self._executor(option)
                    spans.append(("executor", option.span))
                case ast.Tolerate(limit=ast.Percent() as percent):
                    values["tolerate_fraction"] = percent.fraction
                    values["tolerate_count"] = None
                    spans.append(("tolerate", option.span))
                case ast.Tolerate(limit=limit):
                    values["tolerate_count"] = limit
                    values["tolerate_fraction"] = None
                    spans.append(("tolerate", option.span))
                case ast.Retry():
                    values["retry"] = _retry(option)
                    spans.append(("retry", option.span))
                case ast.Timeout(duration=duration):
                    values["timeout_seconds"] = duration.seconds
                    spans.append(("timeout", option.span))
                case ast.FirstK(count=count):
                    values["first_k"] = count
                    spans.append(("first", option.span))
                case ast.TaskKey(key=ast.FieldPath() as path):
                    values["task_key"] = TaskKeySpec(option.span, field_path=path.parts)
                    spans.append(("key", option.span))
                case ast.TaskKey(key=ast.CallableRef() as ref):
                    values["task_key"] = TaskKeySpec(option.span, callable=self._callable(ref))
                    spans.append(("key", option.span))
                case ast.Tracker(mode=mode):
                    values["tracker"] = mode
                    spans.append(("tracker", option.span))
                case ast.Persister(mode=mode):
                    values["persister"] = mode
                    spans.append(("persister", option.span))
        return new_map_options(**values, spans=tuple(spans))  # type: ignore[arg-type]

    def _executor(self, option: ast.Executor) -> ExecutorSpec:
        target = option.target
        if target.module is None and target.name in BUILTIN_EXECUTORS:
            return ExecutorSpec(target.name, option.span, arg=option.arg)
        return ExecutorSpec(
            "callable", option.span, callable=self._callable(target), arg=option.arg
        )

    def _reduce(self, reduce: ast.Reduce) -> ReduceSpec:
        args = None if reduce.args is None else tuple(_reducer_arg(a) for a in reduce.args)
        targets = new_keys(reduce.targets)
        if reduce.builtin:
            return new_reduce_spec(targets, reduce.span, builtin=reduce.reducer.name, args=args)
        return new_reduce_spec(
            targets, reduce.span, callable=self._callable(reduce.reducer), args=args
        )

    # -- transitions --

    def _lower_transitions(
        self, ir: FlowIR, transitions: list[ast.Transition], scope: _Scope
    ) -> None:
        """Add every arrow of ``transitions`` (and the steps they name) in source order.

        One loop for the whole scope, then one ``add_steps_and_arrows`` for what it found: per
        arrow this is most of what lowering a flow costs, so nothing here is made or looked up
        twice."""
        steps: dict[str, IRNode] = {}
        arrows: list[tuple[str, str, Transition]] = []
        file = self.file
        orders: dict[str, int] = {}
        for transition in transitions:
            condition = None
            if transition.condition is not None:  # a chain takes none: one arrow carries it
                written = transition.condition
                condition = new_condition_spec(written.expression, written.text, written.span)
            path = transition.path
            source = path[0]
            source_name = source.name
            if source_name not in steps:
                steps[source_name] = self._endpoint(source, scope)
            for target in path[1:]:
                target_name = target.name
                if target_name not in steps:
                    steps[target_name] = self._endpoint(target, scope)
                order = orders.get(source_name, 0)
                orders[source_name] = order + 1
                start, stop = source.span, target.span  # (file, line, col, end_line, end_col)
                span = _new_span(Span, (file, start[1], start[2], stop[3], stop[4]))
                arrows.append((source_name, target_name, new_transition(order, span, condition)))
                source, source_name = target, target_name
        ir.add_steps_and_arrows(steps, arrows)

    def _endpoint(self, endpoint: ast.Endpoint, scope: _Scope) -> IRNode:
        """The step ``endpoint`` names (on its first use in the scope)."""
        name = endpoint.name
        if name == ENTRY:  # endpoint.is_start
            return EntryNode(endpoint.span)
        if name == HALT:  # endpoint.is_end
            return HaltNode(endpoint.span)
        # mostly declared in this very scope and lowered already
        node = scope.done.get(name) or self._resolve(name, scope, endpoint.span)
        return UnknownNode(name, endpoint.span) if node is None else node


def _rebind(
    base: ActionNode,
    name: str,
    args: tuple[BoundArg, ...],
    span: Span,
    own: ActionNode | None = None,
) -> ActionNode:
    """``base`` under a new name with ``args`` bound over its own (``.bind().with_name()``);
    ``own``'s reads/writes/inputs replace the base's where ``own`` declares them."""
    merged = {arg.name: arg for arg in base.args}
    merged.update({arg.name: arg for arg in args})
    return new_action_node(
        name=name,
        callable=base.callable,
        span=span,
        args=tuple(merged.values()),
        reads=own.reads if own and own.reads else base.reads,
        writes=own.writes if own and own.writes else base.writes,
        inputs=own.inputs if own and own.inputs else base.inputs,
        base=base.name,
    )


def _state_field(spec: ast.StateField) -> StateFieldSpec:
    return StateFieldSpec(spec.name.value, spec.type, spec.span, spec.default)


def _items(clause: ast.ForClause) -> MapItems:
    source: ItemSource
    match clause.source:
        case ast.StateItems(key=key):
            source = new_items_from_state(new_key(key.value, key.span), clause.source.span)
        case ast.InputItems(input=name):
            source = ItemsFromInput(new_key(name.value, name.span), clause.source.span)
        case ast.LiteralItems(items=items):
            source = ItemsLiteral(items, clause.source.span)
        case ast.RangeItems(start=start, stop=stop, step=step):
            source = ItemsRange(start, stop, step, clause.source.span)
    return new_map_items(new_key(clause.var.value, clause.var.span), source, clause.span)


def _retry(option: ast.Retry) -> RetrySpec:
    jitter = option.jitter
    return new_retry_spec(
        option.attempts,
        option.span,
        backoff_seconds=option.backoff.seconds if option.backoff else None,
        jitter_seconds=jitter.seconds if isinstance(jitter, ast.Duration) else None,
        jitter_fraction=jitter.fraction if isinstance(jitter, ast.Percent) else None,
    )


def _reducer_arg(arg: ast.ReducerArg) -> ReducerArg:
    name = arg.name.value if arg.name else None
    if isinstance(arg.value, ast.FieldPath):
        return ReducerArg(arg.span, name, field_path=arg.value.parts)
    return ReducerArg(arg.span, name, value=arg.value)


def _missing_flow_name(wanted: str, path: Path, other: FlowIR, span: Span) -> Diagnostic:
    names = [d.name for d in other.meta.declarations] + (
        [other.meta.name] if other.meta.name else []
    )
    close = difflib.get_close_matches(wanted, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"{path} declares: {', '.join(names) or '—'}"
    return Diagnostic(
        F_FLOW_IMPORT_NAME,
        f"{path} has no graph, action or map named '{wanted}'",
        span,
        hints=(hint,),
    )


def _nested_too_deep(what: str, use: Span) -> Diagnostic:
    return Diagnostic(
        F_NESTED_TOO_DEEP,
        f"{what} would nest graphs more than {MAX_NESTING} deep",
        use,
        hints=("flatten the chain: let one graph run several steps instead of one graph each",),
    )
