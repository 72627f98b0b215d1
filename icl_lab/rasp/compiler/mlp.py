"""Stage 5 of the compiler: exact lookup-table MLPs (one ReLU layer).

A map ``f(a, b, ...)`` over finite value sets is a table. The table is cut
into *boxes* (every argument restricted to a subset of its values, at most
one numerical argument restricted to an interval) on which ``f`` is constant,
by recursive splitting (a decision tree that always splits on the argument
giving the fewest distinct sub-tables). Each box becomes hidden units whose
sum is 1 inside the box and 0 outside; they write ``f``'s value (one-hot, or
the number) to the output subspace. Exactly one box fires per position.

* categorical conditions: ``ReLU(sum of one-hot coordinates in the box - (c - 1))``
  is 1 iff all ``c`` conditions hold (``<= 0`` otherwise);
* a numerical argument ``x`` (its values sorted, smallest gap ``g``) is
  discretised by steps ``ReLU(L(x - t) + 1/2) - ReLU(L(x - t) - 1/2)`` at the
  midpoints ``t`` between consecutive values, ``L = 4 / g``: exactly 0 or 1
  while ``x`` is within ``3g/8`` of a value in its set; a large penalty switches
  the steps off when a categorical condition fails.

A numerical map that is affine in numerical inputs (``a + b``, ``2 * x - 1``)
needs no table: ``ReLU(x) - ReLU(-x)`` passes each input through, so it costs
two units per input and stays exact for any input value.

Every unit also gets ``-M * bos``, so MLPs write nothing at the BOS position.
The *cleanup* unit ``ReLU(bos)`` removes what this layer's heads wrote at BOS
(keeping every subspace 0 there, see :mod:`~icl_lab.rasp.compiler.layout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from icl_lab.rasp.compiler.graph import CompilationError, where
from icl_lab.rasp.compiler.layout import ResidualLayout
from icl_lab.rasp.compiler.values import Table, evaluate_table
from icl_lab.rasp.language import SOp


@dataclass
class Axis:
    """One MLP input: its residual dimensions and values (numerical: one dimension)."""

    name: str
    dims: np.ndarray
    values: tuple
    numerical: bool


@dataclass
class MLPWeights:
    """Hidden units ``ReLU(w_in x)`` and their output ``w_out h`` for one node."""

    node: SOp | None
    w_in: np.ndarray  # [hidden, d]
    w_out: np.ndarray  # [d, hidden]
    text: str

    @property
    def hidden(self) -> int:
        return self.w_in.shape[0]


def _group_labels(x: np.ndarray, axis: int, weights: list[np.ndarray]) -> np.ndarray:
    """For each index along ``axis``, a label shared by indices with equal sub-tables.

    Sub-tables are compared through a separable random projection (a chain of
    BLAS contractions). A collision would only make a split less useful, never
    wrong: boxes are split until the table is constant on them, which is
    checked exactly.
    """
    h = x
    for j in range(axis):  # leading axes: (w @ h.reshape(n, -1)) keeps memory contiguous
        h = weights[j][:x.shape[j]] @ h.reshape(x.shape[j], -1)
    h = h.reshape(x.shape[axis], -1)
    for j in range(x.ndim - 1, axis, -1):  # trailing axes, from the back
        h = h.reshape(-1, x.shape[j]) @ weights[j][:x.shape[j]]
    return np.unique(np.round(h.ravel(), 6), return_inverse=True)[1].ravel()


def _groups(labels: np.ndarray, contiguous: bool) -> list[np.ndarray]:
    if contiguous:  # a numerical axis splits into intervals of its sorted values
        cuts = np.flatnonzero(np.diff(labels)) + 1
        return np.split(np.arange(len(labels)), cuts)
    return [np.flatnonzero(labels == g) for g in np.unique(labels)]


def partition(codes: np.ndarray, numerical_axis: int | None = None,
              ) -> list[tuple[list[np.ndarray], int]]:
    """Boxes ``(index subset per axis, output code)`` covering every defined entry."""
    rng = np.random.default_rng(0)
    weights = [rng.uniform(0.5, 1.5, size=n) for n in codes.shape]
    boxes = []
    # Each entry: the box (indices per axis) and the table on it, as floats with
    # don't-cares (-1) mapped to 1 and code c to c + 2.
    stack = [([np.arange(n) for n in codes.shape], codes.astype(np.float64) + 2.0)]
    while stack:
        idx, x = stack.pop()
        top = x.max()
        if top == 1.0:
            continue  # nothing defined here
        low = np.where(x > 1.0, x, np.inf).min()
        if low == top:
            boxes.append((idx, int(top) - 2))
            continue
        best: tuple[int, list[np.ndarray]] | None = None
        for axis in range(codes.ndim):
            if len(idx[axis]) < 2:
                continue
            groups = _groups(_group_labels(x, axis, weights), axis == numerical_axis)
            if len(groups) > 1 and (best is None or len(groups) < len(best[1])):
                best = (axis, groups)
        assert best is not None, "a non-constant table has an axis to split"
        axis, groups = best
        for g in reversed(groups):
            child = [idx[a][g] if a == axis else idx[a] for a in range(codes.ndim)]
            stack.append((child, np.take(x, g, axis=axis)))
    return boxes


def _box_units(idx: list[np.ndarray], axes: Sequence[Axis], out_vec: np.ndarray,
               layout: ResidualLayout) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Hidden-unit input rows and output columns whose sum is ``out_vec`` inside the box."""
    d = layout.width
    cat = np.zeros(d)  # sum of the one-hot coordinates the box allows
    c = 0
    num: Axis | None = None
    for a, sel in zip(axes, idx):
        if len(sel) == len(a.values):
            continue  # unconstrained
        if a.numerical:
            num, lo, hi = a, int(sel[0]), int(sel[-1])
        else:
            cat[a.dims[sel]] += 1.0
            c += 1
    if num is None:
        row = cat.copy()
        row[layout.one] += 1.0 - c
        row[layout.bos] -= 2.0
        return [row], [out_vec]
    xs = np.array([float(v) for v in num.values])
    L = 4.0 / float(np.diff(xs).min())
    M_cat = L * (xs[-1] - xs[0]) + 2.0
    M_bos = L * (1.0 + np.abs(xs).max()) + 2.0
    penalty = M_cat * cat  # P = M_cat (sum - c) - M_bos bos
    penalty[layout.one] -= M_cat * c
    penalty[layout.bos] -= M_bos
    rows, cols = [], []

    def step(t: float, sign: float) -> None:
        for offset, s in ((0.5, sign), (-0.5, -sign)):
            row = penalty.copy()
            row[num.dims[0]] += L
            row[layout.one] += offset - L * t
            rows.append(row)
            cols.append(s * out_vec)

    if lo == 0:
        row = penalty.copy()
        row[layout.one] += 1.0
        rows.append(row)
        cols.append(out_vec)
    else:
        step((xs[lo - 1] + xs[lo]) / 2, 1.0)
    if hi < len(xs) - 1:
        step((xs[hi] + xs[hi + 1]) / 2, -1.0)
    return rows, cols


