"""Boolean samplers: label balance and prior frequencies by moments, teaching rows, NN, noise, config."""

from __future__ import annotations

import math

import pytest
import torch

from icl_lab.core.errors import ConfigError
from icl_lab.pipelines.regression import load as load_experiment
from icl_lab.tasks import TASKS, sample_task
from icl_lab.tasks.boolean import BOOLEAN_CLASSES
from icl_lab.tasks.config import TaskConfig

ROOT_TOML = "experiments/boolean.toml"


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def batch_of(cls, n=10, points=30, prompts=4000, seed=0, **kw):
    cfg = TaskConfig.of(name="boolean", d=n, n_points=points, function_class=cls, **kw)
    return cfg, sample_task(cfg, prompts, gen(seed))


def assert_close(empirical: torch.Tensor, expected: float, per_prompt: torch.Tensor, z=5.0):
    """|mean − expected| within z standard errors (per-prompt means are the independent draws)."""
    se = per_prompt.float().std().item() / math.sqrt(per_prompt.numel()) + 1e-4
    assert abs(empirical.float().mean().item() - expected) < z * se, (empirical.float().mean().item(), expected, se)


def sum_distribution(step: dict[int, float], n: int) -> dict[int, float]:
    """Exact distribution of a sum of n i.i.d. integer variables (convolution)."""
    dist = {0: 1.0}
    for _ in range(n):
        new: dict[int, float] = {}
        for a, p in dist.items():
            for b, q in step.items():
                new[a + b] = new.get(a + b, 0.0) + p * q
        dist = new
    return dist


def expected_positive(cls: str, n: int, k: int = 0) -> float:
    """P(y = +1) under prior × sampler, in closed form."""
    if cls == "conjunction":  # forced w.p. .3, else uniform x satisfies w.p. 2^-|S|, E 2^-|S| = .85^n
        return 0.3 + 0.7 * 0.85**n
    if cls == "disjunction":
        return 1 - (0.3 + 0.7 * 0.85**n)
    if cls == "sparse_disjunction":
        return 1 - (0.3 + 0.7 * 2.0**-k)
    if cls == "majority":  # Σ over the support of x_i ≥ 1
        total = 0.0
        for s in range(n + 1):
            p_s = math.comb(n, s) * 0.3**s * 0.7 ** (n - s)
            total += p_s * sum(math.comb(s, j) for j in range(s + 1) if 2 * j - s >= 1) / 2**s
        return total
    if cls == "integer_halfspace":  # w_i x_i is uniform on {−3..3}; P(Σ ≥ 1)
        dist = sum_distribution({v: 1 / 7 for v in range(-3, 4)}, n)
        return sum(p for v, p in dist.items() if v >= 1)
    if cls == "zero_one_threshold":
        dist = sum_distribution({0: 0.7, 1: 0.15, -1: 0.15}, n)
        return sum(p for v, p in dist.items() for t in (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5) if v > t) / 6
    if cls == "parity":  # the empty parity is always −1, every other one balanced
        return (1 - 2.0**-n) / 2
    if cls == "sparse_parity":
        return 0.5
    raise KeyError(cls)


@pytest.mark.parametrize("cls", ["conjunction", "disjunction", "sparse_disjunction", "majority",
                                 "integer_halfspace", "zero_one_threshold", "parity", "sparse_parity"])
def test_label_balance_matches_closed_form(cls):
    cfg, batch = batch_of(cls)
    pos = (batch.ys > 0).float()
    k = 4 if cls == "sparse_disjunction" else 2
    assert_close(pos, expected_positive(cls, cfg.d, k), pos.mean(1))


@pytest.mark.parametrize("cls,values,probs", [
    ("conjunction", (0, 1, -1), (0.7, 0.15, 0.15)), ("disjunction", (0, 1, -1), (0.7, 0.15, 0.15)),
    ("zero_one_threshold", (0, 1, -1), (0.7, 0.15, 0.15)), ("cnf", (0, 1, -1), (0.8, 0.1, 0.1)),
    ("dnf", (0, 1, -1), (0.8, 0.1, 0.1)), ("majority", (0, 1), (0.7, 0.3)),
    ("integer_halfspace", tuple(range(-3, 4)), (1 / 7,) * 7), ("parity", (0, 1), (0.5, 0.5)),
    ("teach_conjunction", (0, 1), (0.7, 0.3)), ("teach_signed_conjunction", (0, 1, -1), (0.7, 0.15, 0.15)),
    ("teach_dnf", (0, 1), (0.8, 0.2))])
def test_weight_prior_frequencies(cls, values, probs):
    _, batch = batch_of(cls, n=12, points=40, prompts=3000)
    w = batch.params["w"]
    for v, p in zip(values, probs):
        hit = (w == v).float()
        assert_close(hit, p, hit.mean((1, 2)))
    assert set(w.unique().tolist()) <= set(values)


def test_sparse_supports_thresholds_and_forced_clause():
    _, sd = batch_of("sparse_disjunction", n=9, prompts=3000)
    assert torch.all((sd.params["w"] != 0).sum(-1) == 4)
    freq = (sd.params["w"][:, 0] != 0).float()
    for i in range(9):  # uniform support: each coordinate in it with probability k/n
        assert_close(freq[:, i], 4 / 9, freq[:, i])
    _, sp = batch_of("sparse_parity", n=9, prompts=200, sparse_k=3)
    assert torch.all((sp.params["w"] != 0).sum(-1) == 3)
    _, th = batch_of("zero_one_threshold", prompts=6000)
    for t in (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5):
        hit = (th.params["theta"] == t).float()
        assert_close(hit, 1 / 6, hit[:, 0])
    _, dnf = batch_of("dnf", prompts=6000)
    for c in range(3):
        hit = (dnf.params["clause"] == c).float()
        assert_close(hit, 1 / 3, hit)


