"""The Bayes predictor against brute force on tiny n.

The brute force shares no code with icl_lab's Bayes: functions are Python tuples
evaluated by their logical definitions, p(x | f) is obtained by enumerating every draw
of the sampler's randomness (coin and uniform x) that produces x, teaching sequences are
rebuilt from their description, CNF/DNF sum over the forced clause explicitly (the
library uses the exchangeability of terms instead), and the posterior is a plain sum.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from icl_lab.baselines.boolean_bayes import bayes_enumerate
from icl_lab.baselines.boolean_posterior import bayes
from icl_lab.tasks import sample_task
from icl_lab.tasks.config import TaskConfig

# ----------------------------------------------------------------------------- brute force

SIGNED = {0: 0.7, 1: 0.15, -1: 0.15}
CLAUSE = {0: 0.8, 1: 0.1, -1: 0.1}


def lit_true(x, i, s):  # literal x_i (s = +1) or ¬x_i (s = −1) holds
    return x[i] == s


def conj(w, x):
    return all(lit_true(x, i, s) for i, s in enumerate(w) if s)


def disj(w, x):
    return any(lit_true(x, i, s) for i, s in enumerate(w) if s)


def parity(w, x):
    return sum(1 for i, s in enumerate(w) if s and x[i] == 1) % 2 == 1


def iid(prior, n):
    for w in itertools.product(list(prior), repeat=n):
        yield w, math.prod(prior[v] for v in w)


def hypotheses(cls, n, k):
    """(f: x -> bool, forced pattern or None, forcing probability, prior, teaching rows)."""
    if cls in ("conjunction", "disjunction", "zero_one_threshold", "majority", "integer_halfspace",
               "parity", "teach_conjunction", "teach_signed_conjunction"):
        prior = {"majority": {0: 0.7, 1: 0.3}, "parity": {0: 0.5, 1: 0.5},
                 "integer_halfspace": {v: 1 / 7 for v in range(-3, 4)},
                 "teach_conjunction": {0: 0.7, 1: 0.3}}.get(cls, SIGNED)
        for w, p in iid(prior, n):
            if cls in ("conjunction", "teach_conjunction", "teach_signed_conjunction"):
                force = {"conjunction": 0.3}.get(cls, 0.4)
                yield (lambda x, w=w: conj(w, x)), [(i, s) for i, s in enumerate(w) if s], force, p, teach(cls, [w], n)
            elif cls == "disjunction":
                yield (lambda x, w=w: disj(w, x)), [(i, -s) for i, s in enumerate(w) if s], 0.3, p, None
            elif cls == "majority":
                yield (lambda x, w=w: sum(x[i] for i, s in enumerate(w) if s) > 0), None, 0, p, None
            elif cls == "integer_halfspace":
                yield (lambda x, w=w: sum(a * b for a, b in zip(w, x)) > 0.5), None, 0, p, None
            elif cls == "parity":
                yield (lambda x, w=w: parity(w, x)), None, 0, p, None
            else:  # zero_one_threshold: θ uniform over six half-integers
                for theta in (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5):
                    yield (lambda x, w=w, t=theta: sum(a * b for a, b in zip(w, x)) > t), None, 0, p / 6, None
    elif cls in ("sparse_disjunction", "sparse_parity"):
        subsets = list(itertools.combinations(range(n), k))
        for sub in subsets:
            w = tuple(1 if i in sub else 0 for i in range(n))
            if cls == "sparse_parity":
                yield (lambda x, w=w: parity(w, x)), None, 0, 1 / len(subsets), None
            else:
                yield (lambda x, w=w: disj(w, x)), [(i, -1) for i in sub], 0.3, 1 / len(subsets), None
    elif cls in ("cnf", "dnf", "teach_dnf"):
        prior = {0: 0.8, 1: 0.2} if cls == "teach_dnf" else CLAUSE
        terms = list(iid(prior, n))
        for (w0, p0), (w1, p1), (w2, p2) in itertools.product(terms, repeat=3):
            ws = (w0, w1, w2)
            for c in range(3):  # the forced clause, explicitly
                p = p0 * p1 * p2 / 3
                if cls == "cnf":
                    f = lambda x, ws=ws: all(disj(w, x) for w in ws)  # noqa: E731
                    pattern = [(i, -s) for i, s in enumerate(ws[c]) if s]
                    yield f, pattern, 0.3, p, None
                else:
                    f = lambda x, ws=ws: any(conj(w, x) for w in ws)  # noqa: E731
                    pattern = [(i, s) for i, s in enumerate(ws[c]) if s]
                    yield f, pattern, 0.35, p, teach(cls, ws, n) if cls == "teach_dnf" else None


def teach(cls, ws, n):
    """Teaching rows from the description in the paper's code."""
    if cls == "teach_signed_conjunction":
        w = ws[0]
        r0 = tuple(s if s else -1 for s in w)
        rows = [r0, tuple(s if s else 1 for s in w)]
        for sign in (1, -1):
            for i, s in enumerate(w):
                if s == sign:
                    rows.append(tuple(-v if j == i else v for j, v in enumerate(r0)))
        return rows
    if cls not in ("teach_conjunction", "teach_dnf"):
        return None
    rows = []
    for w in ws:
        r0 = tuple(1 if s else -1 for s in w)
        rows.append(r0)
        rows += [tuple(-1 if j == i else v for j, v in enumerate(r0)) for i, s in enumerate(w) if s]
    return rows


