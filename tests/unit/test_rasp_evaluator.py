"""Batched evaluation semantics and the trace."""

import numpy as np
import pytest

from icl_lab.rasp import (
    EQ,
    LEQ,
    LT,
    TRUE,
    Map,
    aggregate,
    evaluate,
    evaluate_nodes,
    full,
    indices,
    length,
    numerical,
    select,
    selector_width,
    shift_by,
    tokens,
    trace,
)


def test_primitives_single_and_batch_shapes():
    assert evaluate(tokens, [3, 1, 2]).tolist() == [3, 1, 2]
    assert evaluate(indices, [3, 1, 2]).tolist() == [0, 1, 2]
    assert evaluate(length, np.zeros((4, 5), dtype=int)).shape == (4, 5)
    assert evaluate(full("x"), ["a", "b"]).tolist() == ["x", "x"]
    assert evaluate(tokens, [["a", "b"], ["c", "d"]]).tolist() == [["a", "b"], ["c", "d"]]


def test_select_matrix_is_query_by_key_and_predicate_is_key_vs_query():
    sel = select(indices, full(1), EQ)  # every query selects key 1
    matrix = evaluate(sel, [7, 8, 9])
    assert matrix.shape == (3, 3)
    assert matrix[:, 1].all() and matrix.sum() == 3
    smaller = evaluate(select(tokens, tokens, LT), [2, 1, 3])  # key < query
    assert smaller.astype(int).tolist() == [[0, 1, 0], [0, 0, 0], [1, 1, 0]]


def test_causal_select_masks_future_keys():
    matrix = evaluate(select(tokens, tokens, TRUE, causal=True), [1, 2, 3])
    assert matrix.astype(int).tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]


def test_aggregate_reductions_and_defaults():
    earlier = select(indices, indices, LT)
    x = [5, 2, 7]
    assert evaluate(aggregate(earlier, tokens, "max", default=-1), x).tolist() == [-1, 5, 5]
    assert evaluate(aggregate(earlier, tokens, "min", default=-1), x).tolist() == [-1, 5, 2]
    mean = numerical(aggregate(select(indices, indices, LEQ), numerical(tokens)))
    assert np.allclose(evaluate(mean, x), [5, 3.5, 14 / 3])
    assert evaluate(shift_by(1, tokens, default=0), x).tolist() == [0, 5, 2]
    assert evaluate(selector_width(earlier), x).tolist() == [0, 1, 2]


def test_numerical_mean_of_agreeing_integers_stays_integer():
    out = evaluate(numerical(aggregate(select(indices, indices, EQ), numerical(tokens))), [4, 6])
    assert out.dtype.kind == "i" and out.tolist() == [4, 6]


def test_categorical_mean_with_different_values_is_an_error():
    with pytest.raises(ValueError, match="categorical mean"):
        evaluate(aggregate(select(tokens, tokens, TRUE), tokens).named("avg"), [1, 2])


def test_errors_name_the_node():
    with pytest.raises(ValueError, match="map 'inverse'"):
        evaluate(Map(lambda t: 1 / t, tokens).named("inverse"), [1, 0])
    with pytest.raises(ValueError, match="same length"):
        evaluate(tokens, [[1, 2], [3]])
    with pytest.raises(ValueError, match="length >= 1"):
        evaluate(tokens, [])


def test_memo_evaluates_shared_nodes_once():
    calls = []
    shared = Map(lambda t: calls.append(t) or t, tokens)
    evaluate_nodes(shared + shared, [1, 1, 2])
    assert sorted(calls) == [1, 2]  # one call per distinct value, shared node once


def test_trace_is_readable():
    hist = selector_width(select(tokens, tokens, EQ).named("same_token")).named("hist")
    text = trace(hist, ["a", "b", "a"])
    assert "same_token" in text and "hist" in text and "tokens" in text
    assert "query 0" in text
    hist_line = next(line for line in text.splitlines() if line.startswith("hist "))
    assert hist_line.split("|")[1].split("#")[0].split() == ["2", "1", "2"]
