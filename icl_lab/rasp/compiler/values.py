"""Stage 2 of the compiler: the finite set of values every node can take.

Given the token vocabulary and the maximum length ``N``, each SOp gets a
:class:`ValueSet` that contains every value it takes on any input of length
``1..N`` (a sound over-approximation: maps are applied to every value, or
every combination of values, of their inputs). The sets fix the residual
layout (one dimension per categorical value) and the lookup tables of the
MLPs. Tables of maps are computed once here and reused by the MLP stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np

from icl_lab.rasp.compiler.graph import (
    ATTENTION,
    EMBED,
    MLP,
    SELECTOR,
    WIDTH,
    CompilationError,
    ProgramGraph,
    WidthScratch,
    where,
)
from icl_lab.rasp.language import (
    Aggregate,
    Encoding,
    Full,
    Indices,
    Length,
    SOp,
    Tokens,
)

#: largest lookup table (product of the input value-set sizes) the compiler builds
TABLE_LIMIT = 30_000_000
#: largest value set of a numerical mean
MEAN_LIMIT = 100_000


def python_value(v: Any) -> Any:
    """numpy scalars as plain Python values (so 3 and np.int64(3) share a slot)."""
    return v.item() if isinstance(v, np.generic) else v


def is_number(v: Any) -> bool:
    """A finite real number (bools count as 0/1)."""
    return isinstance(v, (bool, int, float, np.number)) and math.isfinite(float(v))


def sort_values(values: Sequence[Any]) -> list[Any]:
    """Values in their natural order when comparable, else grouped by type then repr."""
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, repr(v)))


class ValueSet:
    """The values of one node, in the order of its residual dimensions.

    Categorical: one dimension per value (sorted when the values are
    comparable). Numerical: one dimension holding the value; ``values`` is
    the sorted set it can take (used to discretise MLP inputs).
    """

    def __init__(self, encoding: Encoding, values: Sequence[Any], keep_order: bool = False) -> None:
        self.encoding = encoding
        if keep_order:
            self.values = tuple(values)
        elif encoding is Encoding.NUMERICAL:
            by_float: dict[float, Any] = {}
            for v in values:
                by_float.setdefault(float(v), v)
            self.values = tuple(by_float[f] for f in sorted(by_float))
        else:
            self.values = tuple(sort_values(list(dict.fromkeys(values))))
        self._index = {v: i for i, v in enumerate(self.values)}

    @property
    def numerical(self) -> bool:
        return self.encoding is Encoding.NUMERICAL

    @property
    def size(self) -> int:
        """Number of values (for numerical nodes too)."""
        return len(self.values)

    @property
    def width(self) -> int:
        """Residual dimensions the node takes."""
        return 1 if self.numerical else len(self.values)

    def index(self, value: Any) -> int:
        """Position of ``value`` (KeyError if it is not in the set)."""
        return self._index[python_value(value)]

    def __contains__(self, value: Any) -> bool:
        return python_value(value) in self._index

    def __repr__(self) -> str:
        shown = ", ".join(map(repr, self.values[:8])) + (", ..." if self.size > 8 else "")
        return f"ValueSet({self.encoding.value}, {self.size}: {shown})"


@dataclass
class Table:
    """A map's outputs over the product of its input value sets: ``codes`` (one axis
    per input) index ``outputs``; -1 marks combinations where the map raises
    (input combinations that cannot occur)."""

    codes: np.ndarray
    outputs: list[Any]

    def indices_in(self, values: ValueSet, node: SOp) -> np.ndarray:
        """The codes as indices into ``values`` (-1 kept)."""
        try:
            perm = np.array([values.index(v) for v in self.outputs] + [-1], dtype=np.int32)
        except KeyError as err:
            raise CompilationError(f"{where(node)}: value {err.args[0]!r} is missing from its "
                                   "inferred value set", node.name) from None
        return perm[self.codes]  # code -1 picks the trailing -1


def evaluate_table(fn: Callable[..., Any], axes: Sequence[Sequence[Any]], node: SOp,
                   limit: int = TABLE_LIMIT) -> Table:
    """``fn`` on every combination of values, one axis per argument (for ``node``)."""
    owner = where(node)
    sizes = [len(a) for a in axes]
    total = math.prod(sizes)
    if total > limit:
        raise CompilationError(f"{owner}: its lookup table would have {total:,} entries "
                               f"({' x '.join(map(str, sizes))} input values), more than the "
                               f"limit of {limit:,}; shrink the vocabulary or the value sets",
                               node.name)
    ids: dict[Any, int] = {}
    outputs: list[Any] = []

    def code(*args: Any) -> int:  # one Python call per entry: keep it lean
        try:
            v = fn(*args)
        except Exception:  # noqa: BLE001 - an impossible combination, not a compiler bug
            return -1
        try:
            return ids[v]
        except KeyError:
            ids[v] = len(outputs)
            outputs.append(python_value(v))
            return ids[v]
        except TypeError:
            raise CompilationError(f"{owner} produces the unhashable value {v!r}; use tuples "
                                   "or numbers", node.name) from None

    grids = []
    for i, axis in enumerate(axes):
        arr = np.empty(len(axis), dtype=object)
        for j, v in enumerate(axis):  # element by element so tuples stay scalars
            arr[j] = v
        shape = [1] * len(axes)
        shape[i] = len(axis)
        grids.append(arr.reshape(shape))
    out = np.frompyfunc(code, len(axes), 1)(*grids)
    return Table(np.asarray(out).astype(np.int32).reshape(sizes), outputs)


def _numbers(node: SOp, values: Sequence[Any], what: str) -> None:
    bad = [v for v in values if not is_number(v)]
    if bad:
        raise CompilationError(f"{where(node)} is numerical but {what} non-numbers such as "
                               f"{bad[0]!r}; mark it categorical", node.name)


def mean_values(values: Sequence[Any], max_len: int, owner: str,
                limit: int = MEAN_LIMIT) -> set[float]:
    """Every mean of 1..max_len values drawn (with repeats) from ``values``, exactly."""
    parts = sorted({Fraction(v) for v in values})
    sums, means = {Fraction(0)}, set()
    for w in range(1, max_len + 1):
        sums = {s + v for s in sums for v in parts}
        means.update(s / w for s in sums)
        if len(means) > limit:
            raise CompilationError(f"{owner}: a numerical mean of {len(parts)} values over up "
                                   f"to {max_len} positions takes more than {limit:,} values")
    return {float(m) for m in means}


def _aggregate_values(node: Aggregate, child: ValueSet, max_len: int) -> list[Any]:
    numerical = node.encoding is Encoding.NUMERICAL
    default = 0 if node.default is None and numerical else node.default
    if node.reduce == "mean" and numerical:
        _numbers(node, child.values, "its values include")
        return [*mean_values(child.values, max_len, where(node)), default]
    if node.reduce == "mean" and child.numerical:
        raise CompilationError(f"{where(node)}: a categorical mean copies one-hot values, but "
                               f"values '{node.values.name}' are numerical; make the aggregate "
                               "numerical or the values categorical", node.name)
    return [*child.values, default]


def _leaf_values(node: SOp, vocab: Sequence[Any], max_len: int) -> list[Any]:
    if isinstance(node, Tokens):
        return list(vocab)
    if isinstance(node, Indices):
        return list(range(max_len))
    if isinstance(node, Full):
        return [python_value(node.value)]
    assert isinstance(node, WidthScratch)
    low = 1 if isinstance(node.owner, Length) else 0  # widths 1..N or 0..N
    return [1.0 / (w + 1) for w in range(low, max_len + 1)]


def infer_value_sets(graph: ProgramGraph, vocab: Sequence[Any], max_len: int,
                     table_limit: int = TABLE_LIMIT,
                     ) -> tuple[dict[SOp, ValueSet], dict[SOp, Table]]:
    """Stage 2: a :class:`ValueSet` per SOp, and the lookup table of each map
    (outputs over the product of its children's value sets)."""
    vocab = [python_value(v) for v in vocab]
    if not vocab or max_len < 1:
        raise CompilationError("compile needs a non-empty vocabulary and max_len >= 1")
    try:
        if len(set(vocab)) != len(vocab):
            raise CompilationError(f"the vocabulary has repeated tokens: {vocab}")
    except TypeError:
        raise CompilationError("vocabulary tokens must be hashable") from None
    sets: dict[SOp, ValueSet] = {}
    tables: dict[SOp, Table] = {}
    for node in graph.nodes:
        kind = graph.kinds[node]
        if kind == SELECTOR:
            continue
        if kind in (EMBED, WIDTH):
            values = _leaf_values(node, vocab, max_len)
        elif kind == ATTENTION:
            values = _aggregate_values(node, sets[node.values], max_len)
        else:
            assert kind == MLP
            axes = [sets[c].values for c in graph.mlp_args(node)]
            table = evaluate_table(graph.mlp_fn(node), axes, node, table_limit)
            tables[node] = table
            values = table.outputs
            if not values:
                raise CompilationError(f"{where(node)} ({node.describe()}) fails on every "
                                       "combination of its input values", node.name)
        try:
            hash(tuple(values))
        except TypeError:
            raise CompilationError(f"{where(node)} takes unhashable values such as "
                                   f"{values[0]!r}; use tuples or numbers", node.name) from None
        if node.encoding is Encoding.NUMERICAL:
            _numbers(node, values, "takes")
        sets[node] = ValueSet(node.encoding, values)
    return sets, tables
