"""Batched numpy evaluation of RASP programs, and a readable trace.

All inputs of a batch have the same length ``L``; SOps evaluate to arrays of
shape ``[B, L]`` and selectors to boolean arrays ``[B, L, L]`` indexed
``[batch, query, key]``. Each node is computed once per call (a memo keyed by
node), in topological order, so shared sub-programs cost nothing extra.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

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
    Tokens,
    topological_order,
)

_BOOL = (bool, np.bool_)
_INT = (int, np.integer) + _BOOL
_REAL = (float, np.floating) + _INT


def as_value_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-D array with the tightest sensible dtype: bool, int64, float64, str or object.

    Object arrays are filled element by element so that tuples stay scalars.
    """
    values = list(values)
    if all(isinstance(v, _BOOL) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, _INT) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, _REAL) for v in values):
        return np.array(values, dtype=np.float64)
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=str)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def to_batch(inputs: Any) -> tuple[np.ndarray, bool]:
    """Inputs as a ``[B, L]`` array, and whether they were a single sequence."""
    if isinstance(inputs, np.ndarray):
        if inputs.ndim not in (1, 2):
            raise ValueError(f"inputs must be 1-D (one sequence) or 2-D (a batch), "
                             f"got shape {inputs.shape}")
        single = inputs.ndim == 1
        batch = inputs[None, :] if single else inputs
        batch = as_value_array(batch.ravel().tolist()).reshape(batch.shape)
    else:
        rows = list(inputs)
        single = not rows or not isinstance(rows[0], (list, tuple, np.ndarray))
        rows = [rows] if single else [list(r) for r in rows]
        if len({len(r) for r in rows}) > 1:
            raise ValueError("all inputs of a batch must have the same length; "
                             "evaluate inputs of different lengths separately")
        flat = [tok for row in rows for tok in row]
        batch = as_value_array(flat).reshape(len(rows), len(rows[0]))
    if batch.shape[0] == 0 or batch.shape[1] == 0:
        raise ValueError(f"inputs must hold at least one sequence of length >= 1, "
                         f"got shape {batch.shape}")
    return batch, single


def evaluate_nodes(program: RASPExpr, inputs: Any) -> dict[RASPExpr, np.ndarray]:
    """Batched values of every node of ``program``: ``[B, L]`` or ``[B, L, L]``."""
    return _evaluate_batch(program, to_batch(inputs)[0])


def _evaluate_batch(program: RASPExpr, batch: np.ndarray) -> dict[RASPExpr, np.ndarray]:
    values: dict[RASPExpr, np.ndarray] = {}
    for node in topological_order(program):
        child_values = [values[c] for c in node.children]
        values[node] = _evaluate_node(node, child_values, batch)
    return values


def evaluate(program: RASPExpr, inputs: Any) -> np.ndarray:
    """Run ``program`` on one token sequence (returns ``[L]``) or a batch (``[B, L]``).

    ``inputs`` is a list of tokens, a list of equal-length token lists, or a
    1-D / 2-D numpy array. A selector program returns its matrices
    (``[L, L]`` or ``[B, L, L]``).
    """
    batch, single = to_batch(inputs)
    out = _evaluate_batch(program, batch)[program]
    return out[0] if single else out


# ----------------------------------------------------------------------------
# One function per node type; each gets the node, its children's values and the
# token batch.


