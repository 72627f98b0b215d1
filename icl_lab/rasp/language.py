"""Lazy RASP program graphs (Weiss et al. 2021) with RASP-L extras (Zhou et al. 2024).

A program is a DAG of :class:`RASPExpr` nodes; nothing is computed when it is
built (see :mod:`icl_lab.rasp.evaluator` to run one and
:mod:`icl_lab.rasp.analysis` to inspect one). There are two node families:

* SOps (sequence operations) hold one value per position: :class:`Tokens`,
  :class:`Indices`, :class:`Length`, :class:`Full`, :class:`Map`,
  :class:`SequenceMap`, :class:`Aggregate`, :class:`SelectorWidth`.
* Selectors hold a boolean matrix ``S[q, k]`` (query position ``q`` attends to
  key position ``k``): :class:`Select`, :class:`SelectorAnd`,
  :class:`SelectorOr`, :class:`SelectorNot`.

Operators on SOps build maps: ``sop + 1`` (a constant shift), ``a - b``,
``sop < 3`` (a comparison), ``a & b``; use ``sop.eq(x)`` / ``sop.ne(x)`` for
equality because ``==`` keeps Python's identity semantics (nodes are used as
dict keys). Each map records a :class:`MapKind` so that the RASP-L check can
tell a constant shift or a comparison of positions from other arithmetic.
"""

from __future__ import annotations

import copy
import operator
from typing import Any, Callable

from icl_lab.rasp.core import (
    EQ,
    FALSE,
    GEQ,
    GT,
    LEQ,
    LT,
    NEQ,
    REDUCTIONS,
    TRUE,
    Comparison,
    Encoding,
    MapKind,
    RASPExpr,
    topological_order,
)

__all__ = [
    "EQ", "FALSE", "GEQ", "GT", "LEQ", "LT", "NEQ", "TRUE", "REDUCTIONS",
    "Comparison", "Encoding", "MapKind", "RASPExpr", "SOp", "Selector",
    "Tokens", "Indices", "Length", "Full", "Map", "SequenceMap", "Select",
    "SelectorAnd", "SelectorOr", "SelectorNot", "Aggregate", "SelectorWidth",
    "tokens", "indices", "length", "full", "select", "aggregate", "selector_width",
    "sequence_map", "numerical", "categorical", "shift_by", "topological_order",
]


def _where(owner: RASPExpr | str) -> str:
    return owner if isinstance(owner, str) else f"{owner.label} '{owner.name}'"


def _require_sop(value: Any, arg: str, owner: RASPExpr | str) -> SOp:
    if isinstance(value, SOp):
        return value
    got = f"selector '{value.name}'" if isinstance(value, Selector) else repr(value)
    raise ValueError(f"{_where(owner)}: argument '{arg}' must be an SOp "
                     f"(one value per position), got {got}")


def _require_selector(value: Any, arg: str, owner: RASPExpr | str) -> Selector:
    if isinstance(value, Selector):
        return value
    got = f"SOp '{value.name}'" if isinstance(value, SOp) else repr(value)
    raise ValueError(f"{_where(owner)}: argument '{arg}' must be a selector "
                     f"(built with select()), got {got}")


def _as_encoding(encoding: Encoding | str, owner: RASPExpr) -> Encoding:
    try:
        return Encoding(encoding)
    except ValueError:
        raise ValueError(f"{owner.label} '{owner.name}': unknown encoding {encoding!r}; "
                         "use 'categorical' or 'numerical'") from None


