"""Facts several checks share, computed once per ``run_checks``: the scopes, every action and
map, and the dataflow analysis (free reads and writes of scopes and steps: by dominance for keys
one step writes, by bit masks for the others, so that flows of 10,000 steps stay linear). A check
called on its own computes them itself.

With ``python`` (the checks may import), the modules are imported here, once, and an action
whose .flow declaration omits ``reads`` or ``writes`` counts with its callable's own declaration
(``checks.imported.ActionKeys``), as the build will run it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter

import networkx as nx

from flowc.compiler.checks.imported import ActionKeys, PythonObjects
from flowc.compiler.ir import (
    ENTRY,
    HALT,
    ActionNode,
    FlowIR,
    GraphNode,
    ItemsFromState,
    Key,
    MapNode,
    Transition,
)
from flowc.errors import Span


@dataclass(frozen=True, slots=True)
class Read:
    """A key read at ``span`` by ``reader`` (a step name, or the condition of an arrow)."""

    key: str
    span: Span
    reader: str
    in_condition: bool = False


class ScopeShape:
    """The shape of one scope's graph, each part worked out once, when a check first asks:
    every step's arrows in the order they are tried, what the entry reaches, what reaches the
    halt, and the loops no step can leave. Plain dict walks over networkx's adjacency (its
    traversal functions cost several times more per node)."""

    __slots__ = (
        "_conditional", "_finishing", "_order", "_position", "_reached", "_trapped", "arrows",
        "scope",
    )  # fmt: skip

    def __init__(self, scope: FlowIR) -> None:
        self.scope = scope
        self.arrows = scope.arrow_table()
        self._order: list[str] | None = None
        self._conditional: list[tuple[str, str, Transition]] | None = None
        self._position: dict[str, int] | None = None
        self._reached: set[str] | None = None
        self._finishing: set[str] | None = None
        self._trapped: list[set[str]] | None = None

    @property
    def order(self) -> list[str]:
        """``start`` and the nodes it reaches, in reverse postorder; the scope has a ``start``."""
        if self._order is None:
            self._order = reverse_postorder(self.scope, ENTRY)
        return self._order

    @property
    def conditional(self) -> list[tuple[str, str, Transition]]:
        """Every arrow with a condition, as ``(source, target, arrow)`` in the order of
        ``arrows``: plain loops (C-level iterators, a ``repeat`` per row, cost four times as
        much)."""
        if self._conditional is None:
            conditional = self._conditional = []
            for source, row in self.arrows.items():
                for target, arrow in row:
                    if arrow.condition is not None:
                        conditional.append((source, target, arrow))
        return self._conditional

    @property
    def position(self) -> dict[str, int]:
        """Each node of ``order`` with its position there (so also what ``start`` reaches)."""
        if self._position is None:
            order = self.order
            self._position = dict(zip(order, range(len(order)), strict=True))
        return self._position

    @property
    def reaches_every_step(self) -> bool:
        """Whether ``start`` reaches every step of the scope: told by counting, with no walk
        over the steps (the scope has a ``start``)."""
        nodes = self.scope._node
        return len(self.order) - (HALT in self.position) == len(nodes) - (HALT in nodes)

    @property
    def finishes_everywhere(self) -> bool:
        """Whether every node but ``end`` has a path to ``end`` (the scope has one)."""
        return len(self.finishing) == len(self.scope._node) - 1

    @property
    def reached(self) -> set[str]:
        """The nodes a path from ``start`` reaches (``nx.descendants``): ``order`` without
        ``start``; the scope has one."""
        if self._reached is None:
            self._reached = set(self.order)
            self._reached.discard(ENTRY)
        return self._reached

    @property
    def finishing(self) -> set[str]:
        """The nodes with a path to ``end`` (``nx.ancestors``); the scope has one."""
        if self._finishing is None:
            self._finishing = reachable(self.scope._pred, HALT)
        return self._finishing

    @property
    def trapped(self) -> list[set[str]]:
        if self._trapped is None:
            scope = self.scope
            if (
                ENTRY in scope
                and len(self.order) == len(scope._node)
                and every_step_may_stop(self.order, self.position, self.arrows)
            ):
                self._trapped = []  # what trapped_cycles finds, without its backward walk
            else:
                self._trapped = trapped_cycles(scope, self.arrows)
        return self._trapped


@dataclass(slots=True)
class FlowFacts:
    scopes: tuple[FlowIR, ...]
    actions: tuple[ActionNode, ...]
    maps: tuple[MapNode, ...]
    dataflow: Dataflow
    written: frozenset[str] = field(default=frozenset())
    """Every key some step, reduce or map writes, anywhere in the flow."""
    python: PythonObjects | None = None
    """The flow's Python objects, imported (``None``: the checks do not import)."""
    shapes: dict[int, ScopeShape] = field(default_factory=dict)

    def shape(self, scope: FlowIR) -> ScopeShape:
        return shape_of(self.shapes, scope)

    def trapped_cycles(self, scope: FlowIR) -> list[set[str]]:
        return self.shape(scope).trapped


