"""Chain-of-thought generators against brute-force solvers written here, and the
verifiers against generated and corrupted chains."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from icl_lab.tasks.cot import (
    TASK_NAMES,
    CotExample,
    make_task,
    parse_output,
    sample_examples,
    split_of,
    training_batch,
)
from icl_lab.tasks.cot_vocab import ANS, EOS, PAD_ID, SEP, decode, encode

SIZES = {"arithmetic": (1, 2, 4, 6), "equations": (1, 2, 3, 5), "lis": (1, 7, 30, 100),
         "edit_distance": (1, 4, 12, 20)}
PARAMS = {"arithmetic": [{"modulus": 11}, {"modulus": 5, "parentheses": False}, {"modulus": 7, "division": False}],
          "equations": [{"modulus": 11}, {"modulus": 3}],
          "lis": [{"value_range": 150}, {"value_range": 5, "plant_prob": 0.0}],
          "edit_distance": [{}, {"alphabet_size": 3, "insert_cost": 1, "delete_cost": 4, "substitute_cost": 2}]}


def _examples(task_name: str, seeds=range(12)):
    for params in PARAMS[task_name]:
        task = make_task(task_name, **params)
        for n in SIZES[task_name]:
            for seed in seeds:
                yield task, n, task.sample(n, np.random.default_rng([seed, n]))


# ----------------------------------------------------------------------------- brute force


def brute_arithmetic(tokens: list[str], p: int) -> int:
    """Python's own parser and precedence, over integers mod p."""
    class Mod:
        def __init__(self, v): self.v = v % p
        def __add__(self, o): return Mod(self.v + o.v)
        def __sub__(self, o): return Mod(self.v - o.v)
        def __mul__(self, o): return Mod(self.v * o.v)
        def __truediv__(self, o): return Mod(self.v * pow(o.v, -1, p))

    text = " ".join(f"Mod({t})" if t.isdigit() else t for t in tokens)
    return eval(text, {"Mod": Mod}).v  # the test builds the string from known tokens


def brute_equations(tokens: list[str], p: int) -> list[list[int]]:
    """Every assignment in p^n that satisfies the system."""
    equations = " ".join(tokens).split(" ; ")
    rows = []
    for eq in equations:
        lhs, rhs = eq.replace(" ;", "").split(" = ")
        coefs = [int(term.split()[0]) for term in lhs.split(" + ")]
        rows.append((coefs, int(rhs)))
    n = len(rows)
    return [list(x) for x in itertools.product(range(p), repeat=n)
            if all(sum(c * v for c, v in zip(coefs, x)) % p == rhs for coefs, rhs in rows)]


def brute_lis(values: list[int]) -> int:
    best = [1] * len(values)  # O(n^2)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i]:
                best[i] = max(best[i], best[j] + 1)
    if len(values) <= 12:  # tiny: every subsequence
        exhaustive = max(k for k in range(len(values) + 1) for c in itertools.combinations(values, k)
                         if all(x < y for x, y in zip(c, c[1:])))
        assert exhaustive == max(best)
    return max(best)


def brute_edit_distance(a: str, b: str, ins: int, dele: int, sub: int) -> int:
    @functools.lru_cache(maxsize=None)
    def d(i: int, j: int) -> int:  # suffixes a[i:], b[j:]
        if i == len(a):
            return (len(b) - j) * ins
        if j == len(b):
            return (len(a) - i) * dele
        return min(d(i + 1, j) + dele, d(i, j + 1) + ins, d(i + 1, j + 1) + (a[i] != b[j]) * sub)
    return d(0, 0)


