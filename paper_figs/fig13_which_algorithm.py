"""Akyürek et al. 2023; von Oswald et al. 2023: which learning algorithm is in-context learning?

(a) Squared prediction difference (SPD, divided by d) between the trained model and each
candidate family — GD from w = 0 (step tuned per k over a grid), ridge (λ tuned over a grid),
OLS and the Bayes posterior mean — against k; circles mark the closest candidate per k.
(b) Implicit linear weight difference (ILWD) between the model and OLS, Bayes and the best
single GD step, from linear fits to predictions on 2d probe inputs. (c) Held-out R² of
linear probes from each layer's residual stream to w_OLS and Xᵀy of the prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from icl_lab.baselines import regression as r
from icl_lab.evaluation.probes import (
    candidate_predictions,
    closest_algorithm_table,
    format_closest_table,
    ilwd,
    plot_closest_algorithm,
    probe_model,
    spd,
)
from icl_lab.evaluation.regression import eval_batch, model_learner
from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run

ILWD_PROMPTS = 64  # ILWD runs the model on prompts × positions × 2d probe prompts


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig13_which_algorithm")) -> list[Path]:
    """Train (or reuse) the noisy linear-regression run of ``preset``; SPD table, ILWD and probes."""
    out_dir = Path(out_dir)
    cfg = experiment_config("which_algorithm", preset)
    run_dir, _ = trained_run(cfg, out_dir)
    _, model = load_trained_model(run_dir)
    model = model.cpu()
    t, batch = cfg.task, eval_batch(cfg)
    learner = model_learner(model)
    target = learner(batch.xs, batch.ys)
    cands = candidate_predictions(batch.xs, batch.ys, noise_std=t.noise_std, prior_std=t.prior_std)
    rows = closest_algorithm_table(target, cands, normalizer=t.d)

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4.3))
    plot_closest_algorithm(rows, ax=ax1, title=f"SPD / d to the model (d = {t.d}, σ = {t.noise_std}, {preset})")

    # ILWD against OLS, Bayes (= ridge λ = σ²/τ²) and the GD step that is closest on average.
    gd_name = min((n for n in cands if n.startswith("gd")), key=lambda n: spd(target, cands[n])[1:].sum().item())
    lr = float(gd_name.split("=")[1].rstrip(")"))
    others = {"least_squares": r.least_squares,
              "bayes": lambda xs, ys: r.bayes(xs, ys, t.noise_std, t.prior_std)[0],
              gd_name: lambda xs, ys: r.gd(xs, ys, steps=1, lr=lr)}
    xs, ys = batch.xs[:ILWD_PROMPTS], batch.ys[:ILWD_PROMPTS]
    probes = torch.randn(xs.shape[0], 2 * t.d, t.d, generator=torch.Generator().manual_seed(cfg.eval.seed + 7))
    positions = list(range(1, xs.shape[1]))
    ilwd_curves = {name: ilwd(learner, fn, xs, ys, probes, positions).tolist() for name, fn in others.items()}
    for name, curve in ilwd_curves.items():
        ax2.plot(positions, curve, marker="o", ms=3, label=name)
    ax2.set(yscale="log", xlabel="in-context examples k", ylabel="ILWD to the model", title="implicit weights")
    ax2.legend(frameon=False, fontsize=8)

    hooks = ["blocks.0.hook_resid_pre"] + [f"blocks.{i}.hook_resid_post" for i in range(cfg.model.n_layer)]
    # Past k = d, where w_OLS is well defined; w_ridge uses the Bayes λ = σ²/τ².
    r2 = probe_model(model, batch.xs, batch.ys, hooks, min_k=min(t.d + 1, t.n_points - 1),
                     ridge_lam=max(t.noise_std, 1e-3) ** 2 / t.prior_std**2)
    for target_name in ("w_ols", "w_ridge", "xty"):
        ax3.plot(range(len(hooks)), [max(r2[h][target_name], -0.5) for h in hooks], marker="o", label=target_name)
    ax3.set(xticks=range(len(hooks)), xticklabels=["embed"] + [f"L{i + 1}" for i in range(cfg.model.n_layer)],
            ylabel="held-out R² (floored at −0.5)", title="linear probes on the residual stream", ylim=(-0.55, 1.02))
    ax3.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig13")
    (out_dir / "fig13.txt").write_text(format_closest_table(rows) + "\n")
    summary = {"closest": [{"k": row["k"], "best": row["best"], "spd": row["spd"]} for row in rows],
               "families": {f: [row["families"][f] for row in rows] for f in rows[0]["families"]},
               "ilwd": ilwd_curves, "ilwd_positions": positions, "probe_r2": r2}
    (out_dir / "fig13.json").write_text(json.dumps(summary, indent=1))
    return written + [out_dir / "fig13.txt", out_dir / "fig13.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