def shape_of(shapes: dict[int, ScopeShape], scope: FlowIR) -> ScopeShape:
    """``scope``'s shape from ``shapes`` (by ``id``), made on first use."""
    found = shapes.get(id(scope))
    if found is None:
        found = shapes[id(scope)] = ScopeShape(scope)
    return found


def flow_facts(ir: FlowIR, python: PythonObjects | None = None) -> FlowFacts:
    """The shared facts; with ``python``, the flow's modules are imported into it first."""
    scopes: dict[int, FlowIR] = {}
    actions: dict[int, ActionNode] = {}
    maps: dict[int, MapNode] = {}
    _gather(ir, scopes, actions, maps)
    gathered = tuple(scopes.values())
    keys: dict[int, ActionKeys] = {}
    if python is not None:
        python.import_flow(gathered, actions.values())
        for key, action in actions.items():
            if not (action.reads and action.writes):  # else the .flow file says it all
                keys[key] = python.action_keys(action)
    shapes: dict[int, ScopeShape] = {}
    dataflow = Dataflow(keys, shapes, [spec.name for spec in ir.meta.schema])
    facts = FlowFacts(gathered, tuple(actions.values()), tuple(maps.values()), dataflow)
    facts.shapes = shapes
    facts.written = dataflow.written_anywhere(ir)
    facts.python = python
    return facts


def _gather(
    scope: FlowIR,
    scopes: dict[int, FlowIR],
    actions: dict[int, ActionNode],
    maps: dict[int, MapNode],
) -> None:
    """Add ``scope`` and the scopes nested in it to ``scopes`` (by ``id``, in the order
    ``iter_scopes`` yields them), and every action and map of each (steps, then declarations;
    a map's branch actions after it) to ``actions`` and ``maps`` by ``id``: one look at each
    node for both."""
    if id(scope) in scopes:
        return
    scopes[id(scope)] = scope
    nested: list[FlowIR] = []
    declarations = () if declared_as_steps(scope) else scope.meta.declarations  # else seen twice
    for node in (*map(_NODE, scope._node.values()), *declarations):
        kind = type(node)
        if kind is ActionNode:
            actions.setdefault(id(node), node)
        elif kind is MapNode:
            maps.setdefault(id(node), node)
            for branch in node.branches:
                step = branch.step
                if type(step) is ActionNode:
                    actions.setdefault(id(step), step)
                elif type(step) is GraphNode:
                    nested.append(step.body)
        elif kind is GraphNode:
            nested.append(node.body)
    for body in nested:
        _gather(body, scopes, actions, maps)


def declared_as_steps(scope: FlowIR) -> bool:
    """Whether every declaration of ``scope`` is one of its steps (as in most flows, where
    every declaration is used in a transition): the step of its name is that very object."""
    nodes = scope._node
    for declared in scope.meta.declarations:
        data = nodes.get(declared.name)
        if data is None or data["node"] is not declared:
            return False
    return True


_NODE = itemgetter("node")
"""A node's IR object from its networkx attributes."""
_KEY_NAME = attrgetter("name")
_READS = attrgetter("reads")


