"""Hand-set LSA weights equal gradient descent in context, to float precision."""

from __future__ import annotations

import pytest
import torch

from icl_lab.baselines.regression import gd
from icl_lab.theory.gd_construction import gd_lsa, gd_weights, one_step_gd


def prompts(dtype=torch.float64, b=64, n=15, d=6):
    g = torch.Generator().manual_seed(3)
    xs = torch.randn(b, n, d, generator=g).to(dtype)
    ys = torch.randn(b, n, generator=g).to(dtype)
    return xs, ys, torch.randn(b, d, generator=g).to(dtype)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-13), (torch.float32, 1e-5)])
def test_one_layer_is_one_gd_step(dtype, tol):
    xs, ys, xq = prompts(dtype)
    model = gd_lsa(6, 0.37, 1, dtype=dtype)
    with torch.no_grad():
        out = model.predict_query(xs, ys, xq)
    expected = one_step_gd(xs, ys, xq, 0.37)  # (η/N) Σ y_i x_iᵀ x_q
    assert ((out - expected).abs().max() / expected.abs().max()) < tol


@pytest.mark.parametrize("steps", [2, 3, 5])
def test_stacked_layers_are_multi_step_gd(steps):
    xs, ys, xq = prompts()
    model = gd_lsa(6, 0.2, steps)
    with torch.no_grad():
        out = model.predict_query(xs, ys, xq)
        prefix = model(xs, ys)
    expected = (gd_weights(xs, ys, 0.2, steps) * xq).sum(-1)
    assert (out - expected).abs().max() < 1e-12
    # every prefix at once, against the lab's GD baseline (step lr/k on (1/2k) Σ (wᵀx − y)²)
    assert (prefix - gd(xs, ys, steps=steps, lr=0.2)).abs().max() < 1e-12
