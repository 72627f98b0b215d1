"""Lin, Bai & Mei's distribution-ratio experiment: AD imitating Thompson-sampling histories mixed with uniform ones."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.claims import AtLeast, Within
from icl_lab.pipelines.bandits import figure_results, plot_online

PAPER = "Lin, Bai, Mei 2023 (arXiv:2310.08566), distribution-ratio experiment (Bernoulli bandit, uniform/Thompson mixtures)"
SETTINGS = ("ad_bernoulli_ts", "ad_bernoulli_mix50", "ad_bernoulli_mix90")
SHARE = {"ad_bernoulli_ts": 0.0, "ad_bernoulli_mix50": 0.5, "ad_bernoulli_mix90": 0.9}


def _final(panel: dict, learner: str) -> tuple[float, float]:
    s = panel["online"][learner]
    return s["final_mean"], s["final_se"]


def _z_rise(results: dict) -> float:
    """(AD's regret at 90% uniform − at 50% uniform) in standard errors of the difference."""
    (m90, s90), (m50, s50) = (_final(results["panels"][k], "ad") for k in ("ad_bernoulli_mix90", "ad_bernoulli_mix50"))
    return (m90 - m50) / np.hypot(s90, s50)


CLAIMS = (
    AtLeast("A larger share of uniform histories degrades the imitator: AD's regret at H is higher at 90% "
            "uniform than at 50% (difference in standard errors ≥ 2)", _z_rise,
            paper_value="regret grows with the distribution ratio (90/10 worse than 50/50)", bound=2.0),
    Within("Without uniform histories AD tracks its source: regret at H within 10% of Beta-Thompson "
           "sampling's (ratio AD / TS)",
           lambda r: _final(r["panels"]["ad_bernoulli_ts"], "ad")[0] / _final(r["panels"]["ad_bernoulli_ts"], "beta_ts")[0],
           paper_value="AD ≈ its source when the data come from it", target=1.0, tol=0.1),
)


def compute(preset: str, runs: Path) -> dict:
    """Run (or reuse) the three AD Bernoulli settings under ``runs`` (shared with fig64)."""
    keep = ("env", "method", "n_eval_tasks", "online", "imitation_accuracy")
    return {"panels": {s: {k: v for k, v in figure_results(s, preset, runs).items() if k in keep} for s in SETTINGS}}


def draw(results: dict, preset: str) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.5))
    panels = results["panels"]
    base = panels["ad_bernoulli_ts"]
    env = base["env"]
    plot_online(base, axes[0], f"AD of Beta-TS, 0% uniform: K={env['n_arms']}, H={env['horizon']} "
                f"({base['n_eval_tasks']} tasks)")
    shares = [SHARE[s] for s in SETTINGS]
    ad = [_final(panels[s], "ad") for s in SETTINGS]
    ts = [_final(panels[s], "beta_ts") for s in SETTINGS]
    uni = [_final(panels[s], "uniform") for s in SETTINGS]
    for name, vals, style in (("AD (sample)", ad, dict(color="black", lw=2, marker="o")),
                              ("Beta-Thompson (the source)", ts, dict(color="tab:blue", ls="--", marker="s")),
                              ("uniform", uni, dict(color="grey", ls=":", marker="^"))):
        axes[1].errorbar(shares, [m for m, _ in vals], yerr=[s for _, s in vals], capsize=3, label=name, **style)
    for s, share in zip(SETTINGS, shares):
        axes[1].annotate(f"agree {100 * panels[s]['imitation_accuracy']:.0f}%", (share, _final(panels[s], 'ad')[0]),
                         textcoords="offset points", xytext=(4, 6), fontsize=8)
    axes[1].set(xlabel="share of uniform-policy histories in the pretraining data", ylabel="regret at H (mean ± s.e.)",
                title="the imitator degrades as the data move away from its source")
    axes[1].legend(frameon=False, fontsize=8)
    fig.suptitle(f"Distribution ratio: AD on Thompson/uniform mixtures, Bernoulli bandit ({preset} preset)")
    fig.tight_layout()
    return fig