class SOp(RASPExpr):
    """A sequence operation: one value per position."""

    def __init__(self, encoding: Encoding | str = Encoding.CATEGORICAL) -> None:
        super().__init__()
        self.encoding = _as_encoding(encoding, self)

    # Arithmetic and comparisons build maps; see _binary for the MapKind rules.
    def __add__(self, other: Any) -> SOp:
        return _binary(self, other, operator.add, "+")

    def __radd__(self, other: Any) -> SOp:
        return _binary(other, self, operator.add, "+")

    def __sub__(self, other: Any) -> SOp:
        return _binary(self, other, operator.sub, "-")

    def __rsub__(self, other: Any) -> SOp:
        return _binary(other, self, operator.sub, "-")

    def __mul__(self, other: Any) -> SOp:
        return _binary(self, other, operator.mul, "*")

    def __rmul__(self, other: Any) -> SOp:
        return _binary(other, self, operator.mul, "*")

    def __neg__(self) -> SOp:
        return Map(operator.neg, self, self.encoding, description=f"-{self.name}")

    def __lt__(self, other: Any) -> SOp:
        return _binary(self, other, operator.lt, "<", compare=True)

    def __le__(self, other: Any) -> SOp:
        return _binary(self, other, operator.le, "<=", compare=True)

    def __gt__(self, other: Any) -> SOp:
        return _binary(self, other, operator.gt, ">", compare=True)

    def __ge__(self, other: Any) -> SOp:
        return _binary(self, other, operator.ge, ">=", compare=True)

    def eq(self, other: Any) -> SOp:
        """Elementwise ``self == other`` (a comparison map)."""
        return _binary(self, other, operator.eq, "==", compare=True)

    def ne(self, other: Any) -> SOp:
        """Elementwise ``self != other`` (a comparison map)."""
        return _binary(self, other, operator.ne, "!=", compare=True)

    def __and__(self, other: Any) -> SOp:
        return _binary(self, other, lambda a, b: bool(a) and bool(b), "and")

    def __or__(self, other: Any) -> SOp:
        return _binary(self, other, lambda a, b: bool(a) or bool(b), "or")

    def __invert__(self) -> SOp:
        return Map(lambda a: not a, self, description=f"not {self.name}")


def _binary(left: Any, right: Any, fn: Callable[[Any, Any], Any], symbol: str,
            compare: bool = False) -> SOp:
    """``left <symbol> right`` where at least one side is an SOp, the other maybe a constant."""
    for side in (left, right):
        if isinstance(side, Selector):
            raise ValueError(f"selector '{side.name}' cannot be used in '{symbol}': "
                             "combine selectors with &, | and ~ only")
    kind = MapKind.COMPARE if compare else MapKind.GENERIC
    if isinstance(left, SOp) and isinstance(right, SOp):
        return SequenceMap(fn, left, right, kind=kind,
                           description=f"{left.name} {symbol} {right.name}")
    sop, const = (left, right) if isinstance(left, SOp) else (right, left)
    # x + c, c + x and x - c move a value by a constant: the RASP-L "shift".
    is_shift = symbol == "+" or (symbol == "-" and sop is left)
    if not compare and is_shift and isinstance(const, int) and not isinstance(const, bool):
        kind = MapKind.SHIFT
    if sop is left:
        return Map(lambda x: fn(x, const), sop, sop.encoding, kind=kind,
                   description=f"{sop.name} {symbol} {const!r}")
    return Map(lambda x: fn(const, x), sop, sop.encoding, kind=kind,
               description=f"{const!r} {symbol} {sop.name}")


class Selector(RASPExpr):
    """A boolean attention pattern ``S[q, k]``."""

    def __and__(self, other: Selector) -> Selector:
        return SelectorAnd(self, other)

    def __or__(self, other: Selector) -> Selector:
        return SelectorOr(self, other)

    def __invert__(self) -> Selector:
        return SelectorNot(self)


class Tokens(SOp):
    """The input tokens."""

    label = "tokens"

    def __init__(self) -> None:
        super().__init__()
        self._name = "tokens"


class Indices(SOp):
    """The positions 0 .. L-1."""

    label = "indices"

    def __init__(self) -> None:
        super().__init__()
        self._name = "indices"


class Length(SOp):
    """The sequence length L at every position (not available in RASP-L)."""

    label = "length"

    def __init__(self) -> None:
        super().__init__()
        self._name = "length"


