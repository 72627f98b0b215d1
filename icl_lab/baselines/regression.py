"""Classical in-context regression learners, vectorised over prompts and prefixes.

Every baseline takes ``xs [B, N, D]`` and ``ys [B, N]`` and returns ``preds [B, N]``
where ``preds[:, k]`` is the prediction for the query ``xs[:, k]`` made from the
first ``k`` examples ``(xs[:, :k], ys[:, :k])`` only.  Hence ``preds[:, k]`` depends
only on ``xs[:, :k + 1]`` and ``ys[:, :k]`` (causality), and ``preds[:, 0]`` comes
from an empty prompt (0 for every baseline; ``bayes`` then also returns the prior
predictive variance).

All prefixes are handled at once, without a Python loop over ``k``:

* ``_prefix_gram`` gives, for every prefix, the sufficient statistics
  ``G_k = X_kᵀX_k = Σ_{j<k} x_j x_jᵀ`` and ``h_k = X_kᵀy_k = Σ_{j<k} y_j x_j`` by a
  cumulative sum shifted by one position (ridge, bayes, gd, lasso);
* ``_prefix_design`` builds the masked design matrices of all prefixes,
  ``[B, N(k), N(j), D]`` with rows ``j >= k`` set to zero (least squares). Zero
  rows change neither the row space nor the minimum-norm solution.

Computation is in float64 (trained-per-prompt learners excepted); results are
returned in the input dtype on the input device.  Large batches are processed in
chunks over ``B`` to bound memory.

Lasso lives in :mod:`icl_lab.baselines.lasso`, the learners trained per prompt
(two-layer net, trees) in :mod:`icl_lab.baselines.per_prompt`; all are listed in
``REGRESSION_BASELINES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from icl_lab.baselines.lasso import lasso
from icl_lab.baselines.per_prompt import decision_tree, gradient_boosting, two_layer_net
from icl_lab.baselines.prefix_stats import _check, _exclusive_cumsum, _prefix_gram

__all__ = [
    "REGRESSION_BASELINES",
    "averaging",
    "bayes",
    "decision_tree",
    "gd",
    "gradient_boosting",
    "knn",
    "lasso",
    "least_squares",
    "predict_means",
    "ridge",
    "two_layer_net",
    "zero",
]

#: Relative singular-value cut-off for the minimum-norm (pseudo-inverse) solutions.
RCOND = 1e-10
#: Elements of the largest per-chunk intermediate (float64): 2**18 -> 2 MiB, so a chunk's
#: ``[b, N, D, D]`` tensors stay in cache across the elementwise passes (measured 1.5-2x
#: faster than 32 MiB chunks on 1280 x 41 x 20; benchmarks/baselines.py).
_CHUNK_ELEMS = 2**18
#: A Cholesky pivot² below this fraction of its diagonal entry counts as lost (rank deficient).
_PIVOT_RTOL = 1e-10


# ----------------------------------------------------------------------------- helpers
def _chunks(batch: int, elems_per_prompt: int) -> Iterator[slice]:
    """Slices over the batch so that one chunk holds about ``_CHUNK_ELEMS`` elements."""
    step = max(1, _CHUNK_ELEMS // max(1, elems_per_prompt))
    for start in range(0, batch, step):
        yield slice(start, min(batch, start + step))


def _prefix_counts(n: int, device: torch.device) -> torch.Tensor:
    """``[N]`` float64 tensor ``k = 0, 1, ..., N-1`` (number of examples before each query)."""
    return torch.arange(n, dtype=torch.float64, device=device)


def _prefix_design(xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked prefix designs ``A [B, N(k), N(j), D]`` and targets ``Y [B, N(k), N(j)]``:
    row ``j`` of prefix ``k`` is ``(x_j, y_j)`` if ``j < k`` and exactly zero otherwise."""
    n = xs.shape[1]
    before = torch.ones(n, n, dtype=torch.bool, device=xs.device).tril(-1)  # [k, j]: j < k
    design = torch.where(before[None, :, :, None], xs.double()[:, None, :, :], 0.0)
    targets = torch.where(before[None], ys.double()[:, None, :], 0.0)
    return design, targets