class Dataflow:
    """Free reads and writes of scopes and steps, each computed once per object. ``python_keys``
    holds, by ``id`` of the action, what importing found an action reads and writes."""

    def __init__(
        self,
        python_keys: Mapping[int, ActionKeys] | None = None,
        shapes: dict[int, ScopeShape] | None = None,
        provided: Iterable[str] = (),
    ) -> None:
        """``provided``: keys given before the entry (the state block's): their reads are never
        free, so no ``Read`` is made for what ``check_dataflow`` would drop."""
        self._provided = tuple(provided)
        self._free: dict[int, list[Read]] = {}
        self._writes: dict[int, frozenset[str]] = {}
        self._step_writes: dict[int, frozenset[str]] = {}
        self._python_keys = python_keys or {}
        self._shapes = {} if shapes is None else shapes

    @property
    def reads_of(self) -> Callable[[ActionNode], tuple[Key, ...]]:
        """``action_reads``, or plainly each action's ``reads`` when nothing was imported (for
        a caller mapping it over every action)."""
        return self.action_reads if self._python_keys else _READS

    def action_reads(self, node: ActionNode) -> tuple[Key, ...]:
        """The keys ``node`` reads: its .flow ``reads``, else what its callable declares."""
        found = self._python_keys.get(id(node))
        return node.reads if found is None else found.reads

    def action_writes(self, node: ActionNode) -> tuple[Key, ...]:
        """The keys ``node`` writes: its .flow ``writes``, else what its callable declares."""
        found = self._python_keys.get(id(node))
        return node.writes if found is None else found.writes

    def written_anywhere(self, ir: FlowIR) -> frozenset[str]:
        if declared_as_steps(ir):  # the scope's writes are all there is
            return self.scope_writes(ir)
        steps = set(map(id, map(_NODE, ir._node.values())))
        keys = set(self.scope_writes(ir))
        for declared in ir.meta.declarations:
            if id(declared) not in steps:
                keys |= self.step_writes(declared)
        return frozenset(keys)

    def scope_writes(self, scope: FlowIR) -> frozenset[str]:
        """Every key some step of the scope may write."""
        found = self._writes.get(id(scope))
        if found is None:
            keys: set[str] = set()
            plain = not self._python_keys
            for data in scope._node.values():  # a plain loop: C-level iterator chains cost more
                node = data["node"]
                if plain and type(node) is ActionNode:
                    for key in node.writes:  # its .flow keys: no set per action
                        keys.add(key.name)
                else:
                    keys.update(self.step_writes(node))
            found = self._writes[id(scope)] = frozenset(keys)
        return found

    def step_writes(self, node: object) -> frozenset[str]:
        found = self._step_writes.get(id(node))
        if found is None:
            kind = type(node)
            if kind is ActionNode:
                keys = self.action_writes(node) if self._python_keys else node.writes  # type: ignore[attr-defined]
                found = frozenset(map(_KEY_NAME, keys))
            elif kind is GraphNode:
                found = self.scope_writes(node.body)  # type: ignore[attr-defined]
            elif kind is MapNode:  # ``node.writes``, without its two properties' generators
                targets = [key.name for reduce in node.reduces for key in reduce.targets]  # type: ignore[attr-defined]
                found = frozenset(targets)
            else:
                found = frozenset()
            self._step_writes[id(node)] = found
        return found

    def step_reads(self, node: object) -> list[Read]:
        if isinstance(node, ActionNode):
            found = self._python_keys.get(id(node))
            reader = f"action '{node.name}'"
            if found is not None and found.reads_from_python:
                reader += f" (as '{node.callable.written}' declares)"
            return [Read(k.name, k.span, reader) for k in self.action_reads(node)]
        if isinstance(node, GraphNode):
            return self.free_reads(node.body)
        if isinstance(node, MapNode):
            reads = []
            if node.items is not None and isinstance(node.items.source, ItemsFromState):
                key = node.items.source.key
                reads.append(Read(key.name, key.span, f"map '{node.name}'"))
            var = node.items.var.name if node.items else None
            for branch in node.branches:
                reads.extend(r for r in self.step_reads(branch.step) if r.key != var)
            return reads
        return []

    def read_names(self, node: object) -> list[str]:
        """The keys of ``step_reads(node)``, in order, without making its ``Read``s: the test
        of a step whose every read is written before it (most are) needs only these."""
        if isinstance(node, ActionNode):
            return [key.name for key in self.action_reads(node)]
        if isinstance(node, GraphNode):
            return [read.key for read in self.free_reads(node.body)]
        if isinstance(node, MapNode):
            names = []
            if node.items is not None and isinstance(node.items.source, ItemsFromState):
                names.append(node.items.source.key.name)
            var = node.items.var.name if node.items else None
            for branch in node.branches:
                names.extend(name for name in self.read_names(branch.step) if name != var)
            return names
        return []

    def free_reads(self, scope: FlowIR) -> list[Read]:
        found = self._free.get(id(scope))
        if found is None:
            self._free[id(scope)] = []  # a graph that contains itself is reported elsewhere
            found = self._free[id(scope)] = self._analyse(scope)
        return found

    def _analyse(self, scope: FlowIR) -> list[Read]:
        """Which reads may come before a write, per scope, in near-linear time.

        A key written by one step only is written before step ``n`` on every path iff that
        step strictly dominates ``n`` (and by the time ``n``'s arrows are tried iff it dominates
        ``n``): one dominator tree answers all of them. Keys written by several steps keep the
        classic must-analysis, bit masks iterated to a fixed point in reverse postorder, one bit
        per such key only (one bit per key made the masks, and the time, grow with the flow's
        size). ``Read`` objects are made only for the reads found free; the test of a read is
        written out in the loop (a call per read cost more than the test)."""
        if ENTRY not in scope:
            return []
        shape = shape_of(self._shapes, scope)
        order = shape.order
        count = len(order)
        index = shape.position
        python_keys = self._python_keys
        nodes = list(map(_NODE, map(scope._node.__getitem__, order)))
        successors = scope._succ
        sources: list[list[int]] = [[] for _ in range(count)]
        for position, name in enumerate(order):
            for target in successors[name]:  # every target of a reached step is reached
                sources[index[target]].append(position)
        step_writes = self.step_writes
        known_writes = self._step_writes
        writers: dict[str, int] = {}  # the single writer's position, or -1 for several
        for position, node in enumerate(nodes):
            if type(node) is ActionNode and not python_keys:
                for key in node.writes:  # its .flow keys, read as they are (no set made)
                    name = key.name
                    previous = writers.get(name)
                    if previous != position:  # a key written twice by one step counts once
                        writers[name] = position if previous is None else -1
                continue
            keys = known_writes.get(id(node))
            for key in step_writes(node) if keys is None else keys:
                writers[key] = -1 if key in writers else position
        for key in self._provided:
            writers[key] = 0  # written by the entry, which dominates every step
        bits = {key: 1 << n for n, key in enumerate(k for k, w in writers.items() if w < 0)}
        first, last = dominator_intervals(sources)
        masks_in, masks_out = _must_write_masks(nodes, sources, bits, step_writes)

        def written(key: str, position: int, strictly: bool) -> bool:
            writer = writers.get(key)
            if writer is None:
                return False
            if writer < 0:
                mask = masks_in[position] if strictly else masks_out[position]
                return bool(mask & bits[key])
            if strictly and writer == position:
                return False
            return first[writer] <= first[position] and last[position] <= last[writer]

        arrows = shape.arrows
        free: list[Read] = []
        for position, node in enumerate(nodes):
            if type(node) is ActionNode:
                keys = self.action_reads(node) if python_keys else node.reads
                for key in keys:
                    writer = writers.get(key.name)
                    if writer is None:
                        break
                    if writer < 0:
                        if not masks_in[position] & bits[key.name]:
                            break
                    elif writer == position or not (
                        first[writer] <= first[position] and last[position] <= last[writer]
                    ):
                        break
                else:
                    node = None  # every key it reads is written before it: no Read to make
            else:
                for name in self.read_names(node):
                    if not written(name, position, True):
                        break
                else:
                    node = None  # the same for a map or graph (a Read costs ~6k instructions)
            if node is not None:
                for read in self.step_reads(node):
                    if not written(read.key, position, True):
                        free.append(read)
            name = order[position]
            for target, arrow in arrows[name]:
                condition = arrow.condition
                if condition is None:
                    continue
                for key in condition.expression.reads:
                    writer = writers.get(key)
                    if writer is not None and (
                        masks_out[position] & bits[key]
                        if writer < 0
                        else first[writer] <= first[position] and last[position] <= last[writer]
                    ):
                        continue  # written by the time the arrows are tried
                    reader = f"the condition of `{name} -> {target}`"
                    free.extend(
                        Read(k, condition.span, reader, in_condition=True)
                        for k in condition.expression.reads
                        if not written(k, position, False)
                    )
                    break
        return free


