"""Algorithm probes against closed forms: SPD/ILWD of known linear learners, the closest-algorithm
table on prompts whose answer is known, and linear probes on planted targets."""

import numpy as np
import torch

from icl_lab.baselines import regression as r
from icl_lab.evaluation.probes import (
    candidate_predictions,
    closest_algorithm_table,
    fit_linear_probe,
    fit_pooled_probe,
    format_closest_table,
    ilwd,
    implicit_weights,
    probe_layers,
    probe_targets,
    prompt_targets,
    read_activations,
    seen_examples,
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
    acts = read_activations(model, xs, ys, "blocks.0.hook_resid_pre")
    assert fit_linear_probe(acts[:, 5], xs[:, 5], lam=1e-9).r2 > 0.999


def test_seen_examples_and_prompt_targets():
    """Token t of the compact encoding has seen t examples; interleaved x_k / y_k tokens k and k + 1;
    prompt_targets adds the prefix of all N examples to probe_targets' N prefixes."""
    assert seen_examples(1, 4).tolist() == [0, 1, 2, 3]
    assert seen_examples(2, 3).tolist() == [0, 1, 1, 2, 2, 3]
    g = gen(8)
    xs, ys = torch.randn(16, 6, 2, generator=g), torch.randn(16, 6, generator=g)
    full, base = prompt_targets(xs, ys, ridge_lam=0.5), probe_targets(xs, ys, ridge_lam=0.5)
    assert full["w_ols"].shape == (16, 7, 2)
    assert torch.equal(full["xty"][:, :6], base["xty"])
    x, y = xs[0].double().numpy(), ys[0].double().numpy()
    np.testing.assert_allclose(full["w_ridge"][0, 6].numpy(), np.linalg.solve(x.T @ x + 0.5 * np.eye(2), x.T @ y),
                               atol=1e-8)


def test_pooled_probe_reads_a_pooled_readout_and_not_noise():
    """A target that is a linear map of one token's activations (the pooled probe must find the
    token and the map), a target even in one token's features (no linear readout exists; the MLP
    probe, which acts after the pooling, reads it), and independent noise (both fail)."""
    g = gen(9)
    acts = torch.randn(3000, 5, 8, generator=g)
    planted = acts[:, 3] @ torch.randn(8, 2, generator=g)
    fit = fit_pooled_probe(acts, planted)
    assert fit.r2 > 0.95 and fit.weights.argmax().item() == 3
    noise = torch.randn(3000, 2, generator=g)
    assert fit_pooled_probe(acts, noise).r2 < 0.02 and fit_pooled_probe(acts, noise, hidden=64).r2 < 0.02
    squares = acts[:, 3, :2].square()
    assert fit_pooled_probe(acts, squares).r2 < 0.05
    assert fit_pooled_probe(acts, squares, hidden=64).r2 > 0.5


def test_probe_layers_reads_a_planted_quantity_and_its_controls():
    """On a model whose residual stream carries x_k at every token, the per-token probe of x_k is
    perfect; the random control fails and the planted control succeeds at every layer and kind."""
    g = gen(10)
    xs = torch.randn(512, 7, 2, generator=g)
    ys = (xs @ torch.randn(512, 2, 1, generator=g))[..., 0]
    torch.manual_seed(0)
    model = ICLRegressor(ModelConfig(n_embd=16, n_layer=1, n_head=2, max_points=7, encoding="compact"), 2).eval()
    out = probe_layers(model, xs, ys, ["blocks.0.hook_resid_pre"], min_k=3, ridge_lam=0.1, mlp_hidden=16)
    row = out["blocks.0.hook_resid_pre"]
    assert set(row) == {"position", "query", "pooled", "pooled_mlp"}
    assert all(row[kind]["random"] < 0.05 for kind in row)
    assert all(row[kind]["planted"] > 0.9 for kind in ("position", "query", "pooled"))


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