@pytest.mark.parametrize("cls,force,p", [("conjunction", 1, 0.3), ("disjunction", -1, 0.3), ("cnf", -1, 0.3),
                                         ("dnf", 1, 0.35)])
def test_forced_examples_match_the_chosen_clause(cls, force, p):
    # P(x matches clause c) = p + (1 − p)·E[2^-|S_c|]; E[2^-|S|] = (1 − q/2)^n for P(literal) = q.
    cfg, batch = batch_of(cls, n=8, prompts=4000)
    q = 0.3 if cls in ("conjunction", "disjunction") else 0.2
    w = batch.params["w"][torch.arange(4000), batch.params["clause"]]  # [B, n]
    match = ((batch.xs == force * w.unsqueeze(1)) | (w == 0).unsqueeze(1)).all(-1).float()
    assert_close(match, p + (1 - p) * (1 - q / 2) ** cfg.d, match.mean(1))
    if cls in ("cnf", "dnf"):
        # One clause per prompt: another clause is matched only by chance, (1 − q/2)^n, forced
        # example or not (per variable: absent .8, free .16·½, same literal as the forced one .02).
        other = batch.params["w"][torch.arange(4000), (batch.params["clause"] + 1) % 3]
        chance = ((batch.xs == force * other.unsqueeze(1)) | (other == 0).unsqueeze(1)).all(-1).float()
        assert_close(chance, (1 - q / 2) ** cfg.d, chance.mean(1))


def test_teaching_sequences_come_first():
    _, batch = batch_of("teach_conjunction", n=8, prompts=200, points=20)
    for b in range(200):
        w = batch.params["w"][b, 0]
        support = w.nonzero().squeeze(-1).tolist()
        assert batch.xs[b, 0].tolist() == (2 * w - 1).tolist() and batch.ys[b, 0] == 1
        for m, i in enumerate(support, start=1):  # one support variable switched off, in index order
            expected = (2 * w - 1).clone()
            expected[i] = -1
            assert batch.xs[b, m].tolist() == expected.tolist() and batch.ys[b, m] == -1
    _, signed = batch_of("teach_signed_conjunction", n=8, prompts=200, points=20)
    w = signed.params["w"][:, 0]
    assert torch.equal(signed.xs[:, 0], torch.where(w != 0, w, -1.0))
    assert torch.equal(signed.xs[:, 1], torch.where(w != 0, w, 1.0))
    assert torch.all(signed.ys[:, :2] == 1)
    _, dnf = batch_of("teach_dnf", n=8, prompts=200, points=40)
    w = dnf.params["w"]
    start = (w[:, 0] != 0).sum(-1) + 1  # term 1's block starts after term 0's |S_0| + 1 rows
    assert torch.equal(dnf.xs[:, 0], 2 * w[:, 0] - 1)
    assert torch.equal(dnf.xs[torch.arange(200), start], 2 * w[:, 1] - 1)


def test_nearest_neighbour_labels():
    cfg, batch = batch_of("nearest_neighbour", n=6, points=30, prompts=500, nn_start=5)
    xs, ys = batch.xs, batch.ys
    assert abs(ys[:, 0].mean().item()) < 0.15  # coin flips
    sim = xs @ xs.transpose(1, 2)
    for k in range(5, 30):
        nearest = sim[:, k, :k].argmax(-1)
        assert torch.equal(ys[:, k], ys[torch.arange(500), nearest])


def test_label_noise_flips_at_the_configured_rate():
    _, batch = batch_of("majority", label_noise=0.2, prompts=2000)
    flipped = (batch.ys != batch.params["clean_ys"]).float()
    assert_close(flipped, 0.2, flipped.mean(1))


def test_the_boolean_dimension_is_d_and_errors_are_one_line():
    cfg = load_experiment(ROOT_TOML, "quick", ["task.function_class=parity", "task.d=9"])
    assert cfg.task.d == 9 and cfg.task.params.function_class == "parity" and TASKS[cfg.task.name].loss == "bce"
    batch = sample_task(cfg.task, 3, gen(0))
    assert batch.xs.shape[-1] == 9
    with pytest.raises(ConfigError, match=r"^invalid task.function_class='xor'.*one of"):
        TaskConfig.of(name="boolean", function_class="xor")
    with pytest.raises(ConfigError, match=r"unknown key task.n for task.name='boolean': valid keys are .*function_class"):
        TaskConfig.of(name="boolean", n=5)  # the papers' n is the task's d
    with pytest.raises(ConfigError, match="invalid task.label_noise"):
        TaskConfig.of(name="boolean", label_noise=0.5)
    with pytest.raises(ConfigError, match=r"invalid task.sparse_k=6: expected an integer in \[0, d=5\]"):
        TaskConfig.of(name="boolean", d=5, function_class="sparse_parity", sparse_k=6)
    assert set(BOOLEAN_CLASSES) >= {"conjunction", "cnf", "teach_dnf", "nearest_neighbour"}


def test_reproducible():
    a = sample_task(TaskConfig.of(name="boolean", d=5, function_class="cnf", n_points=8), 6, gen(3))
    b = sample_task(TaskConfig.of(name="boolean", d=5, function_class="cnf", n_points=8), 6, gen(3))
    assert torch.equal(a.xs, b.xs) and torch.equal(a.ys, b.ys)
    assert set(a.xs.unique().tolist()) == {-1.0, 1.0} and set(a.ys.unique().tolist()) <= {-1.0, 1.0}