def p_x(x, pattern, force, n):
    """p(x) by enumerating the sampler: uniform u, then with prob. `force` overwrite the pattern."""
    total = 0.0
    for u in itertools.product((-1, 1), repeat=n):
        total += (1 - force) * (u == x) / 2**n
        if pattern is not None and force:
            v = list(u)
            for i, s in pattern:
                v[i] = s
            total += force * (tuple(v) == x) / 2**n
    return total


def brute_force(cls, xs, ys, n, k=0, noise=0.0):
    """P(y_q = +1 | prompt) [N] for one prompt, by summing over every hypothesis."""
    xs = [tuple(int(v) for v in row) for row in xs.tolist()]
    ys = [int(v) for v in ys.tolist()]
    num, den = [0.0] * len(xs), [0.0] * len(xs)
    for f, pattern, force, prior, rows in hypotheses(cls, n, k):
        weight = prior
        for q, x in enumerate(xs):
            if rows is not None and q < len(rows):
                px = 1.0 if rows[q] == x else 0.0
            else:
                px = p_x(x, pattern, force, n)
            weight *= px
            label = 1 if f(x) else -1
            p_pos = (1 - noise) if label == 1 else noise
            num[q] += weight * p_pos
            den[q] += weight
            weight *= (1 - noise) if ys[q] == label else noise
            if weight == 0:
                break
    return torch.tensor([a / b for a, b in zip(num, den)])


# ----------------------------------------------------------------------------- tests

CASES = [("conjunction", 3), ("disjunction", 3), ("sparse_disjunction", 4), ("majority", 4),
         ("zero_one_threshold", 2), ("integer_halfspace", 2), ("parity", 3), ("sparse_parity", 4),
         ("teach_conjunction", 3), ("teach_signed_conjunction", 2), ("cnf", 2), ("dnf", 2), ("teach_dnf", 2)]


@pytest.mark.parametrize("cls,n", CASES)
def test_enumeration_matches_brute_force(cls, n):
    points = 5 if cls in ("cnf", "dnf", "teach_dnf") else 7
    prompts = 3 if cls in ("cnf", "dnf", "teach_dnf") else 8
    cfg = TaskConfig.of(name="boolean", d=n, n_points=points, function_class=cls,
                     sparse_k=2 if cls.startswith("sparse") else 0)
    batch = sample_task(cfg, prompts, torch.Generator().manual_seed(1))
    probs = torch.sigmoid(bayes_enumerate(batch.xs, batch.ys, cfg).double())
    k = 2 if cls.startswith("sparse") else 0
    for b in range(prompts):
        expected = brute_force(cls, batch.xs[b], batch.ys[b], n, k)
        assert torch.allclose(probs[b], expected.double(), atol=2e-4), (cls, b, probs[b], expected)


