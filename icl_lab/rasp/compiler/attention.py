"""Stage 4 of the compiler: one attention head per aggregate / selector width.

Scores (no 1/sqrt(d) scaling; the compiler picks the scale):

* a key the selector selects scores ``S``, any other key ``<= 0`` (see
  :mod:`~icl_lab.rasp.compiler.selector_terms` for how the selector becomes
  bilinear terms);
* the BOS key scores ``B``. Aggregates use ``B`` halfway between the two
  levels: BOS only wins when nothing is selected, and its value vector holds
  the aggregate's *default* (categorical defaults included, ``None`` too), so
  an empty selection returns the default exactly. Selector width uses
  ``B = S``: BOS then gets weight ``1 / (w + 1)``, which the width MLP inverts.
* max / min add ``GAP * rank(value of the key)`` (rank in the sorted value
  set, reversed for min), so softmax puts all weight on the selected keys
  holding the largest (smallest) value. ``S`` grows with the number of ranks
  so that the bonus never lifts an unselected key over BOS.

Every level is at least ``GAP`` apart, so each weight that should be 0 is
below ``exp(-GAP)`` (about 2e-22).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from icl_lab.rasp.compiler.graph import CompilationError, where
from icl_lab.rasp.compiler.layout import ResidualLayout
from icl_lab.rasp.compiler.selector_terms import SelectorPlan
from icl_lab.rasp.compiler.values import ValueSet
from icl_lab.rasp.language import Aggregate, Encoding, SOp

GAP = 50.0


@dataclass
class HeadWeights:
    """One head as matrices on the residual stream: ``q = w_q x``, ``k = w_k x``,
    ``v = w_v x``, output ``w_o (softmax(q.k) v)``."""

    node: SOp
    kind: str  # "mean", "max", "min" or "width"
    plan: SelectorPlan
    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray
    w_o: np.ndarray
    select_score: float
    bos_score: float
    text: str

    def bos_output(self, layout: ResidualLayout) -> np.ndarray:
        """What the head writes at the BOS position (BOS attends to itself)."""
        resid = np.zeros(layout.width)
        resid[[layout.one, layout.bos]] = 1.0
        return self.w_o @ (self.w_v @ resid)


def _ranks(node: Aggregate, vs: ValueSet, layout: ResidualLayout) -> tuple[np.ndarray, float]:
    """Key-side row giving each key its rank (reversed for min) and the largest rank."""
    row = np.zeros(layout.width)
    sign = 1.0 if node.reduce == "max" else -1.0
    if vs.numerical:
        xs = np.array([float(v) for v in vs.values])
        gap = float(np.diff(xs).min()) if len(xs) > 1 else 1.0
        low = xs[0] if sign > 0 else xs[-1]
        # rank = sign * (x - low) / gap, and 0 at BOS (whose value dimension is 0)
        row[layout.dims(node.values)[0]] = sign / gap
        row[layout.one] = -sign * low / gap
        row[layout.bos] = sign * low / gap
        return row, float((xs[-1] - xs[0]) / gap)
    try:
        order = sorted(vs.values)
    except TypeError as err:
        raise CompilationError(f"{where(node)}: {node.reduce} needs ordered values, but "
                               f"'{node.values.name}' takes {list(vs.values)}: {err}",
                               node.name) from err
    rank = {v: (i if sign > 0 else len(order) - 1 - i) for i, v in enumerate(order)}
    row[layout.dims(node.values)] = [rank[v] for v in vs.values]
    return row, float(len(order) - 1)


def _scores(plan: SelectorPlan, layout: ResidualLayout, select: float, bos: float,
            rank_row: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Query and key matrices: one block per literal, then constant, BOS and rank rows."""
    n = len(plan.literals)
    rows = sum(layout.values[lit.keys].size for lit in plan.literals) + 2 + (rank_row is not None)
    w_q, w_k = np.zeros((rows, layout.width)), np.zeros((rows, layout.width))
    r = 0
    for lit in plan.literals:
        kd, qd = layout.dims(lit.keys), layout.dims(lit.queries)
        for j in range(len(kd)):
            w_k[r, kd[j]] = 1.0
            w_q[r, qd] = select * lit.table[j]
            r += 1
    # Conjunction offset: real (non-BOS) keys get -S (n - 1), so all n literals
    # must hold to reach S; with no literals every real key reaches S.
    w_k[r, layout.one], w_k[r, layout.bos] = 1.0, -1.0
    w_q[r, layout.one] = -select * (n - 1)
    w_k[r + 1, layout.bos], w_q[r + 1, layout.one] = 1.0, bos
    if rank_row is not None:
        w_k[r + 2], w_q[r + 2, layout.one] = rank_row, GAP
    return w_q, w_k


def _values(node: SOp, layout: ResidualLayout) -> tuple[np.ndarray, np.ndarray]:
    """Value/output matrices: copy the values node into the aggregate's subspace; the
    BOS key carries the default."""
    out_vs, in_vs = layout.values[node], layout.values[node.values]
    in_dims, out_dims = layout.dims(node.values), layout.dims(node)
    default = node.default
    if default is None and node.encoding is Encoding.NUMERICAL:
        default = 0
    if out_vs.numerical:
        w_v = np.zeros((1, layout.width))
        w_v[0, in_dims] = 1.0 if in_vs.numerical else [float(v) for v in in_vs.values]
        w_v[0, layout.bos] = float(default)
        w_o = np.zeros((layout.width, 1))
        w_o[out_dims[0], 0] = 1.0
        return w_v, w_o
    w_v = np.zeros((out_vs.size, layout.width))
    for i, v in enumerate(in_vs.values):
        w_v[out_vs.index(v), in_dims[i]] = 1.0
    w_v[out_vs.index(default), layout.bos] = 1.0
    w_o = np.zeros((layout.width, out_vs.size))
    w_o[out_dims, np.arange(out_vs.size)] = 1.0
    return w_v, w_o


def build_head(node: SOp, plan: SelectorPlan, layout: ResidualLayout) -> HeadWeights:
    """Stage 4: the head computing ``node`` (an aggregate or a width scratch)."""
    name = layout.names[node]
    if isinstance(node, Aggregate):
        rank_row, top_rank = (None, 0.0) if node.reduce == "mean" else \
            _ranks(node, layout.values[node.values], layout)
        select = GAP * top_rank + 2 * GAP
        bos = GAP * top_rank + GAP
        w_q, w_k = _scores(plan, layout, select, bos, rank_row)
        w_v, w_o = _values(node, layout)
        numerical_zero = node.default is None and layout.values[node].numerical
        default = "0" if numerical_zero else repr(node.default)
        text = (f"{node.reduce} of '{layout.names[node.values]}' over keys where "
                f"{plan.describe()} -> '{name}' (empty: {default})")
        return HeadWeights(node, node.reduce, plan, w_q, w_k, w_v, w_o, select, bos, text)
    select = 2 * GAP
    w_q, w_k = _scores(plan, layout, select, select, None)
    w_v = np.zeros((1, layout.width))
    w_v[0, layout.bos] = 1.0
    w_o = np.zeros((layout.width, 1))
    w_o[layout.dims(node)[0], 0] = 1.0
    text = f"width: count keys where {plan.describe()} -> 1/(w+1) into '{name}'"
    return HeadWeights(node, "width", plan, w_q, w_k, w_v, w_o, select, select, text)