def build_table_mlp(node: SOp, axes: Sequence[Axis], codes: np.ndarray,
                    layout: ResidualLayout, text: str) -> MLPWeights:
    """Hidden units for a table of output codes over ``axes`` (categorical or one numerical)."""
    numerical = [i for i, a in enumerate(axes) if a.numerical and len(a.values) > 1]
    if len(numerical) > 1:
        names = ", ".join(axes[i].name for i in numerical)
        raise CompilationError(f"{where(node)}: an MLP can discretise one numerical input, "
                               f"but this one reads {len(numerical)} ({names}); make all but "
                               "one categorical", node.name)
    out = [layout.encode(node, v) for v in layout.values[node].values]
    rows, cols = [], []
    for idx, code in partition(codes, numerical[0] if numerical else None):
        r, c = _box_units(idx, axes, out[code], layout)
        rows += r
        cols += c
    w_in = np.array(rows).reshape(len(rows), layout.width)
    w_out = np.array(cols).reshape(len(cols), layout.width).T
    return MLPWeights(node, w_in, w_out, text)


AFFINE_FIT_LIMIT = 1_000_000


def _affine(axes: Sequence[Axis], codes: np.ndarray, outputs: Sequence[float],
            ) -> np.ndarray | None:
    """Coefficients ``(c_1, ..., c_k, constant)`` if the table is affine in the inputs."""
    if codes.size > AFFINE_FIT_LIMIT:
        return None
    grids = np.meshgrid(*[np.array([float(v) for v in a.values]) for a in axes], indexing="ij")
    x = np.stack([g.ravel() for g in grids] + [np.ones(codes.size)], axis=1)
    keep = codes.ravel() >= 0
    y = np.array([float(v) for v in outputs])[codes.ravel()[keep]]
    coef = np.linalg.lstsq(x[keep], y, rcond=None)[0]
    coef[np.abs(coef) < 1e-12] = 0.0
    exact = np.abs(x[keep] @ coef - y).max(initial=0.0) <= 1e-9 * (1.0 + np.abs(y).max(initial=0.0))
    return coef if exact else None


