"""Layer/head counts and the RASP-L check."""

import numpy as np
import pytest

from icl_lab.rasp import (
    EQ,
    LIBRARY,
    aggregate,
    check_prefix_consistency,
    check_rasp_l,
    full,
    indices,
    layers_and_heads,
    select,
    selector_width,
    shift_by,
    tokens,
    value_sets,
)
from icl_lab.rasp.formats import vocab

RASP_L = ["count", "mode", "copy_unique", "addition_reverse_with_hints",
          "addition_forward_with_hints", "parity_scratchpad"]
USES_LENGTH = ["reverse", "histogram_with_length", "sort_with_length"]


@pytest.mark.parametrize("name, n_layers", [
    ("histogram", 1), ("reverse", 2), ("sort", 2), ("sort_by_frequency", 3),
    ("dyck2_balanced", 4),
])
def test_layers_match_weiss_et_al(name, n_layers):
    layers, heads = layers_and_heads(LIBRARY[name]())
    assert layers == n_layers and len(heads) == n_layers and all(h >= 1 for h in heads)


def test_heads_count_distinct_attention_nodes_per_layer():
    same = select(tokens, tokens, EQ)
    program = selector_width(same) + shift_by(1, tokens, default=0)
    assert layers_and_heads(program) == (1, [2])
    deeper = aggregate(select(indices, selector_width(same), EQ), tokens, "max")
    assert layers_and_heads(deeper) == (2, [1, 1])
    assert layers_and_heads(tokens + 1) == (0, [])


@pytest.mark.parametrize("name", RASP_L)
def test_rasp_l_programs_pass_static_and_dynamic_checks(name):
    report = check_rasp_l(LIBRARY[name](), dynamic_trials=10, vocab=vocab(name),
                          lengths=range(1, 9), rng=0)
    assert report.ok, report.reasons


@pytest.mark.parametrize("name", USES_LENGTH)
def test_programs_using_length_are_rejected_with_the_rule(name):
    report = check_rasp_l(LIBRARY[name]())
    assert not report.ok
    assert any(r.startswith("[no-length] length:") for r in report.reasons)


def test_static_rules_name_node_and_rule():
    doubled = (indices * 2).named("doubled_index")
    report = check_rasp_l(aggregate(select(indices, doubled, EQ, causal=True), tokens, "max"))
    assert report.rules == {"index-arithmetic"}
    assert "doubled_index" in report.reasons[0]
    assert check_rasp_l(aggregate(select(indices, indices - 1, EQ, causal=True), tokens)).ok
    combined = select(tokens, tokens, EQ, causal=True) & select(tokens, full(1), EQ, causal=True)
    assert check_rasp_l(selector_width(combined.named("both"))).rules == {"no-selector-combinators"}
    future = select(tokens, tokens, EQ).named("looks_ahead")
    reasons = check_rasp_l(selector_width(future)).reasons
    assert any("[causal-select] looks_ahead" in r for r in reasons)


def test_prefix_consistency_flags_non_causal_and_passes_causal():
    rng = np.random.default_rng(0)
    next_token = shift_by(-1, tokens, default=0).named("next_token")
    report = check_prefix_consistency(next_token, [0, 1, 2], range(1, 7), 10, rng)
    assert not report.ok and report.rules == {"prefix-consistency"}
    assert "next_token" in report.reasons[0]
    previous = shift_by(1, tokens, default=0)
    assert check_prefix_consistency(previous, [0, 1, 2], range(1, 7), 10, rng).ok


def test_dynamic_check_catches_fractions_and_needs_a_vocab():
    report = check_rasp_l(LIBRARY["fraction_of_previous"](), dynamic_trials=5, vocab=[0, 1],
                          rng=0)
    assert report.rules == {"integer-values"}
    with pytest.raises(ValueError, match="vocab"):
        check_rasp_l(tokens, dynamic_trials=3)


def test_value_sets_show_map_domains():
    sets = value_sets(tokens + 1, [[0, 1], [1, 2]])
    assert sets[tokens] == {0, 1, 2}
