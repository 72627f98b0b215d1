"""In-context learners trained separately on every prompt prefix (Garg et al. baselines).

Same contract as :mod:`icl_lab.baselines.regression`: ``xs [B, N, D]``, ``ys [B, N]``
-> ``preds [B, N]``, ``preds[:, k]`` fitted on ``(xs[:, :k], ys[:, :k])`` and evaluated
at ``xs[:, k]``; 0 on an empty prompt.

* :func:`two_layer_net` trains ``B·N`` independent two-layer ReLU nets in one batched
  tensor program (Adam is element-wise, so this equals separate training runs).
* :func:`decision_tree` / :func:`gradient_boosting` loop over prompts and prefixes with
  scikit-learn (optional dependency, the ``trees`` extra).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["decision_tree", "gradient_boosting", "two_layer_net"]

#: Elements of the largest per-chunk activation ``[b, N, N, H]`` (float32): 2**24 -> 64 MiB.
_NET_CHUNK_ELEMS = 2**24


def _check(xs: torch.Tensor, ys: torch.Tensor) -> tuple[int, int, int]:
    # (regression.py imports this module, so its own _check is not imported here)
    if xs.ndim != 3 or ys.ndim != 2 or xs.shape[:2] != ys.shape:
        raise ValueError(f"expected xs [B, N, D] and ys [B, N], got {tuple(xs.shape)} and {tuple(ys.shape)}")
    return xs.shape[0], xs.shape[1], xs.shape[2]


def _uniform(shape: tuple[int, ...], bound: float, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, device=device) * 2.0 - 1.0) * bound


def _adam_update(
    p: torch.Tensor, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, lr: float
) -> None:
    """One element-wise Adam step (betas 0.9/0.999, eps 1e-8, as ``torch.optim.Adam``),
    in place; element-wise, so independent nets stay independent."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m.mul_(beta1).add_(g, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    denom = (v / (1 - beta2**t)).sqrt_().add_(eps)
    p.addcdiv_(m, denom, value=-lr / (1 - beta1**t))


