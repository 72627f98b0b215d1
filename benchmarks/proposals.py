"""Prototypes of changes proposed for icl_lab's core, measured by the benchmark.

Nothing here is used by icl_lab; each prototype computes exactly what the core computes
(the tests check it) so that the benchmark can show what the change would buy.

Training (``icl_lab/models/transformer.py``, ``icl_lab/train.py``):

* :class:`FinalBlockAtReadout` — the last block's output is only read at the read-out
  positions (the x tokens of the interleaved encoding, half of them), so after the last
  attention only those rows need the projection, the residual, the MLP, ``ln_f`` and the
  head, and the last attention only needs queries there (keys/values stay complete).
  Rows are independent after attention, so the predictions are unchanged.
* :func:`fused_adamw` — ``torch.optim.AdamW(fused=True)`` (one kernel per step, CPU and CUDA).

Baselines (``icl_lab/baselines/regression.py``, ``icl_lab/baselines/lasso.py``):

* :func:`least_squares` / :func:`bayes_noiseless` — the minimum-norm fits of every prefix
  from one small Cholesky per prompt instead of one padded ``N × D`` ``gelsy`` per prefix:
  for ``k <= d`` the kernel ``K = X Xᵀ`` of the first ``d`` examples is factorised once,
  ``K = L Lᵀ``; the leading block of ``L`` factorises every shorter prefix, so with
  ``M = L⁻¹ K[:, q]`` and ``z = L⁻¹ y`` the prediction for query ``q`` is
  ``Σ_{j<q} M[j, q] z[j]`` and ``x_qᵀ P_k x_q = Σ_{j<q} M[j, q]²``. For ``k > d`` the prefix
  Gram matrix is positive definite and ``w_k = G_k⁻¹ h_k`` (Cholesky). Prompts whose
  factorisations lose pivots (degenerate inputs) fall back to the core's ``gelsy`` path.
* :func:`gram_chunks` — smaller chunks for the Gram-based baselines (ridge, GD, Bayes
  with noise): ``_CHUNK_ELEMS = 2**18`` keeps a chunk's ``[b, N, D, D]`` float64 tensors in
  cache instead of streaming 32 MiB tensors through memory for every elementwise pass.
* :func:`symmetric_matvec` — ``lasso._matvec`` computes ``M v`` for ``M [P, D, D]`` with
  ``bmm(M, v[..., None])``; every ``M`` it is given is symmetric (``G``, ``G_AA⁻¹``,
  ``G⁻¹``), so ``bmm(v[:, None, :], M)`` gives the same numbers and runs about 2x faster
  for D = 20 (MKL's batched GEMM is slow for a column right-hand side); with it, Lasso
  chunks of ``_CHUNK_ELEMS = 2**21`` (16 MiB per ``[P, D, D]`` tensor; peak extra memory
  487 -> 132 MiB on 1280 x 41 x 20, and no slower).

Tried and rejected for Lasso: coordinate descent warm-started from the previous prefix,
sequential in k, with the core's polish and homotopy fallback -- slower (8.6 s against
7.1 s), because under-determined prefixes crawl and fall back to the homotopy.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F

from icl_lab.baselines import lasso as core_lasso
from icl_lab.baselines import regression as core
from icl_lab.models import ICLRegressor

# ----------------------------------------------------------------------------- training


class FinalBlockAtReadout(ICLRegressor):
    """``ICLRegressor`` whose last block is evaluated only where predictions are read."""

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        if any(p.active for p in self.hook_points().values()):
            return super().forward(xs, ys)  # hooks want every position
        bb = self.backbone
        emb = self.encoder(xs, ys)
        b, t, e = emb.shape
        x = emb + bb.wpe(torch.arange(t, device=emb.device))
        for block in bb.blocks[:-1]:
            x = block(x)
        last = bb.blocks[-1]
        attn = last.attn
        q, k, v = attn.qkv(last.ln_1(x)).view(b, t, 3, attn.n_head, e // attn.n_head).permute(2, 0, 3, 1, 4)
        pos = self.encoder.read_positions(torch.arange(t, device=x.device)[None, :, None])[0, :, 0]
        if pos.numel() == t:  # every position is read (compact encoding): plain causal attention
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            allowed = torch.arange(t, device=x.device)[None, :] <= pos[:, None]  # [R, T]
            y = F.scaled_dot_product_attention(q[:, :, pos], k, v, attn_mask=allowed)
        x = x[:, pos] + attn.proj(y.transpose(1, 2).reshape(b, pos.numel(), e))
        x = x + last.mlp(last.ln_2(x))
        out = self.head(bb.ln_f(x))
        return out.squeeze(-1) if self.out_dim == 1 else out


def fused_adamw(model: torch.nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)


# ----------------------------------------------------------------------------- baselines

_PIVOT_RTOL = 1e-10  # a Cholesky pivot² below this fraction of its diagonal entry counts as lost


def _chol_ok(mat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cholesky factor of ``mat [..., m, m]`` and a mask of the factorisations that kept all pivots."""
    chol, info = torch.linalg.cholesky_ex(mat)
    diag = mat.diagonal(dim1=-2, dim2=-1)
    ok = (info == 0) & (chol.diagonal(dim1=-2, dim2=-1).square() > _PIVOT_RTOL * diag).all(-1)
    return chol, ok


