"""Static and dynamic analysis of RASP programs.

* :func:`layers_and_heads`: the transformer size a program suggests
  (Weiss et al. 2021): every aggregate or selector width is an attention head,
  placed one layer above the deepest attention it depends on; maps are MLPs
  and add no attention layer. ``length`` counts as one head in layer 1, since
  a transformer computes it with an all-true selector width.
* :func:`check_rasp_l`: whether a program stays inside RASP-L (Zhou et al.
  2024), with a reason naming the node and rule for every violation.
* :func:`check_prefix_consistency`: the dynamic causality test behind it.
* :func:`value_sets`: the values each node takes on given inputs, e.g. to see
  whether a map's domain stays finite as inputs grow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from icl_lab.rasp.evaluator import as_value_array, evaluate, evaluate_nodes
from icl_lab.rasp.language import (
    Aggregate,
    Comparison,
    Indices,
    Length,
    Map,
    MapKind,
    RASPExpr,
    Select,
    Selector,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SelectorWidth,
    SequenceMap,
    topological_order,
)

_ATTENTION = (Aggregate, SelectorWidth, Length)


def attention_depths(program: RASPExpr) -> dict[RASPExpr, int]:
    """For every node, the number of attention layers needed to compute it."""
    depth: dict[RASPExpr, int] = {}
    for node in topological_order(program):
        below = max((depth[c] for c in node.children), default=0)
        depth[node] = below + 1 if isinstance(node, _ATTENTION) else below
    return depth


def attention_heads(program: RASPExpr) -> list[list[RASPExpr]]:
    """The attention nodes of each layer (layer 1 first)."""
    depth = attention_depths(program)
    layers: list[list[RASPExpr]] = [[] for _ in range(max(depth.values(), default=0))]
    lengths_seen = False
    for node, d in depth.items():
        if isinstance(node, Length):
            if lengths_seen:  # every Length node is the same head
                continue
            lengths_seen = True
        if isinstance(node, _ATTENTION):
            layers[d - 1].append(node)
    return layers


def layers_and_heads(program: RASPExpr) -> tuple[int, list[int]]:
    """``(n_layers, heads_per_layer)`` from the attention nesting depth."""
    layers = attention_heads(program)
    return len(layers), [len(heads) for heads in layers]


# ----------------------------------------------------------------------------
# RASP-L.


@dataclass(frozen=True)
class Violation:
    """One broken RASP-L rule at one node."""

    rule: str
    node: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.node}: {self.message}"


@dataclass
class RaspLReport:
    """Result of a RASP-L check: ``ok`` and one reason per violation."""

    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def reasons(self) -> list[str]:
        return [str(v) for v in self.violations]

    @property
    def rules(self) -> set[str]:
        return {v.rule for v in self.violations}

    def __str__(self) -> str:
        return "RASP-L: ok" if self.ok else "not RASP-L:\n  " + "\n  ".join(self.reasons)


RULES = {
    "causal-select": "selects may only attend to keys at or before the query",
    "no-length": "the length primitive is not available",
    "no-selector-combinators": "selectors may not be combined with and/or/not",
    "index-arithmetic": "index-derived values may only be compared or shifted by a constant",
    "prefix-consistency": "outputs may not change when later tokens are appended",
    "integer-values": "aggregation works on integers (a mean may only copy a value)",
}


def _provably_causal(sel: Select) -> bool:
    """Explicitly causal, or indices compared with k <= q / k < q / k == q."""
    on_indices = isinstance(sel.keys, Indices) and isinstance(sel.queries, Indices)
    return sel.causal or (on_indices and sel.predicate in (Comparison.LEQ, Comparison.LT,
                                                            Comparison.EQ))


def _static_violations(program: RASPExpr) -> list[Violation]:
    out: list[Violation] = []
    # Index-derived values: positions, counts (a selector width is a number of
    # positions) and anything aggregated or shifted from them. RASP-L lets a
    # transformer compare such values or shift them by a constant, no more.
    index_derived: set[RASPExpr] = set()
    for node in topological_order(program):
        if isinstance(node, Select) and not _provably_causal(node):
            out.append(Violation("causal-select", node.name,
                                 f"{node.describe()} can attend to later positions; "
                                 "use causal=True"))
        elif isinstance(node, Length):
            out.append(Violation("no-length", node.name, "uses the length primitive, which "
                                 "RASP-L lacks (it breaks length generalization)"))
        elif isinstance(node, (SelectorAnd, SelectorOr, SelectorNot)):
            out.append(Violation("no-selector-combinators", node.name,
                                 f"combines selectors ({node.describe()})"))
        if isinstance(node, (Indices, Length, SelectorWidth)):
            index_derived.add(node)
        elif isinstance(node, Aggregate) and node.values in index_derived:
            index_derived.add(node)
        elif isinstance(node, (Map, SequenceMap)):
            used = [c.name for c in node.children if c in index_derived]
            if not used or node.kind is MapKind.COMPARE:
                continue
            if node.kind is MapKind.SHIFT:
                index_derived.add(node)
                continue
            # Reported once, here; what is computed from it is not re-flagged.
            out.append(Violation("index-arithmetic", node.name,
                                 f"computes {node.description} from index-derived "
                                 f"{', '.join(used)}; only comparisons and constant shifts "
                                 "are allowed"))
    return out


def _random_inputs(vocab: Sequence[Any], n_trials: int, n: int,
                   rng: np.random.Generator) -> np.ndarray:
    tokens = as_value_array(list(vocab))
    return tokens[rng.integers(0, len(tokens), size=(n_trials, n))]


def _differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return ~np.isclose(a.astype(np.float64), b.astype(np.float64), equal_nan=True)
    return np.array([x != y for x, y in zip(a.ravel().tolist(), b.ravel().tolist())],
                    dtype=bool).reshape(a.shape)


def check_prefix_consistency(program: RASPExpr, vocab: Sequence[Any],
                             lengths: Iterable[int] = range(1, 11), n_trials: int = 20,
                             rng: np.random.Generator | int | None = None) -> RaspLReport:
    """Dynamic causality test: for random inputs ``x`` over ``vocab`` (of the
    largest length), the outputs on every prefix ``x[:n]`` (``n`` in ``lengths``)
    must equal the first ``n`` outputs on ``x``. A program that reads future
    tokens fails with a counterexample."""
    if isinstance(program, Selector):
        raise ValueError(f"check_prefix_consistency: '{program.name}' is a selector; "
                         "pass a program whose output is an SOp")
    rng = np.random.default_rng(rng)
    lengths = sorted(set(lengths))
    inputs = _random_inputs(vocab, n_trials, lengths[-1], rng)
    full = evaluate(program, inputs)
    for n in lengths:
        differ = _differ(evaluate(program, inputs[:, :n]), full[:, :n])
        if differ.any():
            b, i = np.argwhere(differ)[0]
            prefix_out = evaluate(program, inputs[b, :n]).tolist()[i]
            message = (f"output at position {i} is {prefix_out!r} on the prefix "
                       f"{inputs[b, :n].tolist()} but {full[b].tolist()[i]!r} on the longer input "
                       f"{inputs[b].tolist()}: it reads later tokens")
            return RaspLReport([Violation("prefix-consistency", program.name, message)])
    return RaspLReport()


def _integer_violations(program: RASPExpr, inputs: np.ndarray) -> list[Violation]:
    """Aggregates whose inputs or outputs are not integers on these inputs."""
    values = evaluate_nodes(program, inputs)
    out = []
    for node in topological_order(program):
        if not isinstance(node, Aggregate):
            continue
        for what, arr in (("averages", values[node.values]), ("produces", values[node])):
            if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
                example = arr[arr != np.round(arr)].ravel()[0]
                out.append(Violation("integer-values", node.name,
                                     f"{what} non-integer values such as {example:.4g}"))
                break
    return out


def check_rasp_l(program: RASPExpr, dynamic_trials: int = 0,
                 vocab: Sequence[Any] | None = None, lengths: Iterable[int] = range(1, 11),
                 rng: np.random.Generator | int | None = None) -> RaspLReport:
    """Check ``program`` against the RASP-L restrictions (see ``RULES``).

    Static rules: causal selects only, no ``length``, no selector combinators,
    index-derived values (indices, selector widths and what is aggregated or
    shifted from them) only compared or shifted by constants. Maps over token
    values have finite domains by construction (see :func:`value_sets` to
    inspect them). With ``dynamic_trials > 0`` the program is also run on that
    many random inputs over ``vocab`` per length: prefix consistency and
    integer-valued aggregation.
    """
    violations = _static_violations(program)
    if dynamic_trials > 0:
        if vocab is None:
            raise ValueError("check_rasp_l: dynamic_trials > 0 needs a vocab to sample from")
        rng = np.random.default_rng(rng)
        lengths = sorted(set(lengths))
        violations += check_prefix_consistency(program, vocab, lengths, dynamic_trials,
                                               rng).violations
        inputs = _random_inputs(vocab, dynamic_trials, lengths[-1], rng)
        violations += _integer_violations(program, inputs)
    return RaspLReport(violations)


def value_sets(program: RASPExpr, inputs: Any) -> dict[RASPExpr, set]:
    """The set of values every SOp of ``program`` takes on ``inputs`` (a batch)."""
    values = evaluate_nodes(program, inputs)
    return {node: set(arr.ravel().tolist()) for node, arr in values.items()
            if not isinstance(node, Selector)}
