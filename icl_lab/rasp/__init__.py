"""RASP (Weiss et al. 2021) and RASP-L (Zhou et al. 2024) in Python.

Build programs with :mod:`~icl_lab.rasp.language`, run them with
:func:`evaluate` / :func:`trace`, measure them with :func:`layers_and_heads`
and :func:`check_rasp_l`, and find worked examples in :data:`LIBRARY`
(references in :data:`REFERENCE`, token formats in :mod:`~icl_lab.rasp.formats`).
"""

from icl_lab.rasp.analysis import (
    RULES,
    RaspLReport,
    Violation,
    attention_depths,
    attention_heads,
    check_prefix_consistency,
    check_rasp_l,
    layers_and_heads,
    value_sets,
)
from icl_lab.rasp.evaluator import evaluate, evaluate_nodes, trace
from icl_lab.rasp.language import (
    EQ,
    FALSE,
    GEQ,
    GT,
    LEQ,
    LT,
    NEQ,
    TRUE,
    Aggregate,
    Comparison,
    Encoding,
    Full,
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
    SOp,
    Tokens,
    aggregate,
    categorical,
    full,
    indices,
    length,
    numerical,
    select,
    selector_width,
    sequence_map,
    shift_by,
    tokens,
    topological_order,
)
from icl_lab.rasp.library import LIBRARY
from icl_lab.rasp.reference import REFERENCE

__all__ = [
    "RULES", "RaspLReport", "Violation", "attention_depths", "attention_heads",
    "check_prefix_consistency", "check_rasp_l", "layers_and_heads", "value_sets",
    "evaluate", "evaluate_nodes", "trace",
    "EQ", "FALSE", "GEQ", "GT", "LEQ", "LT", "NEQ", "TRUE", "Aggregate", "Comparison",
    "Encoding", "Full", "Indices", "Length", "Map", "MapKind", "RASPExpr", "Select",
    "Selector", "SelectorAnd", "SelectorNot", "SelectorOr", "SelectorWidth", "SequenceMap",
    "SOp", "Tokens", "aggregate", "categorical", "full", "indices", "length", "numerical",
    "select", "selector_width", "sequence_map", "shift_by", "tokens", "topological_order",
    "LIBRARY", "REFERENCE",
]