def _min_norm_prefix_fits(xs: torch.Tensor, ys: torch.Tensor, want_var: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean [B, N], x_qᵀ(I − P_k)x_q [B, N], ok [B]) of the minimum-norm fit of every prefix."""
    b, n, d = xs.shape
    x, y = xs.double(), ys.double()
    mean = torch.zeros(b, n, dtype=torch.float64, device=xs.device)
    resid = (x * x).sum(-1)  # ||x_q||² (k = 0: nothing projected)
    ok = torch.ones(b, dtype=torch.bool, device=xs.device)
    m = min(d, n - 1)  # prefixes k = 1..m have k <= d examples: kernel form
    if m >= 1:
        xm = x[:, :m]
        chol, ok_k = _chol_ok(xm @ xm.mT)  # [B, m, m]
        ok &= ok_k
        eye = torch.eye(m, dtype=x.dtype, device=x.device)
        chol = torch.where(ok_k[:, None, None], chol, eye)
        cross = xm @ x[:, : m + 1].mT  # [B, m, m+1]: K[j, q]
        mm = torch.linalg.solve_triangular(chol, cross, upper=False)  # L⁻¹ K[:, q]
        z = torch.linalg.solve_triangular(chol, y[:, :m, None], upper=False)  # [B, m, 1]
        before = torch.ones(m, m + 1, dtype=torch.bool, device=x.device).triu(1)  # j < q
        mm = torch.where(before, mm, 0.0)
        mean[:, : m + 1] = (mm * z).sum(1)
        if want_var:
            resid[:, 1 : m + 1] = resid[:, 1 : m + 1] - mm[:, :, 1:].square().sum(1)
    if n - 1 > d:  # prefixes k = d+1..N-1: G_k positive definite
        step = max(1, core._CHUNK_ELEMS // 4 // (n * d * d))
        for start in range(0, b, step):
            sl = slice(start, min(b, start + step))
            gram, xty = core._prefix_gram(x[sl], y[sl])
            chol, ok_g = _chol_ok(gram[:, d + 1 :])  # [c, N-d-1, D, D]
            ok_g = ok_g.all(-1)
            ok[sl] &= ok_g
            chol = torch.where(ok_g[:, None, None, None], chol, torch.eye(d, dtype=x.dtype, device=x.device))
            w = torch.cholesky_solve(xty[:, d + 1 :, :, None], chol)[..., 0]
            mean[sl, d + 1 :] = (x[sl, d + 1 :] * w).sum(-1)
        if want_var:
            resid[:, d + 1 :] = 0.0  # full row space: P_k = I
    return mean, resid.clamp(min=0.0), ok


def least_squares(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Same as ``icl_lab.baselines.regression.least_squares`` (min-norm OLS per prefix)."""
    core._check(xs, ys)
    mean, _, ok = _min_norm_prefix_fits(xs, ys, want_var=False)
    bad = (~ok).nonzero()[:, 0]
    if bad.numel():
        mean[bad] = core.least_squares(xs[bad], ys[bad]).double()
    return mean.to(ys.dtype)


def bayes_noiseless(xs: torch.Tensor, ys: torch.Tensor, prior_std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Same as ``icl_lab.baselines.regression.bayes(noise_std=0)``: (mean, var)."""
    core._check(xs, ys)
    mean, resid, ok = _min_norm_prefix_fits(xs, ys, want_var=True)
    var = prior_std**2 * resid
    bad = (~ok).nonzero()[:, 0]
    if bad.numel():
        m_bad, v_bad = core.bayes(xs[bad], ys[bad], 0.0, prior_std)
        mean[bad], var[bad] = m_bad.double(), v_bad.double()
    return mean.to(ys.dtype), var.to(ys.dtype)


@contextmanager
def gram_chunks(elems: int = 2**18) -> Iterator[None]:
    """Temporarily run the core's Gram-based baselines with ``_CHUNK_ELEMS = elems``."""
    old = core._CHUNK_ELEMS
    core._CHUNK_ELEMS = elems
    try:
        yield
    finally:
        core._CHUNK_ELEMS = old



def _row_matvec(mat: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """``mat @ vec`` for symmetric ``mat [P, D, D]``, as ``vecᵀ mat``."""
    return torch.bmm(vec[:, None, :], mat)[:, 0]


@contextmanager
def symmetric_matvec(chunk_elems: int | None = 2**21) -> Iterator[None]:
    """Temporarily run the core's Lasso with :func:`_row_matvec` as its ``_matvec`` and
    (unless None) ``_CHUNK_ELEMS = chunk_elems`` (16 MiB per ``[P, D, D]`` tensor instead of 64)."""
    old = core_lasso._matvec, core_lasso._CHUNK_ELEMS
    core_lasso._matvec = _row_matvec
    if chunk_elems is not None:
        core_lasso._CHUNK_ELEMS = chunk_elems
    try:
        yield
    finally:
        core_lasso._matvec, core_lasso._CHUNK_ELEMS = old
