"""Stage 6 of the compiler: layer allocation by dependency depth.

Sub-layers are numbered 0, 1, 2, ...: even ones are attention, odd ones MLPs
(layer ``l`` = sub-layers ``2l`` and ``2l + 1``). Every node is placed as early
as its inputs allow (the longest path, so the layer count is minimal for
this placement rule): embeddings are ready before sub-layer 0, a head runs in
the first attention sub-layer after its keys, queries and values are ready,
a map runs in the first MLP sub-layer after its arguments. (A selector width
is a head writing ``1/(w+1)`` to a scratch node, then a map of that node.)

*Embedding folding.* A map whose inputs depend (through maps) on the token
alone, or on the position alone, is a column of the token (position)
embedding table: it is computed there and costs no layer.

*Map fusion.* A chain of maps would need one MLP sub-layer (so one layer)
per map. Since MLPs are lookup tables, a map whose latest-ready arguments are
all maps is instead computed directly from *their* arguments (the composed
function), as long as the composed table stays small and reads at most one
numerical input. The fused-away maps are still computed (every node stays
readable in the residual stream), just off the critical path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from icl_lab.rasp.compiler.graph import ATTENTION, EMBED, MLP, WIDTH, ProgramGraph
from icl_lab.rasp.compiler.selector_terms import SelectorPlan
from icl_lab.rasp.compiler.values import ValueSet
from icl_lab.rasp.language import Indices, RASPExpr, SOp, Tokens

#: largest table a fused map may have (fusion is skipped beyond it)
FUSE_LIMIT = 50_000


@dataclass
class MapPlan:
    """How the MLP computes a map: ``node = fn(*args)``, through the ``fused`` maps."""

    node: SOp
    args: list[SOp]
    fused: list[SOp]

    def fn(self, graph: ProgramGraph) -> Callable[..., Any]:
        """The composed function of ``args`` (evaluates the fused maps on the way)."""
        args, node = self.args, self.node

        def composed(*vals: Any) -> Any:
            env: dict[RASPExpr, Any] = dict(zip(args, vals))

            def value(n: RASPExpr) -> Any:
                if n not in env:
                    env[n] = graph.mlp_fn(n)(*[value(c) for c in graph.mlp_args(n)])
                return env[n]

            return value(node)
        return composed


@dataclass
class Schedule:
    """Where each node is computed."""

    ready: dict[SOp, int]  # the sub-layer after which the node is in the residual (-1: embedding)
    n_layers: int
    heads: list[list[SOp]] = field(default_factory=list)  # per layer
    mlps: list[list[SOp]] = field(default_factory=list)  # per layer
    map_plans: dict[SOp, MapPlan] = field(default_factory=dict)
    # maps folded into an embedding table: node -> "tokens", "positions" or "const"
    embedded: dict[SOp, str] = field(default_factory=dict)

    def layer_of(self, node: SOp) -> int | None:
        """The layer that writes ``node`` (None for embeddings)."""
        return None if self.ready[node] < 0 else self.ready[node] // 2


def _next(after: int, parity: int) -> int:
    """The first sub-layer of the given parity (0 attention, 1 MLP) after ``after``."""
    s = after + 1
    return s if s % 2 == parity else s + 1


def _plan_map(node: SOp, ready: dict[SOp, int], plans: dict[SOp, MapPlan],
              values: dict[SOp, ValueSet], graph: ProgramGraph, fuse: bool,
              limit: int) -> MapPlan:
    kinds = graph.kinds
    args = list(dict.fromkeys(graph.mlp_args(node)))
    fused: list[SOp] = []
    while fuse:
        latest = max(ready[a] for a in args)
        if latest < 0:
            break  # only embeddings below: nothing to gain
        critical = [a for a in args if ready[a] == latest]
        if not all(kinds[a] == MLP for a in critical):
            break
        wider = list(dict.fromkeys(
            x for a in args for x in (plans[a].args if a in critical else [a])))
        size = math.prod(values[a].size for a in wider)
        n_numerical = sum(values[a].numerical and values[a].size > 1 for a in wider)
        if size > limit or n_numerical > 1:
            break
        fused += [f for a in critical for f in (*plans[a].fused, a)]
        args = wider
    return MapPlan(node, args, list(dict.fromkeys(fused)))


def _leaf_source(node: SOp) -> str:
    return "tokens" if isinstance(node, Tokens) else "positions" if isinstance(node, Indices) \
        else "const"


def _fold(node: SOp, graph: ProgramGraph, sources: dict[SOp, str],
          plans: dict[SOp, MapPlan]) -> tuple[str, MapPlan] | None:
    """The embedding table that can hold ``node`` (and its plan over embedding leaves)."""
    args = list(dict.fromkeys(graph.mlp_args(node)))
    if not all(a in sources for a in args):
        return None
    kinds = {sources[a] for a in args} - {"const"}
    if len(kinds) > 1:
        return None  # a function of token and position is not a sum of two tables
    leaves = list(dict.fromkeys(x for a in args for x in (plans[a].args if a in plans else [a])))
    fused = list(dict.fromkeys(f for a in args if a in plans for f in (*plans[a].fused, a)))
    return (kinds.pop() if kinds else "const"), MapPlan(node, leaves, fused)


def allocate_layers(graph: ProgramGraph, values: dict[SOp, ValueSet],
                    selector_plans: dict[SOp, SelectorPlan], fuse: bool = True,
                    fuse_limit: int = FUSE_LIMIT, fold: bool = True) -> Schedule:
    """Stage 6: the sub-layer of every SOp, heads and MLPs per layer, and map plans
    (``fold``: maps of the token or position alone go into the embeddings)."""
    ready: dict[SOp, int] = {}
    plans: dict[SOp, MapPlan] = {}
    sources: dict[SOp, str] = {}  # nodes held by an embedding table, and which one
    for node in graph.sops:
        kind = graph.kinds[node]
        folded = _fold(node, graph, sources, plans) if kind == MLP and fold else None
        if kind == EMBED:
            ready[node] = -1
            sources[node] = _leaf_source(node)
        elif folded is not None:
            ready[node] = -1
            sources[node], plans[node] = folded
        elif kind in (ATTENTION, WIDTH):
            inputs = selector_plans[node].inputs() + ([node.values] if kind == ATTENTION else [])
            ready[node] = _next(max((ready[i] for i in inputs), default=-1), 0)
        else:
            plans[node] = _plan_map(node, ready, plans, values, graph, fuse, fuse_limit)
            ready[node] = _next(max(ready[a] for a in plans[node].args), 1)
    n_layers = max(ready.values(), default=-1) // 2 + 1
    heads: list[list[SOp]] = [[] for _ in range(n_layers)]
    mlps: list[list[SOp]] = [[] for _ in range(n_layers)]
    for node in graph.sops:
        kind, s = graph.kinds[node], ready[node]
        if kind in (ATTENTION, WIDTH):
            heads[s // 2].append(node)
        elif kind == MLP and node not in sources:
            mlps[s // 2].append(node)
    embedded = {n: src for n, src in sources.items() if graph.kinds[n] == MLP}
    return Schedule(ready, n_layers, heads, mlps, plans, embedded)