def _tokens(node: Tokens, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return batch


def _indices(node: Indices, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return np.tile(np.arange(batch.shape[1], dtype=np.int64), (batch.shape[0], 1))


def _length(node: Length, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return np.full(batch.shape, batch.shape[1], dtype=np.int64)


def _full(node: Full, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return as_value_array([node.value] * batch.size).reshape(batch.shape)


def _apply_elementwise(node: Map | SequenceMap, f: Callable[..., Any],
                       arrays: list[np.ndarray]) -> np.ndarray:
    """``f`` at every position. Results are cached per distinct argument tuple
    (maps are pure), which keeps this fast since value sets are small."""
    columns = [a.ravel().tolist() for a in arrays]
    cache: dict[tuple, Any] = {}
    out = []
    for args in zip(*columns):
        key = tuple((type(a), a) for a in args)  # 1 and True must not share a slot
        if key not in cache:
            try:
                cache[key] = f(*args)
            except Exception as err:
                raise ValueError(f"{node.label} '{node.name}' ({node.description}) failed "
                                 f"on {args if len(args) > 1 else args[0]!r}: {err}") from err
        out.append(cache[key])
    return as_value_array(out).reshape(arrays[0].shape)


def _map(node: Map, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return _apply_elementwise(node, node.f, args)


def _sequence_map(node: SequenceMap, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return _apply_elementwise(node, node.f, args)


def _select(node: Select, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    keys, queries = args
    n_batch, n = keys.shape
    try:
        # Comparisons broadcast over [B, query, key].
        matrix = node.predicate(keys[:, None, :], queries[:, :, None])
        matrix = np.broadcast_to(np.asarray(matrix, dtype=bool), (n_batch, n, n))
    except Exception as err:
        raise ValueError(f"select '{node.name}': cannot compare keys '{node.keys.name}' "
                         f"({keys.dtype}) with queries '{node.queries.name}' ({queries.dtype}) "
                         f"using {node.predicate.name}: {err}") from err
    if node.causal:
        matrix = matrix & np.tril(np.ones((n, n), dtype=bool))
    return np.array(matrix)


def _selector_and(node: SelectorAnd, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return args[0] & args[1]


def _selector_or(node: SelectorOr, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return args[0] | args[1]


def _selector_not(node: SelectorNot, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return ~args[0]


def _selector_width(node: SelectorWidth, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    return args[0].sum(axis=-1).astype(np.int64)


def _aggregate(node: Aggregate, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    matrix, values = args
    width = matrix.sum(axis=-1)
    if node.reduce != "mean":
        result = _extreme(node, matrix, values, width)
    elif node.encoding is Encoding.NUMERICAL:
        result = _numerical_mean(node, matrix, values, width)
    else:
        result = _copy(node, matrix, values)
    default = node.default
    if default is None and node.encoding is Encoding.NUMERICAL:
        default = 0
    return _fill_default(result, width == 0, default)


def _numerical_mean(node: Aggregate, matrix: np.ndarray, values: np.ndarray,
                    width: np.ndarray) -> np.ndarray:
    if values.dtype.kind not in "biuf":
        raise ValueError(f"aggregate '{node.name}': a numerical mean needs numbers, but values "
                         f"'{node.values.name}' have dtype {values.dtype}")
    sums = np.einsum("bqk,bk->bq", matrix.astype(np.float64), values.astype(np.float64))
    mean = sums / np.maximum(width, 1)
    # Averaging integers that happen to agree (e.g. one selected key) stays integral.
    if values.dtype.kind in "biu" and np.all(mean == np.round(mean)):
        return mean.astype(np.int64)
    return mean


def _copy(node: Aggregate, matrix: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Categorical mean: copy the selected value, which must be unique per query."""
    first = np.take_along_axis(values, matrix.argmax(axis=-1), axis=1)
    differs = matrix & (values[:, None, :] != first[:, :, None])
    if differs.any():
        b, q, _ = np.argwhere(differs)[0]
        chosen = values[b][matrix[b, q]].tolist()
        raise ValueError(f"aggregate '{node.name}': categorical mean at query position {q} "
                         f"selects different values {chosen} of '{node.values.name}'; select a "
                         "single key, make the values numerical, or use reduce='max'/'min'")
    return first


def _extreme(node: Aggregate, matrix: np.ndarray, values: np.ndarray,
             width: np.ndarray) -> np.ndarray:
    """Max or min of the selected values (empty selections are filled by the caller)."""
    pick = np.max if node.reduce == "max" else np.min
    if values.dtype.kind in "biuf":
        fill = -np.inf if node.reduce == "max" else np.inf
        masked = np.where(matrix, values.astype(np.float64)[:, None, :], fill)
        result = pick(masked, axis=-1)
        if values.dtype.kind == "f":
            return result
        return np.where(width > 0, result, 0).astype(values.dtype)
    out = np.empty(width.shape, dtype=object)
    for b, q in np.ndindex(*width.shape):
        chosen = values[b][matrix[b, q]].tolist()
        try:
            out[b, q] = (max if node.reduce == "max" else min)(chosen) if chosen else None
        except TypeError as err:
            raise ValueError(f"aggregate '{node.name}': cannot take the {node.reduce} of "
                             f"{chosen}: {err}") from err
    return as_value_array(out.ravel().tolist()).reshape(width.shape)


def _fill_default(result: np.ndarray, empty: np.ndarray, default: Any) -> np.ndarray:
    if not empty.any():
        return result
    flat = result.ravel().tolist()
    for i in np.flatnonzero(empty.ravel()):
        flat[i] = default
    return as_value_array(flat).reshape(result.shape)


_EVALUATORS: dict[type, Callable[[Any, list[np.ndarray], np.ndarray], np.ndarray]] = {
    Tokens: _tokens, Indices: _indices, Length: _length, Full: _full, Map: _map,
    SequenceMap: _sequence_map, Select: _select, SelectorAnd: _selector_and,
    SelectorOr: _selector_or, SelectorNot: _selector_not, SelectorWidth: _selector_width,
    Aggregate: _aggregate,
}


def _evaluate_node(node: RASPExpr, args: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
    for cls in type(node).__mro__:  # subclasses of node types evaluate like their base
        if cls in _EVALUATORS:
            return _EVALUATORS[cls](node, args, batch)
    raise ValueError(f"cannot evaluate node '{node.name}' of unknown type {type(node).__name__}")


# ----------------------------------------------------------------------------
# Trace.


def _cell(value: Any) -> str:
    if isinstance(value, _BOOL):
        return "T" if value else "F"
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    return str(value)


def trace(program: RASPExpr, inputs: Sequence[Any]) -> str:
    """Every node of ``program`` on one input: its name, its value at each position
    (selectors as a query-by-key grid, 1 = selected) and what it computes."""
    batch, _ = to_batch(inputs)
    if batch.shape[0] != 1:
        raise ValueError("trace takes a single input sequence, not a batch")
    values = _evaluate_batch(program, batch)
    order = topological_order(program)
    cells = {n: [_cell(v) for v in values[n][0].tolist()]
             for n in order if not isinstance(n, Selector)}
    width = max([len(c) for row in cells.values() for c in row] + [1, len(str(batch.shape[1] - 1))])
    name_width = max(len(n.name) for n in order)
    fmt = lambda row: " ".join(c.rjust(width) for c in row)  # noqa: E731
    lines = [f"trace of '{program.name}' on an input of length {batch.shape[1]}",
             f"{'position'.ljust(name_width)} | {fmt(str(i) for i in range(batch.shape[1]))}"]
    for node in order:
        if isinstance(node, Selector):
            lines.append(f"{node.name.ljust(name_width)} | selector {node.describe()}")
            for q, row in enumerate(values[node][0]):
                marks = ("1" if m else "." for m in row)
                lines.append(f"{('  query ' + str(q)).ljust(name_width)} | {fmt(marks)}")
        else:
            row = f"{node.name.ljust(name_width)} | {fmt(cells[node])}"
            lines.append(f"{row}   # {node.describe()}")
    return "\n".join(lines)
