"""In-context uncertainty (Liu et al. 2024, arXiv:2405.15115): predictive distributions and calibration.

A *predictive* maps (xs [B, N, D], ys [B, N]) to (mean [B, N], var [B, N]) at every prefix,
like a learner but with a variance. Sources: a model with a Gaussian head
(:func:`model_predictive`) and the exact Bayes predictive of a prior
(:func:`icl_lab.baselines.bayes_priors.bayes_predictive`; for Gaussian linear regression
σ²(1 + x_qᵀ(XᵀX + λI)⁻¹x_q), the mixture variance for mixtures).

Calibration: a predictive is calibrated when the realised squared error equals the predicted
variance on average among predictions with a given variance. :func:`calibration_bins` sorts
predictions into equal-count bins of predicted variance; :func:`plot_calibration` draws
realised against predicted, with the diagonal.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

Predictive = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def model_predictive(model: torch.nn.Module, batch_size: int = 256) -> Predictive:
    """Wrap a model with ``predict_distribution`` (e.g. GaussianHeadRegressor): eval mode, no grad, chunked."""
    if not hasattr(model, "predict_distribution"):
        raise ValueError("this model predicts no variance: train it with model.head = \"gaussian\"")
    device = next(model.parameters()).device

    @torch.no_grad()
    def predict(xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        model.eval()
        outs = [model.predict_distribution(xs[i:i + batch_size].to(device), ys[i:i + batch_size].to(device))
                for i in range(0, xs.shape[0], batch_size)]
        return torch.cat([m.float().cpu() for m, _ in outs]), torch.cat([v.float().cpu() for _, v in outs])

    return predict


def calibration_bins(var: torch.Tensor, sq_err: torch.Tensor, n_bins: int = 10) -> dict[str, list[float]]:
    """Equal-count bins of predicted variance: per bin the mean predicted variance, the mean
    realised squared error and its standard error, and the count. Inputs: any matching shapes."""
    v, e = var.double().flatten(), sq_err.double().flatten()
    order = torch.argsort(v)
    out: dict[str, list[float]] = {"var": [], "sq_err": [], "se": [], "count": []}
    for idx in torch.tensor_split(order, n_bins):  # n_bins slices, not a loop over prompts
        if idx.numel() == 0:
            continue
        eb = e[idx]
        out["var"].append(v[idx].mean().item())
        out["sq_err"].append(eb.mean().item())
        out["se"].append((eb.std().item() if idx.numel() > 1 else 0.0) / math.sqrt(idx.numel()))
        out["count"].append(int(idx.numel()))
    return out


def calibration_summary(mean: torch.Tensor, var: torch.Tensor, ys: torch.Tensor) -> dict[str, float]:
    """Scalar checks: mean of z² = (y − mean)²/var (1 when calibrated), mean NLL, and the
    coverage of the central 90% Gaussian interval (0.9 for a calibrated Gaussian predictive)."""
    z2 = (ys.double() - mean.double()) ** 2 / var.double()
    nll = 0.5 * (torch.log(2 * math.pi * var.double()) + z2)
    return {"mean_z2": z2.mean().item(), "nll": nll.mean().item(),
            "coverage_90": (z2 <= 1.6448536269514722**2).double().mean().item()}


def plot_calibration(bins: dict[str, dict[str, list[float]]], ax=None, title: str = "calibration"):
    """Realised squared error against predicted variance (log-log), one curve per predictive."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.2))
    lo, hi = np.inf, 0.0
    for name, b in bins.items():
        v, e, se = np.array(b["var"]), np.array(b["sq_err"]), np.array(b["se"])
        ax.errorbar(v, e, yerr=se, marker="o", ms=4, capsize=2, label=name)
        lo, hi = min(lo, v.min(), e.min()), max(hi, v.max(), e.max())
    ax.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1, label="calibrated")
    ax.set(xscale="log", yscale="log", xlabel="predicted variance", ylabel="realised squared error", title=title)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_minor_formatter(NullFormatter())  # log-axis minor labels overlap on short ranges
    ax.legend(frameon=False, fontsize=8)
    return ax
