"""The IR as JSON: pydantic models mirroring ``flowc.compiler.ir``, with a ``version``.

``dump_ir(ir) -> str`` and ``load_ir(text) -> FlowIR`` round-trip exactly: the loaded IR equals
the dumped one, spans included (conditions are stored as their text and span and re-parsed on
load; ``canonical`` is informative only). ``json_schema()`` is the JSON Schema of the document,
for tools that read ``flowc compile --emit ir`` output. Nested graph bodies are written in full
wherever they occur (a graph used as a step and as a map branch appears twice).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowc.compiler import ast
from flowc.compiler import ir as I
from flowc.errors import Diagnostic, Related, Severity, Span
from flowc.runtime.expression import parse_expression, to_source

VERSION = I.IR_VERSION


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- leaves -----------------------------------------------------------------------------------


SpanModel = tuple[int, int, int, int | None, int | None]
"""A span, compactly: ``[file, line, col, end_line, end_col]``; ``file`` indexes
``IRDocument.files``."""


class StringValue(_Model):
    type: Literal["str"] = "str"
    value: str
    span: SpanModel


class NumberValue(_Model):
    type: Literal["number"] = "number"
    value: int | float
    span: SpanModel


class ConstantValue(_Model):
    type: Literal["constant"] = "constant"
    value: bool | None
    span: SpanModel


class ListValue(_Model):
    type: Literal["list"] = "list"
    items: list[ValueModel]
    span: SpanModel


class DictEntryModel(_Model):
    key: Annotated[StringValue | NumberValue, Field(discriminator="type")]
    value: ValueModel
    span: SpanModel


class DictValue(_Model):
    type: Literal["dict"] = "dict"
    entries: list[DictEntryModel]
    span: SpanModel


ValueModel = Annotated[
    StringValue | NumberValue | ConstantValue | ListValue | DictValue, Field(discriminator="type")
]


class TypeRefModel(_Model):
    name: str
    name_span: SpanModel
    args: list[TypeRefModel] = []
    span: SpanModel


class KeyModel(_Model):
    name: str
    span: SpanModel


class CallableModel(_Model):
    module: str | None
    name: str
    written: str
    span: SpanModel


class BoundArgModel(_Model):
    name: str
    value: ValueModel
    span: SpanModel


# ---- nodes ------------------------------------------------------------------------------------


class EntryModel(_Model):
    kind: Literal["entry"] = "entry"
    span: SpanModel


class HaltModel(_Model):
    kind: Literal["halt"] = "halt"
    span: SpanModel


class UnknownModel(_Model):
    kind: Literal["unknown"] = "unknown"
    name: str
    span: SpanModel


class ActionModel(_Model):
    kind: Literal["action"] = "action"
    name: str
    callable: CallableModel
    span: SpanModel
    args: list[BoundArgModel] = []
    reads: list[KeyModel] = []
    writes: list[KeyModel] = []
    inputs: list[KeyModel] = []
    base: str | None = None


class GraphModel(_Model):
    kind: Literal["graph"] = "graph"
    name: str
    span: SpanModel
    body: str
    """The key of the graph's body in ``IRDocument.graphs``."""


class ItemsFromStateModel(_Model):
    type: Literal["state"] = "state"
    key: KeyModel
    span: SpanModel


class ItemsFromInputModel(_Model):
    type: Literal["input"] = "input"
    input: KeyModel
    span: SpanModel


class ItemsLiteralModel(_Model):
    type: Literal["literal"] = "literal"
    values: ListValue
    span: SpanModel


class ItemsRangeModel(_Model):
    type: Literal["range"] = "range"
    start: int
    stop: int
    step: int
    span: SpanModel


class MapItemsModel(_Model):
    var: KeyModel
    source: Annotated[
        ItemsFromStateModel | ItemsFromInputModel | ItemsLiteralModel | ItemsRangeModel,
        Field(discriminator="type"),
    ]
    span: SpanModel


class ExecutorModel(_Model):
    kind: str
    span: SpanModel
    callable: CallableModel | None = None
    arg: Annotated[StringValue | NumberValue, Field(discriminator="type")] | None = None


class TaskKeyModel(_Model):
    span: SpanModel
    field_path: list[str] | None = None
    callable: CallableModel | None = None


class RetryModel(_Model):
    attempts: int
    span: SpanModel
    backoff_seconds: float | None = None
    jitter_seconds: float | None = None
    jitter_fraction: float | None = None