class Full(SOp):
    """A constant value at every position."""

    label = "full"

    def __init__(self, value: Any, encoding: Encoding | str = Encoding.CATEGORICAL) -> None:
        super().__init__(encoding)
        self.value = value

    def describe(self) -> str:
        return f"full({self.value!r})"


class Map(SOp):
    """Elementwise ``f(x)`` (an MLP). ``f`` is kept so that evaluation can compute
    the value sets the map is actually applied to (see ``analysis.value_sets``)."""

    label = "map"

    def __init__(self, f: Callable[[Any], Any], child: SOp,
                 encoding: Encoding | str = Encoding.CATEGORICAL, *,
                 kind: MapKind = MapKind.GENERIC, description: str | None = None) -> None:
        super().__init__(encoding)
        if not callable(f):
            raise ValueError(f"map '{self.name}': f must be callable, got {f!r}")
        self.f = f
        self.child = _require_sop(child, "child", self)
        self.kind = MapKind(kind)
        fname = getattr(f, "__name__", "f")
        self.description = description or f"{fname}({self.child.name})"

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.child,)

    def describe(self) -> str:
        return f"map {self.description}"


class SequenceMap(SOp):
    """Elementwise ``f(a, b, ...)`` of two (or more) SOps at the same position."""

    label = "sequence_map"

    def __init__(self, f: Callable[..., Any], a: SOp, b: SOp, *more: SOp,
                 encoding: Encoding | str = Encoding.CATEGORICAL,
                 kind: MapKind = MapKind.GENERIC, description: str | None = None) -> None:
        super().__init__(encoding)
        if not callable(f):
            raise ValueError(f"sequence_map '{self.name}': f must be callable, got {f!r}")
        self.f = f
        self.args = tuple(_require_sop(s, f"argument {i}", self)
                          for i, s in enumerate((a, b, *more)))
        self.kind = MapKind(kind)
        if self.kind is MapKind.SHIFT:
            raise ValueError(f"sequence_map '{self.name}': a shift has one argument; use Map")
        fname = getattr(f, "__name__", "f")
        self.description = description or f"{fname}({', '.join(s.name for s in self.args)})"

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return self.args

    def describe(self) -> str:
        return f"sequence_map {self.description}"


class Select(Selector):
    """``S[q, k] = predicate(keys[k], queries[q])``; ``causal`` also requires k <= q."""

    label = "select"

    def __init__(self, keys: SOp, queries: SOp, predicate: Comparison,
                 causal: bool = False) -> None:
        super().__init__()
        self.keys = _require_sop(keys, "keys", self)
        self.queries = _require_sop(queries, "queries", self)
        if not isinstance(predicate, Comparison):
            raise ValueError(f"select '{self.name}': predicate must be a Comparison "
                             f"(EQ, LT, ...), got {predicate!r}")
        self.predicate = predicate
        self.causal = bool(causal)

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.keys, self.queries)

    def describe(self) -> str:
        causal = ", causal" if self.causal else ""
        return (f"select(keys={self.keys.name}, queries={self.queries.name}, "
                f"{self.predicate.name}{causal})")


class SelectorAnd(Selector):
    """Both selectors select."""

    label = "selector_and"

    def __init__(self, a: Selector, b: Selector) -> None:
        super().__init__()
        self.a = _require_selector(a, "a", self)
        self.b = _require_selector(b, "b", self)

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.a, self.b)

    def describe(self) -> str:
        return f"{self.a.name} and {self.b.name}"


class SelectorOr(SelectorAnd):
    """Either selector selects."""

    label = "selector_or"

    def describe(self) -> str:
        return f"{self.a.name} or {self.b.name}"


class SelectorNot(Selector):
    """Complement of a selector (also selects future keys of a causal selector)."""

    label = "selector_not"

    def __init__(self, a: Selector) -> None:
        super().__init__()
        self.a = _require_selector(a, "a", self)

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.a,)

    def describe(self) -> str:
        return f"not {self.a.name}"