def two_layer_net(
    xs: torch.Tensor,
    ys: torch.Tensor,
    hidden: int = 32,
    steps: int = 100,
    lr: float = 5e-3,
    seed: int = 0,
) -> torch.Tensor:
    """Two-layer ReLU net ``f(x) = aᵀ relu(W x + c) + e`` trained on each prefix with
    ``steps`` full-batch Adam steps (learning rate ``lr``) on the mean squared error
    ``(1/k) Σ_{j<k} (f(x_j) - y_j)²``, from PyTorch's ``nn.Linear`` initialisation.

    Garg et al. (2022) use Adam, lr 5e-3, 100 steps (their batch size 100 exceeds the
    prompt length, so full batch) and ``hidden=100``; the default ``hidden=32`` keeps the
    cost down (about 4 s of one CPU core for ``B=64, N=41, D=20``; ``hidden=100`` is ~8x
    slower) with similar errors. All ``B·N`` nets train in one float32 program (a
    hand-written backward over ``[B, N(j), N(k), H]`` activations); cost
    ``O(steps·B·N²·H·D)``. ``seed`` fixes the initialisation."""
    b, n, d = _check(xs, ys)
    if hidden < 1 or steps < 0:
        raise ValueError(f"need hidden >= 1 and steps >= 0, got {hidden}, {steps}")
    device = xs.device
    gen = torch.Generator(device=device).manual_seed(seed)
    pos = torch.arange(n, device=device)
    train = (pos[:, None] < pos[None, :])[:, :, None]  # [J, K, 1]: example j is in prefix k
    scale = 2.0 / pos.clamp(min=1).float()  # [K]: d/dfit of (1/k) Σ_j (fit - y)²
    kh = n * hidden
    out = torch.empty(b, n, dtype=torch.float32, device=device)
    chunk = max(1, _NET_CHUNK_ELEMS // (n * kh))
    for start in range(0, b, chunk):
        x = xs[start : start + chunk].detach().float()  # [c, J, D]
        y = ys[start : start + chunk].detach().float()  # [c, J]
        c = x.shape[0]
        # Net (b, k): hidden unit h has input weights w1[b, :, k*H + h] and bias b1[b, k*H + h].
        w1 = _uniform((c, d, kh), 1.0 / math.sqrt(d), gen, device)  # [c, D, K*H]
        b1 = _uniform((c, kh), 1.0 / math.sqrt(d), gen, device)  # [c, K*H]
        w2 = _uniform((c, n, hidden), 1.0 / math.sqrt(hidden), gen, device)  # [c, K, H]
        b2 = _uniform((c, n), 1.0 / math.sqrt(hidden), gen, device)  # [c, K]
        params = [w1, b1, w2, b2]
        moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
        x_t = x.transpose(1, 2)  # [c, D, J]
        for t in range(1, steps + 1):
            # forward on every (training example j, net k) pair; hand-written backward
            act = torch.baddbmm(b1[:, None, :], x, w1).relu_().view(c, n, n, hidden)  # [c, J, K, H]
            fit = (act * w2[:, None]).sum(-1) + b2[:, None, :]  # [c, J, K]
            d_fit = torch.where(train[..., 0], (fit - y[:, :, None]) * scale, 0.0)  # masked dLoss/dfit
            # ReLU backward (zero where act == 0): aten's fused kernel, ~2x faster than torch.where
            d_pre = torch.ops.aten.threshold_backward(d_fit[..., None] * w2[:, None], act, 0.0)  # [c, J, K, H]
            grads = [
                torch.bmm(x_t, d_pre.view(c, n, kh)),  # d w1
                d_pre.sum(1).view(c, kh),  # d b1
                torch.einsum("cjk,cjkh->ckh", d_fit, act),  # d w2
                d_fit.sum(1),  # d b2
            ]
            for p, g, (m, v) in zip(params, grads, moments):
                _adam_update(p, g, m, v, t, lr)
        act_q = torch.relu(torch.einsum("ckd,cdkh->ckh", x, w1.view(c, d, n, hidden)) + b1.view(c, n, hidden))
        pred = (act_q * w2).sum(-1) + b2  # [c, K]: net k at its query x_k
        pred[:, 0] = 0.0  # empty prompt
        out[start : start + chunk] = pred
    return out.to(ys.dtype)


def _sklearn(module: str, name: str, caller: str) -> Any:
    """``sklearn.<module>.<name>``, imported lazily (scikit-learn is an optional extra)."""
    try:
        return getattr(importlib.import_module(f"sklearn.{module}"), name)
    except ImportError as err:
        raise ImportError(
            f"{caller} needs scikit-learn; install the 'trees' extra: pip install -e '.[trees]'"
        ) from err


def _fit_per_prefix(xs: torch.Tensor, ys: torch.Tensor, make_model: Callable[[], Any]) -> torch.Tensor:
    """Loop over prompts and prefixes ``k >= 1``: fit ``make_model()`` on the first ``k``
    examples and predict ``x_k``."""
    b, n, _ = _check(xs, ys)
    x = xs.detach().cpu().double().numpy()
    y = ys.detach().cpu().double().numpy()
    preds = np.zeros((b, n))
    for i in range(b):
        for k in range(1, n):
            model = make_model().fit(x[i, :k], y[i, :k])
            preds[i, k] = model.predict(x[i, k : k + 1])[0]
    return torch.from_numpy(preds).to(device=ys.device, dtype=ys.dtype)


def decision_tree(
    xs: torch.Tensor, ys: torch.Tensor, max_depth: int | None = None, random_state: int = 0
) -> torch.Tensor:
    """CART regression tree (``sklearn.tree.DecisionTreeRegressor``, squared error) fitted
    on each prefix; ``max_depth=None`` grows it until leaves are pure."""
    regressor = _sklearn("tree", "DecisionTreeRegressor", "decision_tree")
    return _fit_per_prefix(xs, ys, lambda: regressor(max_depth=max_depth, random_state=random_state))


def gradient_boosting(
    xs: torch.Tensor,
    ys: torch.Tensor,
    n_estimators: int = 100,
    learning_rate: float = 0.1,
    max_depth: int = 3,
    random_state: int = 0,
) -> torch.Tensor:
    """Gradient-boosted trees (``sklearn.ensemble.GradientBoostingRegressor``, squared
    error, sklearn's defaults) fitted on each prefix. Slow: ~50 ms per fit with the
    defaults, i.e. ``B·(N-1)`` fits."""
    regressor = _sklearn("ensemble", "GradientBoostingRegressor", "gradient_boosting")
    return _fit_per_prefix(
        xs,
        ys,
        lambda: regressor(
            n_estimators=n_estimators, learning_rate=learning_rate, max_depth=max_depth, random_state=random_state
        ),
    )