def _min_norm_solve(a: torch.Tensor, rhs: torch.Tensor, rcond: float = RCOND, method: str = "svd") -> torch.Tensor:
    """Minimum-norm least-squares solution ``pinv(a) @ rhs`` for ``a [..., m, n]``,
    ``rhs [..., m, r]`` -> ``[..., n, r]``; singular values ``<= rcond * s_max`` count as 0.

    The SVD is the default: LAPACK ``gelsy`` (``method="gelsy"``, CPU only, ~10x faster)
    decides the rank of exactly rank-deficient matrices differently between runs (MKL; 17 of
    2000 repeats of one call), and the callers here are the degenerate prompts and probes."""
    if method == "gelsy":
        return torch.linalg.lstsq(a, rhs, rcond=rcond, driver="gelsy").solution
    if method != "svd":
        raise ValueError(f"unknown method {method!r}")
    u, s, vh = torch.linalg.svd(a, full_matrices=False)  # u [.., m, q], s [.., q], vh [.., q, n]
    keep = s > rcond * s.amax(dim=-1, keepdim=True)
    s_inv = torch.where(keep, 1.0 / torch.where(keep, s, 1.0), 0.0)
    return vh.mT @ (s_inv[..., None] * (u.mT @ rhs))


def _query_dot(xs: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``preds[b, k] = x_{b,k} · w_{b,k}`` for ``xs [B, N, D]`` and ``w [B, N, D]``."""
    return (xs.double() * w).sum(dim=-1)


def _identity_like(gram: torch.Tensor) -> torch.Tensor:
    return torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)


# ----------------------------------------------------------------------------- baselines
def zero(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Always predict 0 (normalised error 1 when ``E[y²] = D``)."""
    _check(xs, ys)
    return torch.zeros_like(ys)


def _chol_ok(mat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cholesky factor of ``mat [..., m, m]`` and a mask of the factorisations that kept all
    pivots (factors of failed ones are replaced by the identity so later solves stay finite)."""
    chol, info = torch.linalg.cholesky_ex(mat)
    diag = mat.diagonal(dim1=-2, dim2=-1)
    ok = (info == 0) & (chol.diagonal(dim1=-2, dim2=-1).square() > _PIVOT_RTOL * diag).all(-1)
    eye = torch.eye(mat.shape[-1], dtype=mat.dtype, device=mat.device)
    return torch.where(ok[..., None, None], chol, eye), ok


def _min_norm_prefix_fits(xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Minimum-norm fit of every prefix from one small Cholesky per prompt:
    ``(mean [B, N], x_qᵀ(I − P_k)x_q [B, N], ok [B])``, float64.

    For ``k <= D`` the kernel ``K = X Xᵀ`` of the first ``m = min(D, N-1)`` examples is
    factorised once, ``K = L Lᵀ``; the leading ``k × k`` block of ``L`` factorises every
    shorter prefix, so with ``M = L⁻¹ K[:, q]`` and ``z = L⁻¹ y`` the min-norm prediction for
    query ``q`` is ``Σ_{j<q} M[j, q] z[j]`` and ``x_qᵀ P_q x_q = Σ_{j<q} M[j, q]²``. For ``k > D``
    the prefix Gram matrix is positive definite and ``w_k = G_k⁻¹ h_k``. Prompts whose
    factorisations lose a pivot (degenerate inputs) are flagged in ``ok`` for the caller's
    rank-revealing fallback."""
    b, n, d = xs.shape
    x, y = xs.double(), ys.double()
    mean = torch.zeros(b, n, dtype=torch.float64, device=xs.device)
    resid = (x * x).sum(-1)  # ||x_q||²: nothing projected before the first example
    ok = torch.ones(b, dtype=torch.bool, device=xs.device)
    m = min(d, n - 1)
    if m >= 1:  # queries 1..m: kernel form
        xm = x[:, :m]
        chol, ok_k = _chol_ok(xm @ xm.mT)  # [B, m, m]
        ok &= ok_k
        cross = torch.linalg.solve_triangular(chol, xm @ x[:, : m + 1].mT, upper=False)  # L⁻¹ K[:, q]
        z = torch.linalg.solve_triangular(chol, y[:, :m, None], upper=False)  # [B, m, 1]
        before = torch.ones(m, m + 1, dtype=torch.bool, device=x.device).triu(1)  # j < q
        cross = torch.where(before, cross, 0.0)
        mean[:, : m + 1] = (cross * z).sum(1)
        resid[:, 1 : m + 1] -= cross[:, :, 1:].square().sum(1)
    if n - 1 > d:  # queries d+1..N-1: G_k positive definite
        for sl in _chunks(b, n * d * d):
            gram, xty = _prefix_gram(x[sl], y[sl])
            chol, ok_g = _chol_ok(gram[:, d + 1 :])  # [c, N-d-1, D, D]
            ok[sl] &= ok_g.all(-1)
            w = torch.cholesky_solve(xty[:, d + 1 :, :, None], chol)[..., 0]
            mean[sl, d + 1 :] = (x[sl, d + 1 :] * w).sum(-1)
    resid[:, d:] = 0.0  # k >= D examples with full rank (else not ok) span R^D: P_k = I
    return mean, resid.clamp(min=0.0), ok


def _least_squares_rank_revealing(xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pinv(X_k) y_k · x_q, ||(I − P_k) x_q||²)`` per prefix from one padded ``N × D``
    SVD per prefix (slow, exact on rank-deficient prompts), float64."""
    b, n, d = xs.shape
    mean = torch.empty(b, n, dtype=torch.float64, device=xs.device)
    resid = torch.empty_like(mean)
    for sl in _chunks(b, n * n * d):
        design, targets = _prefix_design(xs[sl], ys[sl])  # [b, N, N, D], [b, N, N]
        xq = xs[sl].double()  # [b, N, D]
        # Second right-hand side X_k x_q: pinv(X_k) X_k x_q = P_k x_q.
        rhs = torch.stack([targets, (design @ xq[..., None])[..., 0]], dim=-1)  # [b, N, N, 2]
        sol = _min_norm_solve(design, rhs)  # [b, N, D, 2]
        mean[sl] = _query_dot(xq, sol[..., 0])
        resid[sl] = (xq - sol[..., 1]).square().sum(-1)
    return mean, resid


def _min_norm_predictions(xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cholesky fast path for every prompt, rank-revealing solve for the degenerate ones."""
    mean, resid, ok = _min_norm_prefix_fits(xs, ys)
    bad = (~ok).nonzero()[:, 0]
    if bad.numel():
        mean[bad], resid[bad] = _least_squares_rank_revealing(xs[bad], ys[bad])
    return mean, resid


def least_squares(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """OLS per prefix, ``w_k = pinv(X_k) y_k``: the minimum-norm interpolant when
    ``k <= D`` (under-determined) and the least-squares solution otherwise."""
    _check(xs, ys)
    return _min_norm_predictions(xs, ys)[0].to(ys.dtype)


def _ridge_chunk(xs: torch.Tensor, ys: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge weights ``w [b, N, D]`` and Cholesky factors ``L`` of ``G_k + lam I``."""
    gram, xty = _prefix_gram(xs, ys)  # [b, N, D, D], [b, N, D]
    chol = torch.linalg.cholesky(gram + lam * _identity_like(gram))
    w = torch.cholesky_solve(xty[..., None], chol)[..., 0]
    return w, chol


def ridge(xs: torch.Tensor, ys: torch.Tensor, lam: float) -> torch.Tensor:
    """Ridge regression per prefix, ``w_k = (X_kᵀX_k + lam I)⁻¹ X_kᵀ y_k``.

    ``lam = 0`` is the ``lam -> 0+`` limit, i.e. :func:`least_squares`."""
    b, n, d = _check(xs, ys)
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    if lam == 0:
        return least_squares(xs, ys)
    out = torch.empty(b, n, dtype=torch.float64, device=xs.device)
    for sl in _chunks(b, n * d * d):
        w, _ = _ridge_chunk(xs[sl], ys[sl], lam)
        out[sl] = _query_dot(xs[sl], w)
    return out.to(ys.dtype)


def bayes(
    xs: torch.Tensor, ys: torch.Tensor, noise_std: float, prior_std: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bayesian linear regression posterior predictive ``(mean, var)``, each ``[B, N]``.

    Model: ``w ~ N(0, τ² I)``, ``y = wᵀx + N(0, σ²)`` with ``σ = noise_std``, ``τ = prior_std``.
    For ``σ > 0``: ``mean = ridge(lam = σ²/τ²)`` and
    ``var = σ² + x_qᵀ Σ_k x_q`` with ``Σ_k = (X_kᵀX_k/σ² + I/τ²)⁻¹ = σ² (X_kᵀX_k + lam I)⁻¹``.

    ``σ = 0`` is the noiseless limit ``σ -> 0+``, computed exactly: the mean is the
    minimum-norm least-squares solution ``pinv(X_k) y_k`` (the isotropic prior makes the
    prior-weighted min-norm interpolant the Euclidean one) and
    ``var = τ² ||(I - P_k) x_q||²`` with ``P_k`` the orthogonal projector onto the row
    space of ``X_k`` (numerical rank with relative cut-off ``RCOND``). On an empty prompt
    the variance is the prior predictive ``σ² + τ² ||x_q||²``."""
    b, n, d = _check(xs, ys)
    if noise_std < 0 or prior_std <= 0:
        raise ValueError(f"need noise_std >= 0 and prior_std > 0, got {noise_std}, {prior_std}")
    mean = torch.empty(b, n, dtype=torch.float64, device=xs.device)
    var = torch.empty_like(mean)
    if noise_std == 0:
        mean, resid = _min_norm_predictions(xs, ys)
        var = prior_std**2 * resid
    else:
        lam = noise_std**2 / prior_std**2
        for sl in _chunks(b, n * d * d):
            w, chol = _ridge_chunk(xs[sl], ys[sl], lam)
            xq = xs[sl].double()
            z = torch.linalg.solve_triangular(chol, xq[..., None], upper=False)[..., 0]  # L⁻¹ x_q
            mean[sl] = _query_dot(xq, w)
            var[sl] = noise_std**2 * (1.0 + z.square().sum(-1))
    return mean.to(ys.dtype), var.to(ys.dtype)


def averaging(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Garg et al.'s averaging estimator: ``w_k = (1/k) Σ_{j<k} y_j x_j``, prediction ``w_kᵀ x_q``."""
    _, n, _ = _check(xs, ys)
    xty = _exclusive_cumsum(xs.double() * ys.double()[..., None])  # [B, N, D]
    k = _prefix_counts(n, xs.device).clamp(min=1.0)  # k=0: xty = 0 anyway
    return _query_dot(xs, xty / k[:, None]).to(ys.dtype)


def knn(xs: torch.Tensor, ys: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Mean of the ``y`` of the ``k`` nearest (Euclidean) previous examples; all of them
    when fewer than ``k`` precede the query; 0 on an empty prompt."""
    b, n, _ = _check(xs, ys)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    x = xs.double()
    dist = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")  # [B, N(query), N(train)]
    pos = torch.arange(n, device=xs.device)
    before = pos[None, :] < pos[:, None]  # [query i, train j]: j < i
    dist = dist.masked_fill(~before, float("inf"))
    m = min(k, n)
    _, idx = dist.topk(m, dim=-1, largest=False)  # [B, N, m]
    valid = idx < pos[None, :, None]  # neighbours that really precede the query
    y_nb = torch.gather(ys.double()[:, None, :].expand(b, n, n), 2, idx)  # [B, N, m]
    y_nb = torch.where(valid, y_nb, 0.0)
    count = valid.sum(-1).clamp(min=1)
    return (y_nb.sum(-1) / count).to(ys.dtype)


def gd(xs: torch.Tensor, ys: torch.Tensor, steps: int = 1, lr: float | None = None) -> torch.Tensor:
    """``steps`` steps of full-batch gradient descent from ``w = 0`` on
    ``L_k(w) = (1/(2k)) Σ_{j<k} (wᵀx_j - y_j)²``: ``w <- w - lr (G_k w - h_k)/k``.

    One step gives ``w = (lr/k) Σ_{j<k} y_j x_j``. Default ``lr=None`` uses, per prefix,
    ``lr_k = 1 / mean_{j<k} ||x_j||² = k / tr(G_k)``, which is ``<= 1/λ_max(∇²L_k)`` (so the
    iteration never diverges) and ``≈ 1/D`` for isotropic ``x ~ N(0, I_D)``."""
    b, n, d = _check(xs, ys)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    out = torch.empty(b, n, dtype=torch.float64, device=xs.device)
    k = _prefix_counts(n, xs.device)[:, None]  # [N, 1]
    for sl in _chunks(b, n * d * d):
        gram, xty = _prefix_gram(xs[sl], ys[sl])  # [b, N, D, D], [b, N, D]
        if lr is None:
            trace = gram.diagonal(dim1=-2, dim2=-1).sum(-1, keepdim=True)  # [b, N, 1]
            step = torch.where(trace > 0, k / torch.where(trace > 0, trace, 1.0), 0.0)
        else:
            step = torch.full_like(xty[..., :1], float(lr))
        step = step / k.clamp(min=1.0)  # fold the 1/k of the loss into the step
        w = torch.zeros_like(xty)
        for _ in range(steps):
            w = w - step * ((gram @ w[..., None])[..., 0] - xty)
        out[sl] = _query_dot(xs[sl], w)
    return out.to(ys.dtype)


# ----------------------------------------------------------------------------- registry
REGRESSION_BASELINES: dict[str, Callable[..., torch.Tensor | tuple[torch.Tensor, torch.Tensor]]] = {
    "zero": zero,
    "least_squares": least_squares,
    "ridge": ridge,
    "bayes": bayes,
    "averaging": averaging,
    "knn": knn,
    "lasso": lasso,
    "gd": gd,
    "two_layer_net": two_layer_net,
    "decision_tree": decision_tree,
    "gradient_boosting": gradient_boosting,
}


def predict_means(name: str, xs: torch.Tensor, ys: torch.Tensor, **kwargs: object) -> torch.Tensor:
    """Run baseline ``name`` and return its point predictions ``[B, N]`` (the
    posterior mean for ``bayes``)."""
    try:
        fn = REGRESSION_BASELINES[name]
    except KeyError:
        raise KeyError(f"unknown baseline {name!r}; choose from {sorted(REGRESSION_BASELINES)}") from None
    out = fn(xs, ys, **kwargs)
    return out[0] if isinstance(out, tuple) else out