@pytest.mark.parametrize("task_name", TASK_NAMES)
def test_answers_match_brute_force(task_name):
    checked = 0
    for task, n, ex in _examples(task_name):
        prm = task.params
        if task_name == "arithmetic":
            assert ex.answer == [str(brute_arithmetic(ex.problem, prm.modulus))]
            assert len(ex.steps) == n  # one operator per step
            assert ("(" in ex.problem) <= prm.parentheses and ("/" in ex.problem) <= prm.division
        elif task_name == "equations":
            if prm.modulus ** n > 20000:
                continue
            assert brute_equations(ex.problem, prm.modulus) == [[int(v) for v in ex.answer]]
        elif task_name == "lis":
            values = [int(t) for t in ex.problem]
            assert len(values) == n and max(values) < prm.value_range
            assert ex.answer == [str(brute_lis(values))]
        else:
            cut = ex.problem.index("|")
            a, b = "".join(ex.problem[:cut]), "".join(ex.problem[cut + 1:])
            assert len(a) == n and set(a + b) <= set("abcdefghijklmnopqrstuvwxyz"[:prm.alphabet_size])
            assert ex.answer == [str(brute_edit_distance(a, b, prm.insert_cost, prm.delete_cost,
                                                         prm.substitute_cost))]
        checked += 1
    assert checked >= 50


def test_arithmetic_handles_precedence_and_parentheses():
    task = make_task("arithmetic", modulus=11)
    problem = "( 3 - 5 ) / 2 - 4 * 6".split()
    ok, _ = task.verify(problem, [], ["1"])
    assert ok == (brute_arithmetic(problem, 11) == 1)
    steps = [s.split() for s in ("9 / 2 - 4 * 6", "10 - 4 * 6", "10 - 2", "8")]
    assert task.verify(problem, steps, ["8"]) == (True, "ok")
    # "10 - 4" first would ignore precedence; "9 / 2" kept in parentheses is not a reduction
    assert not task.verify(problem, [s.split() for s in ("9 / 2 - 4 * 6", "6 * 6", "3")], ["3"])[0]
    assert not task.verify(problem, [s.split() for s in ("( 9 ) / 2 - 4 * 6",)], ["8"])[0]
    zero = "3 / ( 2 - 2 )".split()  # never generated; the verifier must not crash on it
    assert not task.verify(zero, [], ["0"])[0]
    assert not task.verify(zero, [["3", "/", "0"], ["0"]], ["0"])[0]


@pytest.mark.parametrize("task_name", TASK_NAMES)
def test_every_generated_chain_passes_the_verifier(task_name):
    for task, n, ex in _examples(task_name, seeds=range(25)):
        assert task.verify(ex.problem, ex.steps, ex.answer) == (True, "ok"), (n, ex)
        assert task.verify(ex.problem, [], ex.answer)[0]  # direct format
        for fmt in ("cot", "direct"):  # the model's context is sized from these bounds
            prompt, target = ex.encoded(fmt)
            assert len(prompt) + len(target) <= task.context_len(n, fmt)


def _corruptions(ex: CotExample, rng: np.random.Generator, modulus: int):
    """Single-token changes of a number in a step, a wrong answer, a dropped step."""
    numbers = [(k, i) for k, step in enumerate(ex.steps) for i, t in enumerate(step) if t.isdigit()]
    for _ in range(3):
        if not numbers:
            break
        k, i = numbers[int(rng.integers(len(numbers)))]
        steps = [list(s) for s in ex.steps]
        steps[k][i] = str((int(steps[k][i]) + 1 + int(rng.integers(modulus - 1))) % modulus)
        yield steps, ex.answer
    wrong = [str((int(ex.answer[0]) + 1) % modulus)] + ex.answer[1:]
    yield ex.steps, wrong
    yield [], wrong
    if len(ex.steps) > 1:
        yield ex.steps[:-1], ex.answer
        yield ex.steps[1:], ex.answer


@pytest.mark.parametrize("task_name", TASK_NAMES)
def test_verifier_rejects_corrupted_chains(task_name):
    rng = np.random.default_rng(7)
    rejected = 0
    for task, n, ex in _examples(task_name):
        modulus = getattr(task.params, "modulus", 200)
        for steps, answer in _corruptions(ex, rng, modulus):
            if steps == ex.steps and answer == ex.answer:
                continue
            ok, reason = task.verify(ex.problem, steps, answer)
            assert not ok, (task_name, n, ex, steps, answer)
            assert reason != "ok"
            rejected += 1
    assert rejected > 100


