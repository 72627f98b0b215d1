"""Hand-set LSA weights that implement gradient descent in context (von Oswald et al. 2023, Akyürek et al. 2023, arXiv:2211.15661; von Oswald et al. 2023, arXiv:2212.07677).

One layer with W^{KQ} = [[I, 0], [0, 0]] and W^{PV} = [[0, 0], [0, η]] outputs exactly
ŷ = (η/N) Σ y_i x_iᵀ x_q: one GD step from w = 0 on L(w) = (1/2N) Σ (wᵀx_i − y_i)².

K steps by stacking K layers with W^{PV}_{22} = −η and reading −(query's y-entry): each
context token's y-entry holds its residual r_i = y_i − w_tᵀx_i and the query's holds
−w_tᵀx_q; one layer subtracts (η/N) Σ_i r_i x_iᵀ x_j from every token j, which is exactly
w_{t+1} = w_t + (η/N) Σ_i r_i x_i. (Keys are context tokens only; see linear_attention.py.)
"""

from __future__ import annotations

import torch

from icl_lab.models.linear_attention import LinearSelfAttention


def gd_lsa(d: int, eta: float, steps: int = 1, dtype: torch.dtype = torch.float64) -> LinearSelfAttention:
    """An LSA of ``steps`` layers whose prediction is ``steps`` GD steps of size η from w = 0."""
    model = LinearSelfAttention(d, n_layer=steps, init="zeros").to(dtype)
    with torch.no_grad():
        model.w_kq[:, :d, :d] = torch.eye(d, dtype=dtype)
        if steps == 1:  # ZFB's sign convention: ŷ is the query's y-entry itself
            model.w_pv[:, d, d] = eta
        else:
            model.w_pv[:, d, d] = -eta
            model.readout_sign.fill_(-1.0)
    return model


def one_step_gd(xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor, eta: float) -> torch.Tensor:
    """The formula ŷ = (η/N) Σ y_i x_iᵀ x_q for xs [B, N, D], ys [B, N], xq [B, D] -> [B]."""
    n = xs.shape[1]
    return eta / n * torch.einsum("bn,bnd,bd->b", ys, xs, xq)


def gd_weights(xs: torch.Tensor, ys: torch.Tensor, eta: float, steps: int) -> torch.Tensor:
    """w after ``steps`` GD steps from 0 with step η on (1/2N) Σ (wᵀx_i − y_i)², [B, D]."""
    n = xs.shape[1]
    w = torch.zeros_like(xs[:, 0])
    for _ in range(steps):
        residual = ys - torch.einsum("bnd,bd->bn", xs, w)
        w = w + eta / n * torch.einsum("bn,bnd->bd", residual, xs)
    return w