def _must_write_masks(
    nodes: list[object],
    sources: list[list[int]],
    bits: dict[str, int],
    step_writes: Callable[[object], frozenset[str]],
) -> tuple[list[int], list[int]]:
    """For each position in reverse postorder: the keys of ``bits`` written on every path
    before the step (``in``) and once it has run (``out``); the entry writes nothing."""
    count = len(nodes)
    if not bits:
        return [0] * count, [0] * count
    writes = [0] * count
    for position, node in enumerate(nodes):
        for key in step_writes(node):
            writes[position] |= bits.get(key, 0)
    masks_in = [-1] * count
    masks_out = [-1] * count
    masks_in[0] = masks_out[0] = 0
    changed = True
    while changed:
        changed = False
        for position in range(1, count):
            value = -1
            for source in sources[position]:
                value &= masks_out[source]
            if value != masks_in[position]:
                masks_in[position] = value
                masks_out[position] = value | writes[position]
                changed = True
    return masks_in, masks_out


def dominator_intervals(sources: list[list[int]]) -> tuple[list[int], list[int]]:
    """Dominance in O(1) per question: nodes are positions in reverse postorder (0 the entry),
    ``sources[n]`` their predecessors. Immediate dominators by Cooper, Harvey and Kennedy's
    iteration ("A Simple, Fast Dominance Algorithm"), then each node's interval in a preorder
    of the dominator tree: ``d`` dominates ``n`` iff ``first[d] <= first[n]`` and ``last[n] <=
    last[d]``.

    A node with one predecessor has it as its immediate dominator (it is the node's parent in
    the depth-first search, so earlier in the order): after the first pass only the nodes
    where paths merge are iterated again. A dominator comes before the nodes it dominates, so
    subtree sizes add up in one backward pass and each subtree's interval is laid out in one
    forward pass, with no walk of the tree."""
    count = len(sources)
    idom = [-1] * count
    if not count:
        return [], []
    idom[0] = 0
    merges: list[int] = []
    for node in range(1, count):
        node_sources = sources[node]
        if len(node_sources) == 1:
            idom[node] = node_sources[0]
        else:
            merges.append(node)
            idom[node] = _meet(idom, node_sources)
    changed = True
    while changed:
        changed = False
        for node in merges:
            new = _meet(idom, sources[node])
            if new != idom[node]:
                idom[node] = new
                changed = True
    size = [1] * count
    for node in range(count - 1, 0, -1):
        size[idom[node]] += size[node]
    first = [0] * count
    last = [count - 1] * count
    following = [1] * count  # where the next child of each node starts
    for node in range(1, count):
        parent = idom[node]
        start = first[node] = following[parent]
        following[parent] = start + size[node]
        following[node] = start + 1
        last[node] = start + size[node] - 1
    return first, last


