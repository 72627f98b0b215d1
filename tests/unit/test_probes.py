"""Algorithm probes against closed forms: SPD/ILWD of known linear learners, the closest-algorithm
table on prompts whose answer is known, and linear probes on planted targets."""

import numpy as np
import torch

from icl_lab.baselines import regression as r
from icl_lab.evaluation.probes import (
    candidate_predictions,
    closest_algorithm_table,
    fit_linear_probe,
    format_closest_table,
    ilwd,
    implicit_weights,
    probe_model,
    probe_targets,
    read_activations,
    spd,
)
from icl_lab.models.config import ModelConfig
from icl_lab.models.transformer import ICLRegressor


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def fixed(w: torch.Tensor):
    """A learner that ignores its context and predicts wᵀx."""
    return lambda xs, ys: (xs.double() @ w.double())


def test_spd_and_ilwd_of_fixed_linear_learners():
    g = gen(1)
    xs, ys = torch.randn(20, 6, 3, generator=g), torch.randn(20, 6, generator=g)
    wa, wb = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.0, 1.0, 0.5])
    expected = ((xs.double() @ (wa - wb).double()) ** 2).mean(0)
    assert torch.allclose(spd(fixed(wa)(xs, ys), fixed(wb)(xs, ys)), expected)
    probes = torch.randn(20, 8, 3, generator=g)
    diff = ilwd(fixed(wa), fixed(wb), xs, ys, probes, positions=[0, 2, 5])
    assert torch.allclose(diff, torch.full((3,), ((wa - wb) ** 2).sum().item()).double())


def test_implicit_weights_of_ridge_are_its_weights():
    g = gen(2)
    xs = torch.randn(5, 8, 3, generator=g).double()
    ys = xs @ torch.randn(3, generator=g).double() + 0.3 * torch.randn(5, 8, generator=g).double()
    probes = torch.randn(5, 6, 3, generator=g).double()
    positions = [1, 4, 7]
    w = implicit_weights(lambda x, y: r.ridge(x, y, 0.5), xs, ys, probes, positions)  # [5, 3, 3]
    x, y = xs.numpy(), ys.numpy()
    for b in range(5):
        for i, k in enumerate(positions):
            direct = np.linalg.solve(x[b, :k].T @ x[b, :k] + 0.5 * np.eye(3), x[b, :k].T @ y[b, :k])
            np.testing.assert_allclose(w[b, i].numpy(), direct, atol=1e-10)
    # ILWD between two ridges equals the mean squared distance of their explicit weights.
    w2 = implicit_weights(lambda x, y: r.ridge(x, y, 2.0), xs, ys, probes, positions)
    got = ilwd(lambda x, y: r.ridge(x, y, 0.5), lambda x, y: r.ridge(x, y, 2.0), xs, ys, probes, positions)
    assert torch.allclose(got, (w - w2).square().sum(-1).mean(0))


def test_closest_algorithm_picks_ols_on_noiseless_prompts_past_d():
    d = 4
    g = gen(3)
    xs = torch.randn(200, 12, d, generator=g).double()
    truth = xs @ torch.randn(200, d, 1, generator=g).double()  # noiseless labels = the target
    ys = truth[..., 0]
    rows = closest_algorithm_table(ys, candidate_predictions(xs, ys))  # Bayes left out: it equals OLS here
    for row in rows[d + 1:]:
        assert row["best"] == "least_squares" and row["spd"] < 1e-12
    assert "least_squares" in format_closest_table(rows).splitlines()[-1]


def test_closest_algorithm_recovers_the_right_hyper_parameter():
    g = gen(4)
    xs = torch.randn(100, 10, 3, generator=g).double()
    ys = (xs @ torch.randn(100, 3, 1, generator=g).double())[..., 0] + torch.randn(100, 10, generator=g).double()
    cands = candidate_predictions(xs, ys, noise_std=None)
    bayes = r.bayes(xs, ys, noise_std=1.0, prior_std=1.0)[0]  # = ridge(λ = σ²/τ² = 1)
    rows = closest_algorithm_table(bayes, cands)
    assert all(row["best"] == "ridge(λ=1)" for row in rows[1:])
    rows = closest_algorithm_table(r.gd(xs, ys, steps=1, lr=0.2), cands)
    assert all(row["best"] == "gd(η=0.2)" and row["families"]["gd"]["spd"] < 1e-20 for row in rows[1:])


def test_linear_probe_recovers_a_planted_target_and_not_noise():
    g = gen(5)
    acts = torch.randn(3000, 16, generator=g)
    planted = acts @ torch.randn(16, 3, generator=g) + 2.0 + 0.01 * torch.randn(3000, 3, generator=g)
    assert fit_linear_probe(acts, planted).r2 > 0.999
    assert fit_linear_probe(acts, torch.randn(3000, 2, generator=g)).r2 < 0.02


def test_probe_targets_and_probing_a_model():
    g = gen(6)
    xs = torch.randn(64, 9, 2, generator=g)
    ys = (xs @ torch.randn(64, 2, 1, generator=g))[..., 0]
    t = probe_targets(xs, ys)
    x, y = xs[0].double().numpy(), ys[0].double().numpy()
    np.testing.assert_allclose(t["w_ols"][0, 5].numpy(), np.linalg.lstsq(x[:5], y[:5], rcond=None)[0], atol=1e-8)
    np.testing.assert_allclose(t["xty"][0, 5].numpy(), x[:5].T @ y[:5], atol=1e-5)
    torch.manual_seed(0)
    model = ICLRegressor(ModelConfig(n_embd=32, n_layer=2, n_head=2, max_points=9, encoding="compact"), 2)
    assert read_activations(model, xs, ys, "blocks.1.hook_resid_post").shape == (64, 9, 32)
    # Layer-0 input = read_in([x_k, x_{k-1}, y_{k-1}]) + position: x_k is linear in it.
    # (GPT-2 init makes activations ~0.02·x, so the ridge penalty must be tiny here.)
    r2 = probe_model(model, xs, ys, ["blocks.0.hook_resid_pre"], lam=1e-9)
    assert r2["blocks.0.hook_resid_pre"]["x_query"] > 0.999


def test_probe_prompts_match_explicit_truncated_prompts_for_a_transformer():
    from icl_lab.evaluation.probes import probe_predictions
    from icl_lab.evaluation.regression import model_learner

    torch.manual_seed(1)
    model = ICLRegressor(ModelConfig(n_embd=32, n_layer=2, n_head=2, max_points=9), 3)  # interleaved
    learner = model_learner(model)
    g = gen(7)
    xs, ys, probes = torch.randn(4, 9, 3, generator=g), torch.randn(4, 9, generator=g), torch.randn(4, 5, 3, generator=g)
    got = probe_predictions(learner, xs, ys, probes, positions=[0, 3, 8])  # [4, 3, 5]
    for i, k in enumerate([0, 3, 8]):
        for m in range(5):
            prompt = torch.cat((xs[:, :k], probes[:, m:m + 1]), 1)
            direct = learner(prompt, torch.cat((ys[:, :k], torch.zeros(4, 1)), 1))[:, k]
            assert torch.allclose(got[:, i, m].float(), direct, atol=1e-5)
