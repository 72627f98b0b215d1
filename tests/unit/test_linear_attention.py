"""Linear self-attention: prefix predictions, causality, ZFB initialisation, training via train.py."""

from __future__ import annotations

import pytest
import torch

from icl_lab.models.linear_attention import LinearSelfAttention
from icl_lab.pipelines.regression import load as load_experiment
from icl_lab.training.regression import build_model, train
from tests.conftest import EXPERIMENT, TINY


def prompts(b: int = 3, n: int = 6, d: int = 3):
    g = torch.Generator().manual_seed(1)
    return (torch.randn(b, n, d, generator=g, dtype=torch.float64),
            torch.randn(b, n, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("n_layer", [1, 2, 3])
def test_prefix_predictions_equal_one_prompt_per_prefix(n_layer):
    model = LinearSelfAttention(3, n_layer, init="random", init_scale=1.0,
                                generator=torch.Generator().manual_seed(0)).double()
    xs, ys = prompts()
    out = model(xs, ys)
    assert torch.all(out[:, 0] == 0)  # empty prompt: the query's label slot stays 0
    for k in range(1, xs.shape[1]):
        assert torch.allclose(out[:, k], model.predict_query(xs[:, :k], ys[:, :k], xs[:, k]), atol=1e-12)


def test_predictions_are_causal():
    model = LinearSelfAttention(3, 2, init="random", init_scale=1.0).double()
    xs, ys = prompts()
    ys2 = ys.clone()
    ys2[:, 3] += 5.0  # the label of example 3 may only affect predictions 4, 5, ...
    a, b = model(xs, ys), model(xs, ys2)
    assert torch.equal(a[:, :4], b[:, :4]) and not torch.allclose(a[:, 4:], b[:, 4:])


def test_zfb_initialisation_and_effective_matrix():
    d, sigma = 4, 0.1
    model = LinearSelfAttention(d, 1, init="zfb", init_scale=sigma).double()
    kq, pv = model.w_kq[0].detach(), model.w_pv[0].detach()
    assert torch.isclose(kq[:d, :d].norm(), torch.tensor(sigma, dtype=torch.float64))
    assert torch.allclose(kq[:d, :d], kq[:d, :d].T)  # σ ΘΘᵀ is symmetric
    assert kq[d].abs().sum() == 0 and kq[:, d].abs().sum() == 0
    assert torch.isclose(pv[d, d], torch.tensor(sigma, dtype=torch.float64)) and pv.abs().sum() == pv[d, d]
    with torch.no_grad():  # move along the invariant manifold: ŷ = (1/N) Σ y_i x_iᵀ A x_q
        model.w_kq[0, :d, :d] = torch.randn(d, d, dtype=torch.float64)
        model.w_pv[0, d, d] = 0.7
    xs, ys = prompts(d=d)
    a = model.effective_matrix()
    n = xs.shape[1] - 1
    expected = torch.einsum("bn,bnd,de,be->b", ys[:, :n], xs[:, :n], a, xs[:, n]) / n
    assert torch.allclose(model.predict_query(xs[:, :n], ys[:, :n], xs[:, n]), expected, atol=1e-12)


def test_lsa_family_trains_through_the_standard_loop(tmp_path):
    cfg = load_experiment(EXPERIMENT, "quick", TINY + ["model.family=lsa"])
    assert isinstance(build_model(cfg), LinearSelfAttention)
    model = train(cfg, tmp_path / "run", progress=False)
    xs, ys = prompts(d=cfg.task.d)
    assert torch.isfinite(model(xs.float(), ys.float())).all()