def _affine_mlp(node: SOp, axes: Sequence[Axis], coef: np.ndarray, layout: ResidualLayout,
                text: str) -> MLPWeights:
    """``sum c_i x_i + c_0`` through ``ReLU(x) - ReLU(-x)`` pairs (0 at BOS)."""
    out = layout.dims(node)[0]
    rows, cols = [], []
    for a, c in zip(axes, coef[:-1]):
        if c == 0.0:
            continue
        bound = max(abs(float(v)) for v in a.values) + 2.0  # inputs at BOS are 0 or 1
        for sign in (1.0, -1.0):
            row, col = np.zeros(layout.width), np.zeros(layout.width)
            row[a.dims[0]], row[layout.bos], col[out] = sign, -bound, sign * c
            rows.append(row)
            cols.append(col)
    if coef[-1] != 0.0:
        row, col = np.zeros(layout.width), np.zeros(layout.width)
        row[layout.one], row[layout.bos], col[out] = 1.0, -2.0, coef[-1]
        rows.append(row)
        cols.append(col)
    w_in = np.array(rows).reshape(len(rows), layout.width)
    w_out = np.array(cols).reshape(len(cols), layout.width).T
    return MLPWeights(node, w_in, w_out, text + " (affine)")


def _axis(node: SOp, layout: ResidualLayout) -> Axis:
    vs = layout.values[node]
    return Axis(layout.names[node], layout.dims(node), vs.values, vs.numerical)


def build_lookup_mlp(node: SOp, args: Sequence[SOp], fn: Callable[..., Any],
                     layout: ResidualLayout, table: Table | None = None,
                     fused: Sequence[SOp] = ()) -> MLPWeights:
    """Stage 5: the MLP computing ``node = fn(*args)`` (``table``: precomputed outputs)."""
    axes = [_axis(a, layout) for a in args]
    if table is None:
        table = evaluate_table(fn, [a.values for a in axes], node)
    codes = table.indices_in(layout.values[node], node)
    via = f" (through {', '.join(layout.names[f] for f in fused)})" if fused else ""
    text = (f"'{layout.names[node]}' = {node.describe()} from "
            f"{', '.join(a.name for a in axes)}{via}")
    out = layout.values[node]
    if out.numerical and all(a.numerical for a in axes):
        coef = _affine(axes, codes, out.values)
        if coef is not None:
            return _affine_mlp(node, axes, coef, layout, text)
    return build_table_mlp(node, axes, codes, layout, text)


def cleanup_mlp(bos_outputs: Sequence[np.ndarray], layout: ResidualLayout) -> MLPWeights:
    """One unit, on at BOS only, that erases what the layer's heads wrote there."""
    w_in = np.zeros((1, layout.width))
    w_in[0, layout.bos] = 1.0
    w_out = -np.sum(bos_outputs, axis=0).reshape(layout.width, 1)
    return MLPWeights(None, w_in, w_out, "cleanup: erase the heads' output at BOS")
