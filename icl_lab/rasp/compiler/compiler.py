"""The compiler driver: RASP program -> :class:`CompiledModel`, stage by stage.

1. :func:`~icl_lab.rasp.compiler.graph.build_graph` - nodes, kinds, unsupported types;
2. :func:`~icl_lab.rasp.compiler.values.infer_value_sets` - finite value sets;
3. :func:`~icl_lab.rasp.compiler.selector_terms.plan_selector` - selectors as score terms
   (may add joint key/query nodes);
4. :func:`~icl_lab.rasp.compiler.layout.build_layout` - residual subspaces;
5. :func:`~icl_lab.rasp.compiler.schedule.allocate_layers` - layers, map fusion;
6. :func:`~icl_lab.rasp.compiler.attention.build_head` - one head per aggregate / width;
7. :func:`~icl_lab.rasp.compiler.mlp.build_lookup_mlp` - lookup-table MLPs (maps, and
   selector widths as maps of their head's ``1/(w+1)``);
8. :func:`~icl_lab.rasp.compiler.assemble.assemble` - weights into the model.

With ``causal=True`` the program is first put through the RASP-L check; a
program it rejects as non-causal is refused with the check's reasons.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from icl_lab.rasp.analysis import RaspLReport, Violation, check_prefix_consistency, check_rasp_l
from icl_lab.rasp.compiler.assemble import CompilationInfo, assemble
from icl_lab.rasp.compiler.attention import build_head
from icl_lab.rasp.compiler.graph import ATTENTION, WIDTH, CompilationError, build_graph
from icl_lab.rasp.compiler.layout import build_layout
from icl_lab.rasp.compiler.mlp import build_lookup_mlp, cleanup_mlp
from icl_lab.rasp.compiler.model import CompiledModel
from icl_lab.rasp.compiler.schedule import FUSE_LIMIT, allocate_layers
from icl_lab.rasp.compiler.selector_terms import plan_selector
from icl_lab.rasp.compiler.values import TABLE_LIMIT, infer_value_sets
from icl_lab.rasp.language import RASPExpr, Selector, SelectorAnd, SelectorNot, topological_order

#: RASP-L rules whose violation makes a causal (masked) model compute something else
CAUSAL_RULES = ("causal-select", "no-length", "prefix-consistency")


class CausalityError(CompilationError):
    """A causal model was requested for a program that reads later positions."""

    def __init__(self, message: str, report: RaspLReport) -> None:
        super().__init__(message, report.violations[0].node if report.violations else None)
        self.report = report


def _has_not(sel: RASPExpr) -> bool:
    return isinstance(sel, SelectorNot) or any(
        _has_not(c) for c in sel.children if isinstance(c, Selector))


def causal_report(program: RASPExpr, vocab: Sequence[Any] | None = None, max_len: int = 10,
                  dynamic_trials: int = 0, rng: int = 0) -> RaspLReport:
    """The RASP-L violations that a causal attention mask would silently change.

    From :func:`icl_lab.rasp.check_rasp_l`: non-causal selects, ``length``, and
    selector combinators containing a ``not`` (the complement of a causal
    selector selects later keys). ``and``/``or`` of causal selects, index
    arithmetic and non-integer aggregation do not affect causality and are
    allowed. ``dynamic_trials > 0`` adds the prefix-consistency test over ``vocab``.
    """
    violations: list[Violation] = []
    with_not = {n.name for n in topological_order(program)
                if isinstance(n, (SelectorAnd, SelectorNot)) and _has_not(n)}
    for v in check_rasp_l(program).violations:
        if v.rule in CAUSAL_RULES or (v.rule == "no-selector-combinators" and v.node in with_not):
            violations.append(v)
    if dynamic_trials > 0 and not isinstance(program, Selector):
        if vocab is None:
            raise ValueError("causal_report: dynamic_trials > 0 needs a vocab")
        violations += check_prefix_consistency(program, vocab, range(1, max_len + 1),
                                               dynamic_trials, rng).violations
    return RaspLReport(violations)


def compile_program(program: RASPExpr, vocab: Sequence[Any], max_len: int, causal: bool = False,
                    *, fuse: bool = True, dtype: torch.dtype = torch.float64,
                    dynamic_trials: int = 0, table_limit: int = TABLE_LIMIT,
                    fuse_limit: int = FUSE_LIMIT) -> CompiledModel:
    """Compile ``program`` for inputs over ``vocab`` of length ``1..max_len``.

    ``causal=True`` builds a model with a causal attention mask (so it runs
    autoregressively) and refuses, with :class:`CausalityError` carrying the
    RASP-L check's reasons, any program that the check finds non-causal
    (see :func:`causal_report`). ``fuse`` merges chains of maps into one MLP
    where that saves layers. Unsupported constructs raise
    :class:`CompilationError` naming the node. The model is exact up to
    softmax leakage below ``exp(-50)`` (see ``attention``) and MLP
    discretisation (see ``mlp``).
    """
    graph = build_graph(program)
    if causal:
        report = causal_report(program, vocab, max_len, dynamic_trials)
        if not report.ok:
            raise CausalityError(
                f"cannot compile '{program.name}' as a causal model: the RASP-L check finds "
                f"that it reads later positions:\n  " + "\n  ".join(report.reasons) +
                "\n(compile with causal=False for a bidirectional model)", report)
    values, tables = infer_value_sets(graph, vocab, max_len, table_limit)
    plans = {node: plan_selector(node, graph, values, causal, max_len)
             for node in list(graph.sops) if graph.kinds[node] in (ATTENTION, WIDTH)}
    layout = build_layout(graph, values)
    schedule = allocate_layers(graph, values, plans, fuse, fuse_limit)
    heads = [[build_head(node, plans[node], layout) for node in layer] for layer in schedule.heads]
    mlps = []
    for layer, nodes in enumerate(schedule.mlps):
        parts = []
        for node in nodes:
            plan = schedule.map_plans[node]
            direct = not plan.fused and plan.args == graph.mlp_args(node)
            parts.append(build_lookup_mlp(node, plan.args, plan.fn(graph), layout,
                                          tables.get(node) if direct else None, plan.fused))
        if heads[layer]:
            parts.append(cleanup_mlp([h.bos_output(layout) for h in heads[layer]], layout))
        mlps.append(parts)
    info = CompilationInfo(graph, layout, schedule, heads, mlps, list(vocab), max_len, causal)
    return assemble(info, dtype)