class OptionSpanModel(_Model):
    option: str
    span: SpanModel


class MapOptionsModel(_Model):
    max_concurrency: int | None = None
    executor: ExecutorModel | None = None
    tolerate_count: int | None = None
    tolerate_fraction: float | None = None
    retry: RetryModel | None = None
    timeout_seconds: float | None = None
    first_k: int | None = None
    task_key: TaskKeyModel | None = None
    tracker: str = "cascade"
    persister: str = "cascade"
    spans: list[OptionSpanModel] = []


class ReducerArgModel(_Model):
    span: SpanModel
    name: str | None = None
    field_path: list[str] | None = None
    value: ValueModel | None = None


class ReduceModel(_Model):
    targets: list[KeyModel]
    span: SpanModel
    builtin: str | None = None
    callable: CallableModel | None = None
    args: list[ReducerArgModel] | None = None


class MapBranchModel(_Model):
    name: str
    ref: str
    step: Annotated[ActionModel | GraphModel, Field(discriminator="kind")] | None
    span: SpanModel
    args: list[BoundArgModel] = []


class MapModel(_Model):
    kind: Literal["map"] = "map"
    name: str
    map_kind: Literal["states", "actions", "product"]
    branches: list[MapBranchModel]
    span: SpanModel
    items: MapItemsModel | None = None
    options: MapOptionsModel = MapOptionsModel()
    reduces: list[ReduceModel] = []


NodeModel = Annotated[
    EntryModel | HaltModel | UnknownModel | ActionModel | GraphModel | MapModel,
    Field(discriminator="kind"),
]
DeclarationModel = Annotated[ActionModel | GraphModel | MapModel, Field(discriminator="kind")]


# ---- edges and scopes -------------------------------------------------------------------------


class ConditionModel(_Model):
    text: str
    span: SpanModel
    canonical: str = ""
    reads: list[str] = []


class EdgeModel(_Model):
    source: str
    target: str
    order: int
    span: SpanModel
    condition: ConditionModel | None = None


class StateFieldModel(_Model):
    name: str
    type: TypeRefModel
    span: SpanModel
    default: ValueModel | None = None


class PythonImportModel(_Model):
    type: Literal["python"] = "python"
    module: str
    name: str
    local: str
    span: SpanModel


class FlowImportModel(_Model):
    type: Literal["flow"] = "flow"
    path: str
    resolved: str
    name: str
    local: str
    span: SpanModel


class RelatedModel(_Model):
    message: str
    span: SpanModel


class DiagnosticModel(_Model):
    code: str
    message: str
    span: SpanModel | None = None
    severity: Literal["error", "warning", "note"] = "error"
    hints: list[str] = []
    related: list[RelatedModel] = []


class MetaModel(_Model):
    name: str | None
    span: SpanModel
    schema_: list[StateFieldModel] = Field(default=[], alias="schema")
    imports: list[Annotated[PythonImportModel | FlowImportModel, Field(discriminator="type")]] = []
    declarations: list[DeclarationModel] = []
    problems: list[DiagnosticModel] = []

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScopeModel(_Model):
    """One scope: its metadata, its nodes in insertion order, its arrows."""

    meta: MetaModel
    nodes: list[NodeModel]
    edges: list[EdgeModel]


class IRDocument(_Model):
    """The JSON document ``flowc compile --emit ir`` writes: the flow's top scope, every graph
    body once (shared by the steps and branches that use it), and the files spans point into."""

    version: Literal[1] = VERSION
    files: list[str]
    flow: ScopeModel
    graphs: dict[str, ScopeModel] = {}


for _model in (ListValue, DictEntryModel, TypeRefModel, MapBranchModel, MapModel):
    _model.model_rebuild()


# ---- entry points -----------------------------------------------------------------------------


def to_document(ir: I.FlowIR) -> IRDocument:
    writer = _Writer()
    flow = writer.scope_(ir)
    return IRDocument(files=list(writer.files), flow=flow, graphs=writer.graphs)


def from_document(document: IRDocument) -> I.FlowIR:
    return _Loader(document).scope(document.flow)


def dump_ir(ir: I.FlowIR, *, indent: int | None = 2) -> str:
    """The IR as JSON text; with ``indent``, each span stays on one line."""
    text = to_document(ir).model_dump_json(indent=indent, by_alias=True)
    return _SPAN_LINES.sub(_join_span, text) if indent else text


