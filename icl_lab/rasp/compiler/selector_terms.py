"""Part of stage 4: turn a selector into attention-score terms.

An attention score is a bilinear form ``q(query) . k(key)``; with one-hot
keys and queries it can hold any table ``T[key value, query value]``. A
selector is compiled to a *conjunction of literals*, each literal a 0/1 table
over one (key SOp, query SOp) pair; the head scores a key with
``S * (sum of literals - (n - 1))``, which is ``S`` exactly when every literal
holds and ``<= 0`` otherwise. This covers ``select``, ``and`` of selects, and
``not`` of a single select (its table complemented). A ``causal=True`` select
adds the literal ``key index <= query index`` (non-causal models only: a causal
model's mask already enforces it).

Any other combination (``or``, ``not`` of an ``and``) is not a sum of
pairwise tables; the compiler then builds *joint* SOps, tuples of all key SOps
and of all query SOps (computed by an MLP, so possibly one extra layer), and a
single literal over them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from icl_lab.rasp.compiler.graph import (
    EMBED,
    MLP,
    CompilationError,
    ProgramGraph,
    WidthScratch,
    where,
)
from icl_lab.rasp.compiler.values import ValueSet
from icl_lab.rasp.language import (
    Comparison,
    Encoding,
    Indices,
    Length,
    RASPExpr,
    Select,
    Selector,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SequenceMap,
    SOp,
    indices,
)

#: largest joint key or query value set of a combined selector
JOINT_LIMIT = 4096


@dataclass
class Literal:
    """``table[key value index, query value index]`` in {0, 1} over one SOp pair."""

    keys: SOp
    queries: SOp
    table: np.ndarray
    text: str


@dataclass
class SelectorPlan:
    """A selector as a conjunction of literals (empty: every key is selected)."""

    selector: Selector | None
    literals: list[Literal]
    joint: bool = False

    def inputs(self) -> list[SOp]:
        """The SOps the head reads for its scores."""
        out: list[SOp] = []
        for lit in self.literals:
            out += [n for n in (lit.keys, lit.queries) if n not in out]
        return out

    def describe(self) -> str:
        if not self.literals:
            return "every key"
        return " and ".join(lit.text for lit in self.literals) + (" (joint)" if self.joint else "")


def _tuple(*args: Any) -> tuple:
    return tuple(args)


def _predicate_table(pred: Comparison, keys: ValueSet, queries: ValueSet,
                     sel: Select) -> np.ndarray:
    table = np.zeros((keys.size, queries.size), dtype=bool)
    for i, k in enumerate(keys.values):
        for j, q in enumerate(queries.values):
            try:
                table[i, j] = bool(pred(k, q))
            except TypeError as err:
                raise CompilationError(f"{where(sel)}: cannot compare key value {k!r} with query "
                                       f"value {q!r} using {pred.name}: {err}", sel.name) from err
    return table


def _causal_literal(values: dict[SOp, ValueSet], positions: SOp) -> Literal:
    n = values[positions].size
    table = np.arange(n)[:, None] <= np.arange(n)[None, :]
    return Literal(positions, positions, table, "key index <= query index")


# A selector tree: ("lit", Literal) | ("and", [trees]) | ("or", [trees]).
def _tree(sel: Selector, values: dict[SOp, ValueSet], causal_model: bool,
          positions: Callable[[], SOp]) -> tuple:
    if isinstance(sel, Select):
        for side in (sel.keys, sel.queries):
            if values[side].numerical:
                raise CompilationError(f"{where(sel)}: {side.label} '{side.name}' is numerical; "
                                       "selects need categorical keys and queries", sel.name)
        table = _predicate_table(sel.predicate, values[sel.keys], values[sel.queries], sel)
        text = f"{sel.keys.name}[key] {sel.predicate.value} {sel.queries.name}[query]"
        lit = ("lit", Literal(sel.keys, sel.queries, table, text))
        if sel.causal and not causal_model:
            return ("and", [lit, ("lit", _causal_literal(values, positions()))])
        return lit
    if isinstance(sel, SelectorOr):  # before SelectorAnd: it is a subclass
        return ("or", [_tree(c, values, causal_model, positions) for c in (sel.a, sel.b)])
    if isinstance(sel, SelectorAnd):
        return ("and", [_tree(c, values, causal_model, positions) for c in (sel.a, sel.b)])
    if isinstance(sel, SelectorNot):
        return _negate(_tree(sel.a, values, causal_model, positions))
    raise CompilationError(f"{where(sel)}: unsupported selector type {type(sel).__name__}",
                           sel.name)


def _negate(tree: tuple) -> tuple:
    if tree[0] == "lit":
        lit = tree[1]
        return ("lit", Literal(lit.keys, lit.queries, ~lit.table, f"not ({lit.text})"))
    return ("or" if tree[0] == "and" else "and", [_negate(t) for t in tree[1]])


def _conjunction(tree: tuple) -> list[Literal] | None:
    """The literals if ``tree`` is an and of literals, else None."""
    if tree[0] == "lit":
        return [tree[1]]
    if tree[0] == "or":
        return _conjunction(tree[1][0]) if len(tree[1]) == 1 else None
    out: list[Literal] = []
    for t in tree[1]:
        part = _conjunction(t)
        if part is None:
            return None
        out += part
    return out


def _literals(tree: tuple) -> list[Literal]:
    if tree[0] == "lit":
        return [tree[1]]
    return [lit for t in tree[1] for lit in _literals(t)]


def _joint_table(tree: tuple, keys: list[SOp], queries: list[SOp],
                 values: dict[SOp, ValueSet]) -> np.ndarray:
    """The tree evaluated on the grid of all key values x all query values."""
    shape = [values[k].size for k in keys] + [values[q].size for q in queries]

    def grid(t: tuple) -> np.ndarray:
        if t[0] == "lit":
            lit = t[1]
            view = [1] * len(shape)
            a, b = keys.index(lit.keys), len(keys) + queries.index(lit.queries)
            view[a], view[b] = shape[a], shape[b]
            return np.broadcast_to(lit.table.reshape(view), shape)
        parts = [grid(c) for c in t[1]]
        combine = np.logical_and if t[0] == "and" else np.logical_or
        out = parts[0]
        for p in parts[1:]:
            out = combine(out, p)
        return out

    n_keys = math.prod(shape[:len(keys)])
    return np.ascontiguousarray(grid(tree)).reshape(n_keys, -1)


def _joint_node(sops: list[SOp], sel: Selector, side: str, graph: ProgramGraph,
                values: dict[SOp, ValueSet], consumer: RASPExpr) -> SOp:
    """One SOp holding the tuple of ``sops`` (the SOp itself when there is one)."""
    if len(sops) == 1:
        return sops[0]
    node = SequenceMap(_tuple, *sops, description=f"({', '.join(s.name for s in sops)})")
    node.named(f"{sel.name}.{side}")
    product = [()]
    for s in sops:
        product = [p + (v,) for p in product for v in values[s].values]
    if len(product) > JOINT_LIMIT:
        raise CompilationError(f"{where(sel)}: combining selects needs joint {side} "
                               f"{node.description} with {len(product):,} values, more than "
                               f"{JOINT_LIMIT:,}", sel.name)
    graph.add_synthetic(node, before=consumer, kind=MLP)
    values[node] = ValueSet(Encoding.CATEGORICAL, product, keep_order=True)  # product order
    return node


def positions_node(graph: ProgramGraph, values: dict[SOp, ValueSet], max_len: int) -> SOp:
    """The categorical indices node of the program (added if it has none)."""
    for node in graph.nodes:
        if isinstance(node, Indices) and node.encoding is Encoding.CATEGORICAL:
            return node
    graph.nodes.insert(0, indices)
    graph.kinds[indices] = EMBED
    values[indices] = ValueSet(Encoding.CATEGORICAL, range(max_len))
    return indices


def plan_selector(consumer: SOp, graph: ProgramGraph, values: dict[SOp, ValueSet],
                  causal_model: bool, max_len: int) -> SelectorPlan:
    """The score terms of the head computing ``consumer`` (an aggregate or a width
    scratch); may add joint nodes to the graph."""
    if isinstance(consumer, WidthScratch):
        if isinstance(consumer.owner, Length):
            return SelectorPlan(None, [])  # length: every key
        sel = consumer.owner.selector
    else:
        sel = consumer.selector
    tree = _tree(sel, values, causal_model, lambda: positions_node(graph, values, max_len))
    literals = _conjunction(tree)
    if literals is not None:
        return SelectorPlan(sel, literals)
    lits = _literals(tree)
    keys = list(dict.fromkeys(lit.keys for lit in lits))
    queries = list(dict.fromkeys(lit.queries for lit in lits))
    table = _joint_table(tree, keys, queries, values)
    if keys == queries:  # e.g. (tokens, indices) on both sides: one joint node
        key_node = query_node = _joint_node(keys, sel, "joint", graph, values, consumer)
    else:
        key_node = _joint_node(keys, sel, "keys", graph, values, consumer)
        query_node = _joint_node(queries, sel, "queries", graph, values, consumer)
    text = f"{sel.name}({key_node.name}[key], {query_node.name}[query])"
    return SelectorPlan(sel, [Literal(key_node, query_node, table, text)], joint=True)
