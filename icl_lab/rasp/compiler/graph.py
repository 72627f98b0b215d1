"""Stage 1 of the compiler: the program graph.

Collects the nodes of a RASP program in topological order, classifies each
by how a transformer computes it (embedding, aggregate head, width head, MLP,
or a selector that only shapes attention scores) and rejects node types the
compiler does not know, naming the node. A selector width (or length) is
split into a width head, which writes ``1/(w+1)`` to a synthetic
:class:`WidthScratch` node, and an MLP that reads ``w`` back. Later stages add
more *synthetic* nodes (joint keys/queries of combined selectors, see
:mod:`~icl_lab.rasp.compiler.selector_terms`); they live in the residual stream
like any SOp but are not part of the interpreted program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from icl_lab.rasp.language import (
    Aggregate,
    Encoding,
    Full,
    Indices,
    Length,
    Map,
    RASPExpr,
    Select,
    Selector,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SelectorWidth,
    SequenceMap,
    SOp,
    Tokens,
    topological_order,
)


class CompilationError(ValueError):
    """The compiler cannot (or must not) turn this program into weights.

    ``node`` names the offending node when there is one.
    """

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


def where(node: RASPExpr) -> str:
    """``label 'name'``, the way error messages name a node."""
    return f"{node.label} '{node.name}'"


class WidthScratch(SOp):
    """Compiler-made numerical node: ``1 / (w + 1)`` for the ``w`` keys a selector
    width (or length) counts, as its head writes it. The width itself is then a
    map of this node (``round(1 / x) - 1``), so map fusion treats it like any map."""

    label = "width_scratch"

    def __init__(self, owner: SOp) -> None:
        super().__init__(Encoding.NUMERICAL)
        self.owner = owner
        self._name = f"{owner.name}.scratch"

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.owner.selector,) if isinstance(self.owner, SelectorWidth) else ()

    def describe(self) -> str:
        return f"1/(width+1) of {self.owner.name}"


def width_from_scratch(x: float) -> int:
    """Invert the scratch value ``1 / (w + 1)``."""
    return int(round(1.0 / x)) - 1


# Kinds, i.e. what part of a transformer computes a node.
EMBED = "embedding"  # tokens, indices, constants: the embedding tables
ATTENTION = "attention"  # aggregate: one head
WIDTH = "width"  # a width scratch: one head attending to BOS and the selected keys
MLP = "mlp"  # map / sequence map / selector width / length: a lookup-table MLP
SELECTOR = "selector"  # no residual subspace: part of some head's scores

# Order matters: SelectorOr subclasses SelectorAnd.
_KINDS: list[tuple[type, str]] = [
    (Tokens, EMBED), (Indices, EMBED), (Full, EMBED), (WidthScratch, WIDTH), (Length, MLP),
    (SelectorWidth, MLP), (Aggregate, ATTENTION), (Map, MLP), (SequenceMap, MLP),
    (Select, SELECTOR), (SelectorOr, SELECTOR), (SelectorAnd, SELECTOR),
    (SelectorNot, SELECTOR),
]


def node_kind(node: RASPExpr) -> str:
    """The kind of ``node`` (one of the module constants); raises for unknown types."""
    for cls, kind in _KINDS:
        if isinstance(node, cls):
            return kind
    raise CompilationError(f"{where(node)}: node type {type(node).__name__} is not supported "
                           "by the compiler (it knows tokens, indices, length, full, map, "
                           "sequence_map, select and its combinators, aggregate and "
                           "selector_width)", node.name)


@dataclass
class ProgramGraph:
    """The program's nodes (topological order), their kinds, and synthetic nodes."""

    program: SOp
    nodes: list[RASPExpr]
    kinds: dict[RASPExpr, str]
    synthetic: set[RASPExpr] = field(default_factory=set)
    scratch: dict[SOp, WidthScratch] = field(default_factory=dict)  # width/length -> scratch

    def mlp_args(self, node: SOp) -> list[SOp]:
        """The inputs of an MLP node (a width reads its scratch, a map its children)."""
        return [self.scratch[node]] if node in self.scratch else list(node.children)

    def mlp_fn(self, node: SOp) -> Callable[..., Any]:
        """The function an MLP node applies to :meth:`mlp_args`."""
        return width_from_scratch if node in self.scratch else node.f

    @property
    def sops(self) -> list[SOp]:
        """Nodes with a residual subspace (everything but selectors), in order."""
        return [n for n in self.nodes if self.kinds[n] != SELECTOR]

    def add_synthetic(self, node: SOp, before: RASPExpr, kind: str = MLP) -> None:
        """Insert a compiler-made node just before its first consumer ``before``."""
        if node in self.kinds:
            return
        self.nodes.insert(self.nodes.index(before), node)
        self.kinds[node] = kind
        self.synthetic.add(node)

    def unique_names(self) -> dict[RASPExpr, str]:
        """A display name per node: its name, with ``#id`` added where names collide."""
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.name] = counts.get(n.name, 0) + 1
        return {n: n.name if counts[n.name] == 1 else f"{n.name}#{n.unique_id}"
                for n in self.nodes}


def build_graph(program: RASPExpr) -> ProgramGraph:
    """Stage 1: topological node list and kinds; unknown node types fail here."""
    if isinstance(program, Selector):
        raise CompilationError(f"{where(program)} is a selector; compile a program whose "
                               "output is an SOp (e.g. aggregate or selector_width of it)",
                               program.name)
    if not isinstance(program, SOp):
        raise CompilationError(f"expected a RASP program (an SOp), got {program!r}")
    nodes = topological_order(program)
    graph = ProgramGraph(program, nodes, {n: node_kind(n) for n in nodes})
    for node in list(nodes):
        if isinstance(node, (SelectorWidth, Length)):
            graph.scratch[node] = WidthScratch(node)
            graph.add_synthetic(graph.scratch[node], before=node, kind=WIDTH)
    return graph
