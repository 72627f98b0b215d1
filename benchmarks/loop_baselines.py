"""The closed-form baselines written plainly, one prefix at a time, as Garg et al.'s code does.

Garg et al.'s ``src/models.py`` loops over the prefix length ``k`` in Python and, for each
``k``, refits every prompt of the batch (batched tensor calls where the library offers
them; Lasso with one scikit-learn fit per prompt and prefix). These functions keep that
structure and compute the *same* maths as :mod:`icl_lab.baselines.regression` (float64):

* least squares: ``torch.linalg.lstsq`` per prefix (the reference's call; numpy has no
  batched ``lstsq``), minimum-norm solution below ``d`` examples;
* ridge, Bayes (noisy), GD: ``X_kᵀX_k`` and ``X_kᵀy_k`` recomputed per prefix with
  numpy, ``np.linalg.solve`` batched over prompts;
* Bayes (noiseless): the posterior mean is the minimum-norm least-squares fit, the
  variance ``τ²‖(I − P_k)x_q‖²`` with ``P_k x_q = pinv(X_k) X_k x_q`` (a second
  right-hand side of the same ``lstsq``);
* averaging, k-nearest neighbours: numpy per prefix;
* Lasso: ``sklearn.linear_model.Lasso(alpha, fit_intercept=False)`` per prompt and prefix.

Every function maps ``xs [B, N, D]``, ``ys [B, N]`` (numpy or torch) to ``preds [B, N]``
(numpy float64); ``preds[:, 0] = 0`` (empty prompt).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

GARG_LASSO_MAX_ITER = 100_000  # Garg et al.'s LassoModel default


def _np(a) -> np.ndarray:
    return a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)


def least_squares(xs, ys) -> np.ndarray:
    x, y = torch.as_tensor(_np(xs)), torch.as_tensor(_np(ys))
    b, n, _ = x.shape
    preds = np.zeros((b, n))
    for k in range(1, n):
        w = torch.linalg.lstsq(x[:, :k], y[:, :k, None], rcond=1e-10, driver="gelsy").solution  # [B, D, 1]
        preds[:, k] = (x[:, k] * w[..., 0]).sum(-1).numpy()
    return preds


def ridge(xs, ys, lam: float) -> np.ndarray:
    x, y = _np(xs), _np(ys)
    b, n, d = x.shape
    preds = np.zeros((b, n))
    for k in range(1, n):
        xk, yk = x[:, :k], y[:, :k]
        gram = np.einsum("bki,bkj->bij", xk, xk) + lam * np.eye(d)
        w = np.linalg.solve(gram, np.einsum("bki,bk->bi", xk, yk)[..., None])[..., 0]
        preds[:, k] = (x[:, k] * w).sum(-1)
    return preds


def bayes(xs, ys, noise_std: float, prior_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive mean and variance, per prefix (see ``icl_lab.baselines.regression.bayes``)."""
    x, y = _np(xs), _np(ys)
    b, n, d = x.shape
    mean = np.zeros((b, n))
    var = np.zeros((b, n))
    var[:, 0] = noise_std**2 + prior_std**2 * (x[:, 0] ** 2).sum(-1)
    if noise_std == 0:
        xt, yt = torch.as_tensor(x), torch.as_tensor(y)
        for k in range(1, n):
            xk, xq = xt[:, :k], xt[:, k]
            rhs = torch.stack([yt[:, :k], (xk @ xq[..., None])[..., 0]], dim=-1)  # [B, k, 2]: y_k, X_k x_q
            sol = torch.linalg.lstsq(xk, rhs, rcond=1e-10, driver="gelsy").solution  # [B, D, 2]
            mean[:, k] = (xq * sol[..., 0]).sum(-1).numpy()
            var[:, k] = prior_std**2 * ((xq - sol[..., 1]) ** 2).sum(-1).numpy()
        return mean, var
    lam = noise_std**2 / prior_std**2
    for k in range(1, n):
        xk, yk, xq = x[:, :k], y[:, :k], x[:, k]
        a = np.einsum("bki,bkj->bij", xk, xk) + lam * np.eye(d)
        rhs = np.stack([np.einsum("bki,bk->bi", xk, yk), xq], axis=-1)  # [B, D, 2]
        sol = np.linalg.solve(a, rhs)
        mean[:, k] = (xq * sol[..., 0]).sum(-1)
        var[:, k] = noise_std**2 * (1.0 + (xq * sol[..., 1]).sum(-1))
    return mean, var


def averaging(xs, ys) -> np.ndarray:
    x, y = _np(xs), _np(ys)
    b, n, _ = x.shape
    preds = np.zeros((b, n))
    for k in range(1, n):
        w = (x[:, :k] * y[:, :k, None]).mean(axis=1)
        preds[:, k] = (x[:, k] * w).sum(-1)
    return preds


def knn(xs, ys, k_neighbours: int = 3) -> np.ndarray:
    x, y = _np(xs), _np(ys)
    b, n, _ = x.shape
    preds = np.zeros((b, n))
    for k in range(1, n):
        dist = np.sqrt(((x[:, :k] - x[:, k : k + 1]) ** 2).sum(-1))  # [B, k]
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :k_neighbours]
        preds[:, k] = np.take_along_axis(y[:, :k], nearest, axis=1).mean(axis=1)
    return preds


def gd(xs, ys, steps: int = 1) -> np.ndarray:
    """``steps`` GD steps from 0 on ``(1/2k)‖X_k w − y_k‖²`` with step ``1/mean‖x_j‖²``."""
    x, y = _np(xs), _np(ys)
    b, n, d = x.shape
    preds = np.zeros((b, n))
    for k in range(1, n):
        xk, yk = x[:, :k], y[:, :k]
        gram = np.einsum("bki,bkj->bij", xk, xk)
        xty = np.einsum("bki,bk->bi", xk, yk)
        trace = np.trace(gram, axis1=1, axis2=2)
        step = np.where(trace > 0, k / np.where(trace > 0, trace, 1.0), 0.0) / k
        w = np.zeros((b, d))
        for _ in range(steps):
            w = w - step[:, None] * (np.einsum("bij,bj->bi", gram, w) - xty)
        preds[:, k] = (x[:, k] * w).sum(-1)
    return preds


def lasso(xs, ys, alpha: float, max_iter: int = GARG_LASSO_MAX_ITER, tol: float = 1e-4) -> np.ndarray:
    """One ``sklearn.linear_model.Lasso`` fit per prompt and prefix (Garg et al.'s LassoModel;
    sklearn's default ``tol=1e-4``)."""
    from sklearn.linear_model import Lasso

    x, y = _np(xs), _np(ys)
    b, n, _ = x.shape
    preds = np.zeros((b, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, n):
            for j in range(b):
                clf = Lasso(alpha=alpha, fit_intercept=False, max_iter=max_iter, tol=tol)
                clf.fit(x[j, :k], y[j, :k])
                preds[j, k] = x[j, k] @ clf.coef_
    return preds