def test_enumeration_with_label_noise_matches_brute_force():
    cfg = TaskConfig.of(name="boolean", d=3, n_points=7, function_class="conjunction", label_noise=0.1)
    batch = sample_task(cfg, 6, torch.Generator().manual_seed(2))
    probs = torch.sigmoid(bayes_enumerate(batch.xs, batch.ys, cfg).double())
    for b in range(6):
        expected = brute_force("conjunction", batch.xs[b], batch.ys[b], 3, noise=0.1)
        assert torch.allclose(probs[b], expected.double(), atol=2e-4)


@pytest.mark.parametrize("cls", ["parity", "teach_conjunction", "teach_signed_conjunction", "nearest_neighbour"])
def test_closed_forms_match_enumeration_or_brute_force(cls):
    cfg = TaskConfig.of(name="boolean", d=5, n_points=12, function_class=cls, nn_start=4)
    batch = sample_task(cfg, 64, torch.Generator().manual_seed(3))
    closed = bayes(batch.xs, batch.ys, cfg, method="closed")
    if cls != "nearest_neighbour":
        exact = bayes(batch.xs, batch.ys, cfg, method="enumerate")
        assert torch.equal(closed > 0, exact > 0) and torch.equal(closed == 0, exact.abs() < 1e-3)
        return
    # Nearest neighbour: enumerate the coin flips of the roots (4 of them) directly.
    for b in range(8):
        xs = batch.xs[b].tolist()
        ys = batch.ys[b].tolist()
        for q in range(len(xs)):
            votes = []
            for flips in itertools.product((-1, 1), repeat=4):
                labels = []
                for i, x in enumerate(xs):
                    sims = [sum(a * c for a, c in zip(x, xs[j])) for j in range(i)]
                    if i == 0 or (i < 4 and max(sims) < len(x)):
                        labels.append(flips[i] if i < 4 else 0)
                    else:
                        labels.append(labels[sims.index(max(sims))])
                if labels[:q] == ys[:q]:
                    votes.append(labels[q])
            p = sum(v > 0 for v in votes) / len(votes)
            got = torch.sigmoid(closed[b, q]).item()
            assert abs(got - p) < 1e-6 or (p in (0.0, 1.0) and round(got) == p), (b, q, got, p)


@pytest.mark.parametrize("cls,n", [("conjunction", 5), ("dnf", 3)])
def test_smc_agrees_with_enumeration(cls, n):
    cfg = TaskConfig.of(name="boolean", d=n, n_points=14, function_class=cls)
    batch = sample_task(cfg, 48, torch.Generator().manual_seed(4))
    exact = bayes(batch.xs, batch.ys, cfg, method="enumerate")
    smc = bayes(batch.xs, batch.ys, cfg, method="smc", particles=96)
    gap = (torch.sigmoid(exact) - torch.sigmoid(smc)).abs().mean()
    acc = [(torch.where(p > 0, 1.0, -1.0) == batch.ys).float().mean() for p in (exact, smc)]
    assert gap < 0.04 and abs(acc[0] - acc[1]) < 0.02, (gap, acc)


def test_teach_dnf_importance_sampling_agrees_with_enumeration():
    cfg = TaskConfig.of(name="boolean", d=4, n_points=14, function_class="teach_dnf")
    batch = sample_task(cfg, 32, torch.Generator().manual_seed(6))
    exact = torch.sigmoid(bayes(batch.xs, batch.ys, cfg, method="enumerate").double())
    sampled = torch.sigmoid(bayes(batch.xs, batch.ys, cfg, method="importance").double())
    assert (exact - sampled).abs().mean() < 0.02 and ((exact > 0.5) == (sampled > 0.5)).float().mean() > 0.97


def test_bayes_is_causal():
    cfg = TaskConfig.of(name="boolean", d=5, n_points=10, function_class="disjunction")
    batch = sample_task(cfg, 16, torch.Generator().manual_seed(5))
    full = bayes(batch.xs, batch.ys, cfg)
    ys = batch.ys.clone()
    ys[:, 6:] = -ys[:, 6:]  # changing labels from position 6 on cannot change predictions 0..6
    xs = batch.xs.clone()
    xs[:, 7:] = -xs[:, 7:]
    changed = bayes(xs, ys, cfg)
    assert torch.allclose(full[:, :7], changed[:, :7])