class Aggregate(SOp):
    """Attention: reduce the selected ``values`` per query with mean, max or min.

    Where a query selects nothing the result is ``default`` (``None`` means 0
    for numerical values, ``None`` for categorical ones). A categorical mean is
    a copy: all selected values must be equal (usually exactly one key).
    """

    label = "aggregate"

    def __init__(self, selector: Selector, values: SOp, reduce: str = "mean",
                 default: Any = None) -> None:
        super().__init__()
        self.selector = _require_selector(selector, "selector", self)
        self.values = _require_sop(values, "values", self)
        self.encoding = values.encoding
        if reduce not in REDUCTIONS:
            raise ValueError(f"aggregate '{self.name}': reduce must be one of {REDUCTIONS}, "
                             f"got {reduce!r}")
        self.reduce = reduce
        self.default = default

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.selector, self.values)

    def describe(self) -> str:
        return (f"aggregate {self.reduce}({self.selector.name}, {self.values.name}, "
                f"default={self.default!r})")


class SelectorWidth(SOp):
    """Number of keys each query selects."""

    label = "selector_width"

    def __init__(self, selector: Selector) -> None:
        super().__init__()
        self.selector = _require_selector(selector, "selector", self)

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.selector,)

    def describe(self) -> str:
        return f"selector_width({self.selector.name})"


# ----------------------------------------------------------------------------
# Convenience API.
tokens = Tokens()
indices = Indices()
length = Length()


def full(value: Any) -> Full:
    """A constant SOp."""
    return Full(value)


def select(keys: SOp, queries: SOp, predicate: Comparison, causal: bool = False) -> Select:
    """Selector ``S[q, k] = predicate(keys[k], queries[q])`` (and ``k <= q`` if causal)."""
    return Select(keys, queries, predicate, causal)


def aggregate(selector: Selector, values: SOp, reduce: str = "mean",
              default: Any = None) -> Aggregate:
    """Reduce the selected values per query; ``default`` where nothing is selected."""
    return Aggregate(selector, values, reduce, default)


def selector_width(selector: Selector) -> SelectorWidth:
    """Number of selected keys per query."""
    return SelectorWidth(selector)


def sequence_map(f: Callable[..., Any], a: SOp, b: SOp, *more: SOp, **kwargs: Any) -> SequenceMap:
    """Elementwise ``f(a[i], b[i], ...)``."""
    return SequenceMap(f, a, b, *more, **kwargs)


def _with_encoding(sop: SOp, encoding: Encoding, where: str) -> SOp:
    # A copy, as in tracr: marking the shared `tokens` in place would change
    # every other program that uses it.
    clone = copy.copy(_require_sop(sop, "sop", where))
    clone.unique_id = next(RASPExpr._ids)
    clone.encoding = encoding
    return clone


def numerical(sop: SOp) -> SOp:
    """A copy of ``sop`` marked numerical (a mean aggregation averages it)."""
    return _with_encoding(sop, Encoding.NUMERICAL, "numerical()")


def categorical(sop: SOp) -> SOp:
    """A copy of ``sop`` marked categorical (the default: a mean copies one value)."""
    return _with_encoding(sop, Encoding.CATEGORICAL, "categorical()")


def shift_by(offset: int, sop: SOp, default: Any = None) -> Aggregate:
    """The value of ``sop`` at position ``i - offset`` (``default`` before the start).

    The RASP-L idiom: a causal select of the key with ``k == q - offset``.
    A negative offset reads the future, so that select is not causal.
    """
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise ValueError(f"shift_by: offset must be an int, got {offset!r}")
    sop = _require_sop(sop, "sop", "shift_by()")
    back = Select(indices, indices - offset, Comparison.EQ, causal=offset >= 0)
    return Aggregate(back.named(f"select_back{offset}_{back.unique_id}"), sop, "mean", default)