def _meet(idom: list[int], sources: list[int]) -> int:
    """The nearest common dominator of the ``sources`` already given one (``-1``: none yet)."""
    new = -1
    for source in sources:
        if idom[source] < 0:
            continue
        if new < 0:
            new = source
            continue
        a, b = source, new
        while a != b:
            while a > b:
                a = idom[a]
            while b > a:
                b = idom[b]
        new = a
    return new


def reverse_postorder(graph: nx.MultiDiGraph, source: str) -> list[str]:
    """The nodes reachable from ``source`` in reverse postorder of a depth-first search (each
    node before its successors, loops aside): the order that makes a forward analysis converge
    in two passes. Iterative, so long chains need no recursion."""
    successors = graph._succ
    seen = {source}
    postorder: list[str] = []
    stack = [(source, iter(successors[source]))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(successors[child])))
                break
        else:
            stack.pop()
            postorder.append(node)
    postorder.reverse()
    return postorder


def reachable(adjacency: Mapping[str, Mapping[str, object]], source: str) -> set[str]:
    """The nodes a path of at least one arrow leads to from ``source`` (``source`` excluded, as
    in ``nx.descendants``), following ``adjacency`` (a graph's ``_succ``, or ``_pred`` for
    ancestors)."""
    seen = {source}
    stack = [source]
    while stack:
        for target in adjacency[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    seen.discard(source)
    return seen


def trapped_cycles(
    scope: FlowIR, arrows: Mapping[str, list[tuple[str, Transition]]] | None = None
) -> list[set[str]]:
    """The strongly connected components (with a cycle) that no step can leave: at each of their
    steps the first default arrow stays inside and no earlier conditional arrow leaves. A step
    with no default arrow can always leave (when no condition holds, the flow stops). In the
    order ``nx.strongly_connected_components`` yields them."""
    table = scope.arrow_table() if arrows is None else arrows
    if not _may_be_trapped(table):
        return []
    successors = scope._succ
    trapped = []
    for component in strongly_connected_components(successors):
        if len(component) == 1:
            (only,) = component
            if only not in successors[only]:
                continue
        if not any(_can_leave(table[name], component) for name in component):
            trapped.append(component)
    return trapped


def strongly_connected_components(
    successors: Mapping[str, Mapping[str, object]],
) -> Iterator[set[str]]:
    """The components of the graph ``successors`` describes, as networkx's non-recursive Tarjan
    finds them (same visiting order, so the same order out), over plain dicts."""
    preorder: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    found: set[str] = set()
    pending: list[str] = []
    counter = 0
    neighbours = {name: iter(targets) for name, targets in successors.items()}
    for source in successors:
        if source in found:
            continue
        queue = [source]
        while queue:
            node = queue[-1]
            if node not in preorder:
                counter += 1
                preorder[node] = counter
            descended = False
            for target in neighbours[node]:
                if target not in preorder:
                    queue.append(target)
                    descended = True
                    break
            if descended:
                continue
            low = own = preorder[node]
            for target in successors[node]:
                if target not in found:
                    other = lowlink[target] if preorder[target] > own else preorder[target]
                    if other < low:
                        low = other
            lowlink[node] = low
            queue.pop()
            if low == own:
                component = {node}
                while pending and preorder[pending[-1]] > own:
                    component.add(pending.pop())
                found.update(component)
                yield component
            else:
                pending.append(node)


def every_step_may_stop(
    order: list[str],
    position: Mapping[str, int],
    arrows: Mapping[str, list[tuple[str, Transition]]],
) -> bool:
    """Whether, from every node of ``order`` (a reverse postorder of the whole scope), the
    arrows a step may take lead to a step with no default arrow (where the flow can stop): then
    no loop traps. One pass from the last node back, each node answered from the nodes after
    it; an arrow back to an earlier node (a loop) is not followed, so ``False`` means only "not
    told this way" (``_may_be_trapped`` then answers)."""
    count = len(order)
    stops = [False] * count
    for at in range(count - 1, -1, -1):
        for target, arrow in arrows[order[at]]:
            if stops[position[target]]:
                break  # an arrow it may take leads to a node that may stop
            if arrow.condition is None:
                return False  # its first default arrow stays among nodes not known to stop
        stops[at] = True  # a node that may stop, or with no default arrow
    return True


def _may_be_trapped(table: Mapping[str, list[tuple[str, Transition]]]) -> bool:
    """Whether some step may be caught in a loop: every step of a trapped loop has a default
    arrow, and the arrows it may take (up to that default) all stay in the loop, so from it no
    step without a default arrow (nor ``end``) can be reached that way. When every step can
    reach such an exit, no loop traps and the components need not be computed (one backward
    walk instead of Tarjan's, for the common flow)."""
    exits: list[str] = []
    leads_to: dict[str, list[str]] = {}  # target -> the steps that may take an arrow to it
    for source, arrows in table.items():
        for target, arrow in arrows:
            leads_to.setdefault(target, []).append(source)
            if arrow.condition is None:
                break
        else:
            exits.append(source)  # no default arrow: the flow can stop here
    seen = set(exits)
    stack = exits
    while stack:
        for source in leads_to.get(stack.pop(), ()):
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return len(seen) < len(table)


def _can_leave(arrows: list[tuple[str, Transition]], component: set[str]) -> bool:
    for target, arrow in arrows:
        if target not in component:
            return True
        if arrow.condition is None:
            return False
    return True
