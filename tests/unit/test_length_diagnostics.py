"""The length-generalization diagnostics against hand-written models whose answer is known:
one that runs the scratchpad program (p_k = p_{k-1} XOR b_k) and one that counts the prompt's
ones (ignores the scratchpad)."""

import numpy as np
import pytest
import torch

from icl_lab.core.errors import ConfigError
from icl_lab.evaluation.length_diagnostics import (
    accuracy_by_answer_index,
    first_error_kind,
    scratchpad_flip_rate,
    sort_error_kinds,
)
from icl_lab.models.token_lm import TokenLM, TokenLMConfig
from icl_lab.tasks.algorithmic import EOS, SEP, SYMBOL0, make_task

EVEN, ODD = SYMBOL0 + 2, SYMBOL0 + 3


def _parity_model(task, rule: str):
    """Logits [B, T, V] that predict, at every answer hint h_k, the running parity p_k by
    ``rule`` ("xor": the previous scratchpad parity XOR the prompt bit after the same hint;
    "count": the parity of the prompt's ones up to that hint). Elsewhere: token 0."""
    def model(tokens: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*tokens.shape, task.vocab_size)
        for b, seq in enumerate(tokens.tolist()):
            sep = seq.index(SEP)
            bit_after = {seq[i]: seq[i + 1] - SYMBOL0 for i in range(1, sep, 2)}  # hint -> bit
            hints = list(bit_after)
            for t in range(sep + 1, len(seq), 2):  # answer hints
                k = hints.index(seq[t])
                if rule == "xor":
                    before = 0 if k == 0 else seq[t - 1] - EVEN
                    p = before ^ bit_after[seq[t]]
                else:
                    p = sum(bit_after[h] for h in hints[:k + 1]) % 2
                logits[b, t, EVEN + p] = 1.0
        return logits
    return model


def test_flip_rate_tells_the_scratchpad_program_from_counting():
    task = make_task("parity_scratchpad", 12)
    xor = scratchpad_flip_rate(_parity_model(task, "xor"), task, 8, n_examples=20)
    count = scratchpad_flip_rate(_parity_model(task, "count"), task, 8, n_examples=20)
    assert xor.shape == count.shape == (7,)
    np.testing.assert_array_equal(xor, 1.0)
    np.testing.assert_array_equal(count, 0.0)


def test_accuracy_by_answer_index_of_a_rule_model():
    """Both rules predict every running parity right and nothing else (hints, EOS) → the
    accuracy is 1 at the odd answer indices and 0 at the even ones and at EOS."""
    task = make_task("parity_scratchpad", 12)
    acc = accuracy_by_answer_index(_parity_model(task, "xor"), task, 6, n_examples=10)
    assert acc.shape == (2 * 6 + 1,)
    np.testing.assert_array_equal(acc[1::2], 1.0)
    np.testing.assert_array_equal(acc[0::2], 0.0)


def test_flip_rate_rejects_other_tasks_and_size_one():
    task = make_task("parity_scratchpad", 12)
    with pytest.raises(ConfigError, match="parity_scratchpad"):
        scratchpad_flip_rate(_parity_model(task, "xor"), make_task("parity", 12), 4)
    with pytest.raises(ConfigError, match="≥ 2"):
        scratchpad_flip_rate(_parity_model(task, "xor"), task, 1)


A, B, C, D = SYMBOL0 + 1, SYMBOL0 + 2, SYMBOL0 + 3, SYMBOL0 + 4  # numbers, in order


@pytest.mark.parametrize("output, kind", [
    ([A, A, B, C, EOS], "ok"),
    ([A, A, A, B, C, EOS], "one copy too many"),   # a third A
    ([A, B, C, EOS], "one copy too few"),           # B while a second A was due
    ([A, A, C, EOS], "wrong number"),               # B skipped
    ([A, A, B, C, C, EOS], "one copy too many"),    # a second C where EOS was due
    ([A, A, B, C, D, EOS], "no EOS"),
    ([A, A, EOS], "early EOS"),
    ([A, A, B], "short"),
])
def test_first_error_kind(output, kind):
    assert first_error_kind([A, A, B, C, EOS], output) == kind


def test_sort_error_kinds_counts_every_example():
    task = make_task("sort_repeat", 8)
    torch.manual_seed(0)
    model = TokenLM(TokenLMConfig(vocab_size=task.vocab_size, context_len=32, n_layer=1, n_head=1, n_embd=8))
    kinds = sort_error_kinds(model, task, 4, n_examples=7)
    assert sum(kinds.values()) == 7
    with pytest.raises(ConfigError, match="sort with repeats"):
        sort_error_kinds(model, make_task("sort_unique", 8), 4)