def test_equations_verifier_accepts_any_valid_pivot_and_nothing_else():
    task = make_task("equations", modulus=5)
    problem = "2 x1 + 1 x2 = 1 ; 1 x1 + 1 x2 = 4 ;".split()
    assert brute_equations(problem, 5) == [[2, 2]]
    final = "1 x1 + 0 x2 = 2 ; 0 x1 + 1 x2 = 2 ;".split()
    no_swap = "1 x1 + 3 x2 = 3 ; 0 x1 + 3 x2 = 1 ;".split()  # 1/2 = 3 mod 5
    swap = "1 x1 + 1 x2 = 4 ; 0 x1 + 4 x2 = 3 ;".split()  # pivot on the second row
    assert task.verify(problem, [no_swap, final], ["2", "2"]) == (True, "ok")
    assert task.verify(problem, [swap, final], ["2", "2"]) == (True, "ok")
    wrong_rhs = "1 x1 + 1 x2 = 4 ; 0 x1 + 4 x2 = 1 ;".split()
    assert not task.verify(problem, [wrong_rhs, final], ["2", "2"])[0]
    # an equivalent system that skips the elimination order is not a Gauss-Jordan step
    assert not task.verify(problem, [final, final], ["2", "2"])[0]
    assert not task.verify(problem, [no_swap, final], ["2", "3"])[0]
    assert not task.verify(problem, [], ["2", "3"])[0] and task.verify(problem, [], ["2", "2"])[0]


def test_split_is_deterministic_disjoint_and_near_the_fraction():
    task = make_task("arithmetic", modulus=5)
    rng = np.random.default_rng(0)
    problems = [tuple(task.sample(2, rng).problem) for _ in range(4000)]
    shares = [split_of(p, 0.2) == "test" for p in problems]
    assert 0.15 < np.mean(shares) < 0.25
    assert all(split_of(p, 0.2) == split_of(list(p), 0.2) for p in problems[:50])
    train = sample_examples(task, 2, 3000, "train", np.random.default_rng(1), 0.2)
    test = sample_examples(task, 2, 300, "test", np.random.default_rng(2), 0.2)
    train_set = {tuple(e.problem) for e in train}
    assert not train_set & {tuple(e.problem) for e in test}
    assert len(train_set) > 300  # a real overlap test, not an empty one


def test_training_batch_masks_the_target_only():
    task = make_task("equations", modulus=5)
    for fmt in ("direct", "cot"):
        batch = training_batch(task, 2, fmt, 8, np.random.default_rng(3), 0.1)
        for row, mask in zip(batch.tokens.tolist(), batch.loss_mask.tolist()):
            tokens = decode(row)
            first = tokens.index(SEP) + 1  # the prompt ends at the first <sep>
            end = tokens.index(EOS) + 1
            assert mask == [first <= i < end for i in range(len(tokens))]
            target = tokens[first:end]
            assert (target[0] == ANS) == (fmt == "direct")
            assert all(t == PAD_ID for t in row[end:])
            if fmt == "direct":
                assert len(target) == 4  # <ans> x1 x2 <eos>


def test_parse_output_reads_the_answer_after_the_last_marker():
    steps, answer = parse_output(encode(["1", "+", "2", SEP, "3", SEP, ANS, "3", EOS]))
    assert steps == [["1", "+", "2"], ["3"]] and answer == ["3"]
    assert parse_output(encode(["1", SEP, ANS, "3"]))[1] is None  # no <eos>
    assert parse_output(encode(["1", SEP]))[1] is None  # no <ans>
    assert parse_output(encode([ANS, "4", "5", EOS])) == ([], ["4", "5"])


def test_unknown_tasks_parameters_and_sizes_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown chain-of-thought task 'sorting'"):
        make_task("sorting")
    with pytest.raises(ValueError, match="unknown parameter arithmetic.prime"):
        make_task("arithmetic", prime=7)
    with pytest.raises(ValueError, match="modulus=8"):
        make_task("equations", modulus=8)
    with pytest.raises(ValueError, match="invalid size 0 for task lis"):
        sample_examples(make_task("lis"), 0, 1, "train", np.random.default_rng(0))
    with pytest.raises(ValueError, match="not in the chain-of-thought vocabulary"):
        encode(["seven"])