_SPAN_LINES = re.compile(r"\[\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+|null),\s*(\d+|null)\s*\]")


def _join_span(match: re.Match[str]) -> str:
    return "[" + ", ".join(match.groups()) + "]"


def load_ir(text: str | bytes) -> I.FlowIR:
    """Parse JSON written by ``dump_ir`` back into an equal IR. A document of another version
    or shape raises pydantic's ``ValidationError`` (a ``ValueError``). Conditions are parsed
    again from their text, so one the parser refuses (a private or dunder attribute, F118) is
    refused here too, as an ``ExpressionSyntaxError``."""
    return from_document(IRDocument.model_validate_json(text))


def json_schema() -> dict[str, Any]:
    return IRDocument.model_json_schema(by_alias=True)


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True)


# ---- IR → models ------------------------------------------------------------------------------


class _Writer:
    """Builds the document; each distinct graph body is written once, in ``graphs``."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.graphs: dict[str, ScopeModel] = {}
        self.graph_ids: dict[int, str] = {}

    def span_(self, span: Span) -> SpanModel:
        file = self.files.setdefault(span.file, len(self.files))
        return (file, span.line, span.col, span.end_line, span.end_col)

    def graph_(self, node: I.GraphNode) -> str:
        """The key of ``node.body`` in ``graphs``, writing the body the first time."""
        key = self.graph_ids.get(id(node.body))
        if key is None:
            key = node.name
            while key in self.graph_ids.values():
                key += "'"
            self.graph_ids[id(node.body)] = key
            self.graphs[key] = self.scope_(node.body)
        return key

    def value_(self, value: ast.Value) -> Any:
        match value:
            case ast.String():
                return StringValue(value=value.value, span=self.span_(value.span))
            case ast.Number():
                return NumberValue(value=value.value, span=self.span_(value.span))
            case ast.Constant():
                return ConstantValue(value=value.value, span=self.span_(value.span))
            case ast.ListLiteral():
                return ListValue(
                    items=[self.value_(v) for v in value.items], span=self.span_(value.span)
                )
            case ast.DictLiteral():
                entries = [
                    DictEntryModel(
                        key=self.value_(e.key), value=self.value_(e.value), span=self.span_(e.span)
                    )
                    for e in value.entries
                ]
                return DictValue(entries=entries, span=self.span_(value.span))
        raise TypeError(f"not an IR literal value: {value!r}")

    def type_(self, ref: ast.TypeRef) -> TypeRefModel:
        return TypeRefModel(
            name=ref.name.value,
            name_span=self.span_(ref.name.span),
            args=[self.type_(a) for a in ref.args],
            span=self.span_(ref.span),
        )

    def key_(self, key: I.Key) -> KeyModel:
        return KeyModel(name=key.name, span=self.span_(key.span))

    def callable_(self, spec: I.CallableSpec | None) -> CallableModel | None:
        if spec is None:
            return None
        return CallableModel(
            module=spec.module, name=spec.name, written=spec.written, span=self.span_(spec.span)
        )

    def arg_(self, arg: I.BoundArg) -> BoundArgModel:
        return BoundArgModel(name=arg.name, value=self.value_(arg.value), span=self.span_(arg.span))

    def action_(self, node: I.ActionNode) -> ActionModel:
        return ActionModel(
            name=node.name,
            callable=self.callable_(node.callable),
            span=self.span_(node.span),
            args=[self.arg_(a) for a in node.args],
            reads=[self.key_(k) for k in node.reads],
            writes=[self.key_(k) for k in node.writes],
            inputs=[self.key_(k) for k in node.inputs],
            base=node.base,
        )

    def items_(self, items: I.MapItems) -> MapItemsModel:
        source: Any
        match items.source:
            case I.ItemsFromState(key=key, span=span):
                source = ItemsFromStateModel(key=self.key_(key), span=self.span_(span))
            case I.ItemsFromInput(input=name, span=span):
                source = ItemsFromInputModel(input=self.key_(name), span=self.span_(span))
            case I.ItemsLiteral(values=values, span=span):
                source = ItemsLiteralModel(values=self.value_(values), span=self.span_(span))
            case I.ItemsRange(start=start, stop=stop, step=step, span=span):
                source = ItemsRangeModel(start=start, stop=stop, step=step, span=self.span_(span))
        return MapItemsModel(var=self.key_(items.var), source=source, span=self.span_(items.span))

    def options_(self, options: I.MapOptions) -> MapOptionsModel:
        executor = options.executor
        retry = options.retry
        task_key = options.task_key
        return MapOptionsModel(
            max_concurrency=options.max_concurrency,
            executor=None
            if executor is None
            else ExecutorModel(
                kind=executor.kind,
                span=self.span_(executor.span),
                callable=self.callable_(executor.callable),
                arg=None if executor.arg is None else self.value_(executor.arg),
            ),
            tolerate_count=options.tolerate_count,
            tolerate_fraction=options.tolerate_fraction,
            retry=None
            if retry is None
            else RetryModel(
                attempts=retry.attempts,
                span=self.span_(retry.span),
                backoff_seconds=retry.backoff_seconds,
                jitter_seconds=retry.jitter_seconds,
                jitter_fraction=retry.jitter_fraction,
            ),
            timeout_seconds=options.timeout_seconds,
            first_k=options.first_k,
            task_key=None
            if task_key is None
            else TaskKeyModel(
                span=self.span_(task_key.span),
                field_path=list(task_key.field_path) if task_key.field_path else None,
                callable=self.callable_(task_key.callable),
            ),
            tracker=options.tracker,
            persister=options.persister,
            spans=[OptionSpanModel(option=o, span=self.span_(s)) for o, s in options.spans],
        )

    def reduce_(self, spec: I.ReduceSpec) -> ReduceModel:
        args = None
        if spec.args is not None:
            args = [
                ReducerArgModel(
                    span=self.span_(a.span),
                    name=a.name,
                    field_path=list(a.field_path) if a.field_path is not None else None,
                    value=None if a.value is None else self.value_(a.value),
                )
                for a in spec.args
            ]
        return ReduceModel(
            targets=[self.key_(k) for k in spec.targets],
            span=self.span_(spec.span),
            builtin=spec.builtin,
            callable=self.callable_(spec.callable),
            args=args,
        )

    def branch_(self, branch: I.MapBranch) -> MapBranchModel:
        step = None if branch.step is None else self.node_(branch.step)
        return MapBranchModel(
            name=branch.name,
            ref=branch.ref,
            step=step,
            span=self.span_(branch.span),
            args=[self.arg_(a) for a in branch.args],
        )

    def node_(self, node: I.IRNode) -> Any:
        match node:
            case I.EntryNode():
                return EntryModel(span=self.span_(node.span))
            case I.HaltNode():
                return HaltModel(span=self.span_(node.span))
            case I.UnknownNode():
                return UnknownModel(name=node.name, span=self.span_(node.span))
            case I.ActionNode():
                return self.action_(node)
            case I.GraphNode():
                return GraphModel(
                    name=node.name, span=self.span_(node.span), body=self.graph_(node)
                )
            case I.MapNode():
                return MapModel(
                    name=node.name,
                    map_kind=node.map_kind.value,
                    branches=[self.branch_(b) for b in node.branches],
                    span=self.span_(node.span),
                    items=None if node.items is None else self.items_(node.items),
                    options=self.options_(node.options),
                    reduces=[self.reduce_(r) for r in node.reduces],
                )
        raise TypeError(f"not an IR node: {node!r}")

    def import_(self, spec: I.Import) -> Any:
        if isinstance(spec, I.PythonImport):
            return PythonImportModel(
                module=spec.module, name=spec.name, local=spec.local, span=self.span_(spec.span)
            )
        return FlowImportModel(
            path=spec.path,
            resolved=spec.resolved,
            name=spec.name,
            local=spec.local,
            span=self.span_(spec.span),
        )

    def diagnostic_(self, item: Diagnostic) -> DiagnosticModel:
        return DiagnosticModel(
            code=item.code,
            message=item.message,
            span=None if item.span is None else self.span_(item.span),
            severity=item.severity.value,
            hints=list(item.hints),
            related=[
                RelatedModel(message=r.message, span=self.span_(r.span)) for r in item.related
            ],
        )

    def meta_(self, meta: I.FlowMeta) -> MetaModel:
        return MetaModel(
            name=meta.name,
            span=self.span_(meta.span),
            schema_=[
                StateFieldModel(
                    name=f.name,
                    type=self.type_(f.type),
                    span=self.span_(f.span),
                    default=None if f.default is None else self.value_(f.default),
                )
                for f in meta.schema
            ],
            imports=[self.import_(i) for i in meta.imports],
            declarations=[self.node_(d) for d in meta.declarations],
            problems=[self.diagnostic_(d) for d in meta.problems],
        )

    def scope_(self, ir: I.FlowIR) -> ScopeModel:
        edges = []
        for source, target, edge in ir.transitions():
            condition = None
            if edge.condition is not None:
                expression = edge.condition.expression
                condition = ConditionModel(
                    text=edge.condition.text,
                    span=self.span_(edge.condition.span),
                    canonical=to_source(expression),
                    reads=list(expression.reads),
                )
            edges.append(
                EdgeModel(
                    source=source,
                    target=target,
                    order=edge.order,
                    span=self.span_(edge.span),
                    condition=condition,
                )
            )
        return ScopeModel(
            meta=self.meta_(ir.meta),
            nodes=[self.node_(ir.node_of(n)) for n in ir.nodes],
            edges=edges,
        )


# ---- models → IR ------------------------------------------------------------------------------


class _Loader:
    """Rebuilds frozen IR values from models, sharing one ``Span`` per distinct position and one
    ``FlowIR`` per graph body."""

    def __init__(self, document: IRDocument) -> None:
        self.document = document
        self.spans: dict[SpanModel, Span] = {}
        self.bodies: dict[str, I.FlowIR] = {}

    def span(self, model: SpanModel) -> Span:
        found = self.spans.get(model)
        if found is None:
            file, line, col, end_line, end_col = model
            found = Span(self.document.files[file], line, col, end_line, end_col)
            self.spans[model] = found
        return found

    def body(self, key: str) -> I.FlowIR:
        found = self.bodies.get(key)
        if found is None:
            found = self.bodies[key] = self.scope(self.document.graphs[key])
        return found

    def value(self, model: Any) -> Any:
        span = self.span(model.span)
        match model:
            case StringValue():
                return ast.String(model.value, span)
            case NumberValue():
                return ast.Number(model.value, span)
            case ConstantValue():
                return ast.Constant(model.value, span)
            case ListValue():
                return ast.ListLiteral(tuple(self.value(v) for v in model.items), span)
            case DictValue():
                return ast.DictLiteral(
                    tuple(
                        ast.DictEntry(self.value(e.key), self.value(e.value), self.span(e.span))
                        for e in model.entries
                    ),
                    span,
                )
        raise TypeError(f"not a value model: {model!r}")

    def type(self, model: TypeRefModel) -> ast.TypeRef:
        return ast.TypeRef(
            ast.Name(model.name, self.span(model.name_span)),
            tuple(self.type(a) for a in model.args),
            self.span(model.span),
        )

    def key(self, model: KeyModel) -> I.Key:
        return I.Key(model.name, self.span(model.span))

    def keys(self, models: list[KeyModel]) -> tuple[I.Key, ...]:
        return tuple(self.key(m) for m in models)

    def callable(self, model: CallableModel | None) -> I.CallableSpec | None:
        if model is None:
            return None
        return I.CallableSpec(model.module, model.name, model.written, self.span(model.span))

    def args(self, models: list[BoundArgModel]) -> tuple[I.BoundArg, ...]:
        return tuple(I.BoundArg(m.name, self.value(m.value), self.span(m.span)) for m in models)

    def node(self, model: Any) -> Any:
        span = self.span(model.span)
        match model:
            case EntryModel():
                return I.EntryNode(span)
            case HaltModel():
                return I.HaltNode(span)
            case UnknownModel():
                return I.UnknownNode(model.name, span)
            case ActionModel():
                return I.ActionNode(
                    name=model.name,
                    callable=self.callable(model.callable),
                    span=span,
                    args=self.args(model.args),
                    reads=self.keys(model.reads),
                    writes=self.keys(model.writes),
                    inputs=self.keys(model.inputs),
                    base=model.base,
                )
            case GraphModel():
                return I.GraphNode(model.name, self.body(model.body), span)
            case MapModel():
                return I.MapNode(
                    name=model.name,
                    map_kind=I.MapKind(model.map_kind),
                    branches=tuple(self.branch(b) for b in model.branches),
                    span=span,
                    items=None if model.items is None else self.items(model.items),
                    options=self.options(model.options),
                    reduces=tuple(self.reduce(r) for r in model.reduces),
                )
        raise TypeError(f"not a node model: {model!r}")

    def branch(self, model: MapBranchModel) -> I.MapBranch:
        step = None if model.step is None else self.node(model.step)
        return I.MapBranch(
            model.name, model.ref, step, self.span(model.span), self.args(model.args)
        )

    def items(self, model: MapItemsModel) -> I.MapItems:
        source: Any = model.source
        span = self.span(source.span)
        match source:
            case ItemsFromStateModel():
                source = I.ItemsFromState(self.key(source.key), span)
            case ItemsFromInputModel():
                source = I.ItemsFromInput(self.key(source.input), span)
            case ItemsLiteralModel():
                source = I.ItemsLiteral(self.value(source.values), span)
            case ItemsRangeModel():
                source = I.ItemsRange(source.start, source.stop, source.step, span)
        return I.MapItems(self.key(model.var), source, self.span(model.span))

    def options(self, model: MapOptionsModel) -> I.MapOptions:
        executor = model.executor
        retry = model.retry
        task_key = model.task_key
        return I.MapOptions(
            max_concurrency=model.max_concurrency,
            executor=None
            if executor is None
            else I.ExecutorSpec(
                executor.kind,
                self.span(executor.span),
                self.callable(executor.callable),
                None if executor.arg is None else self.value(executor.arg),
            ),
            tolerate_count=model.tolerate_count,
            tolerate_fraction=model.tolerate_fraction,
            retry=None
            if retry is None
            else I.RetrySpec(
                retry.attempts,
                self.span(retry.span),
                retry.backoff_seconds,
                retry.jitter_seconds,
                retry.jitter_fraction,
            ),
            timeout_seconds=model.timeout_seconds,
            first_k=model.first_k,
            task_key=None
            if task_key is None
            else I.TaskKeySpec(
                self.span(task_key.span),
                None if task_key.field_path is None else tuple(task_key.field_path),
                self.callable(task_key.callable),
            ),
            tracker=model.tracker,
            persister=model.persister,
            spans=tuple((s.option, self.span(s.span)) for s in model.spans),
        )

    def reduce(self, model: ReduceModel) -> I.ReduceSpec:
        args = None
        if model.args is not None:
            args = tuple(
                I.ReducerArg(
                    self.span(a.span),
                    a.name,
                    None if a.field_path is None else tuple(a.field_path),
                    None if a.value is None else self.value(a.value),
                )
                for a in model.args
            )
        return I.ReduceSpec(
            self.keys(model.targets),
            self.span(model.span),
            model.builtin,
            self.callable(model.callable),
            args,
        )

    def diagnostic(self, model: DiagnosticModel) -> Diagnostic:
        return Diagnostic(
            model.code,
            model.message,
            None if model.span is None else self.span(model.span),
            Severity(model.severity),
            tuple(model.hints),
            tuple(Related(r.message, self.span(r.span)) for r in model.related),
        )

    def import_(self, model: PythonImportModel | FlowImportModel) -> I.Import:
        span = self.span(model.span)
        if isinstance(model, PythonImportModel):
            return I.PythonImport(model.module, model.name, model.local, span)
        return I.FlowImport(model.path, model.resolved, model.name, model.local, span)

    def meta(self, model: MetaModel) -> I.FlowMeta:
        return I.FlowMeta(
            name=model.name,
            span=self.span(model.span),
            schema=tuple(
                I.StateFieldSpec(
                    f.name,
                    self.type(f.type),
                    self.span(f.span),
                    None if f.default is None else self.value(f.default),
                )
                for f in model.schema_
            ),
            imports=tuple(self.import_(i) for i in model.imports),
            declarations=tuple(self.node(d) for d in model.declarations),
            problems=tuple(self.diagnostic(d) for d in model.problems),
        )

    def scope(self, model: ScopeModel) -> I.FlowIR:
        ir = I.FlowIR()
        ir.graph["meta"] = self.meta(model.meta)
        for node in model.nodes:
            ir.add_step(self.node(node))
        for edge in model.edges:
            condition = None
            if edge.condition is not None:
                span = self.span(edge.condition.span)
                expression = parse_expression(edge.condition.text, span=span)
                condition = I.ConditionSpec(expression, edge.condition.text, span)
            transition = I.Transition(edge.order, self.span(edge.span), condition)
            ir.add_transition(edge.source, edge.target, transition)
        return ir
