"""Core of the RASP language: predicate/encoding enums and the node base class.

Kept separate from :mod:`icl_lab.rasp.language` (the concrete nodes) so that
each module stays small; import everything from ``language`` or the package.
"""

from __future__ import annotations

import enum
import itertools
import operator
from typing import Any, Callable, Iterator, TypeVar

E = TypeVar("E", bound="RASPExpr")


class Encoding(enum.Enum):
    """How an SOp is held in the residual stream (Weiss et al.)."""

    CATEGORICAL = "categorical"  # one-hot over a finite value set
    NUMERICAL = "numerical"  # a single scalar dimension


class MapKind(enum.Enum):
    """What an elementwise map does; the RASP-L index rules depend on it."""

    GENERIC = "generic"  # any function of the value(s)
    SHIFT = "shift"  # x + integer constant
    COMPARE = "compare"  # a comparison, yields a bool


class Comparison(enum.Enum):
    """Select predicates, applied as ``predicate(key, query)``.

    ``LT`` selects keys whose value is smaller than the query's value. The
    call works elementwise on numpy arrays too.
    """

    EQ = "=="
    NEQ = "!="
    LT = "<"
    LEQ = "<="
    GT = ">"
    GEQ = ">="
    TRUE = "true"
    FALSE = "false"

    def __call__(self, key: Any, query: Any) -> Any:
        return _COMPARISON_FNS[self](key, query)


_COMPARISON_FNS: dict[Comparison, Callable[[Any, Any], Any]] = {
    Comparison.EQ: operator.eq,
    Comparison.NEQ: operator.ne,
    Comparison.LT: operator.lt,
    Comparison.LEQ: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GEQ: operator.ge,
    Comparison.TRUE: lambda key, query: True,
    Comparison.FALSE: lambda key, query: False,
}

EQ, NEQ, LT, LEQ = Comparison.EQ, Comparison.NEQ, Comparison.LT, Comparison.LEQ
GT, GEQ, TRUE, FALSE = Comparison.GT, Comparison.GEQ, Comparison.TRUE, Comparison.FALSE

REDUCTIONS = ("mean", "max", "min")


class RASPExpr:
    """Base class of program nodes: a readable, unique ``name`` and ``children``."""

    _ids: Iterator[int] = itertools.count()
    label = "expr"

    def __init__(self) -> None:
        self.unique_id: int = next(RASPExpr._ids)
        self._name: str | None = None

    @property
    def name(self) -> str:
        """The user's name (see :meth:`named`) or ``<label>_<unique id>``."""
        return self._name if self._name is not None else f"{self.label}_{self.unique_id}"

    def named(self: E, name: str) -> E:
        """Set a readable name (shown by ``trace`` and in error messages); returns self."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.name}: a name must be a non-empty string, got {name!r}")
        self._name = name
        return self

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        """The nodes this one is computed from."""
        return ()

    def describe(self) -> str:
        """One line saying what the node computes (used by ``trace``)."""
        return self.label

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {self.describe()}>"


def topological_order(program: RASPExpr) -> list[RASPExpr]:
    """All nodes of the program, each after its children (iterative DFS)."""
    if not isinstance(program, RASPExpr):
        raise ValueError(f"expected a RASP program (RASPExpr), got {program!r}")
    order: list[RASPExpr] = []
    seen: set[int] = set()
    stack: list[tuple[RASPExpr, bool]] = [(program, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.children) if id(child) not in seen)
    return order
