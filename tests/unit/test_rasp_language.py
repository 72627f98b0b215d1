"""RASP program construction: names, operators, validation, graph order."""

import pytest

from icl_lab.rasp import (
    EQ,
    LEQ,
    Aggregate,
    Map,
    MapKind,
    Select,
    SequenceMap,
    aggregate,
    full,
    indices,
    numerical,
    select,
    selector_width,
    shift_by,
    tokens,
    topological_order,
)
from icl_lab.rasp.language import Encoding


def test_default_names_are_unique_and_named_overrides():
    a, b = tokens + 1, tokens + 1
    assert a.name != b.name and a.name.startswith("map_")
    assert a.named("plus_one") is a and a.name == "plus_one"
    assert tokens.name == "tokens" and indices.name == "indices"


def test_operators_record_map_kinds():
    assert (indices + 2).kind is MapKind.SHIFT
    assert (indices - 2).kind is MapKind.SHIFT
    assert (2 - indices).kind is MapKind.GENERIC  # a reflection, not a shift
    assert (indices * 2).kind is MapKind.GENERIC
    assert (indices < 3).kind is MapKind.COMPARE
    assert indices.eq(0).kind is MapKind.COMPARE
    both = indices + tokens
    assert isinstance(both, SequenceMap) and both.kind is MapKind.GENERIC
    assert (indices <= tokens).kind is MapKind.COMPARE


def test_children_and_topological_order():
    sel = select(tokens, tokens, EQ)
    hist = selector_width(sel)
    out = hist + hist
    order = topological_order(out)
    assert order[-1] is out
    assert len(order) == len(set(map(id, order))) == 4
    for node in order:
        assert all(order.index(c) < order.index(node) for c in node.children)


def test_numerical_marker_and_aggregate_encoding():
    x = numerical(tokens.eq(1))
    assert x.encoding is Encoding.NUMERICAL
    assert numerical(tokens) is not tokens and tokens.encoding is Encoding.CATEGORICAL
    assert aggregate(select(indices, indices, LEQ), x).encoding is Encoding.NUMERICAL


def test_shift_by_builds_a_causal_select_of_an_earlier_key():
    back = shift_by(2, tokens, default=0)
    assert isinstance(back, Aggregate) and back.default == 0
    sel = back.selector
    assert isinstance(sel, Select) and sel.causal and sel.predicate is EQ
    assert sel.keys is indices and sel.queries.kind is MapKind.SHIFT
    assert not shift_by(-1, tokens).selector.causal  # reads the future


@pytest.mark.parametrize("build, fragment", [
    (lambda: aggregate(tokens, tokens), "argument 'selector' must be a selector"),
    (lambda: selector_width(tokens), "got SOp 'tokens'"),
    (lambda: select(tokens, select(tokens, tokens, EQ), EQ), "argument 'queries' must be an SOp"),
    (lambda: select(tokens, tokens, lambda k, q: k == q), "predicate must be a Comparison"),
    (lambda: aggregate(select(tokens, tokens, EQ), tokens, "sum"), "reduce must be one of"),
    (lambda: Map(3, tokens), "f must be callable"),
    (lambda: tokens + select(tokens, tokens, EQ), "cannot be used in '+'"),
    (lambda: full(1).named(""), "non-empty string"),
    (lambda: shift_by(1.5, tokens), "offset must be an int"),
])
def test_bad_constructs_raise_value_error_naming_the_node(build, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace("+", r"\+")):
        build()


def test_error_names_the_offending_node():
    with pytest.raises(ValueError, match=r"aggregate 'aggregate_\d+'"):
        aggregate(tokens, tokens)
