"""Which learning algorithm is in-context learning? SPD and implicit weights (Akyürek et al. 2023; von Oswald et al. 2023).

(a) Squared prediction difference (SPD, divided by d) between the trained model and each
candidate family — GD from w = 0 (step tuned per k over a grid), ridge (λ tuned over a grid),
OLS and the Bayes posterior mean — against k; circles mark the closest candidate per k.
(b) Implicit linear weight difference (ILWD) between the model and OLS, Bayes and the best
single GD step, from linear fits to predictions on 2d probe inputs. The probes of the
residual stream are fig16's.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch

from icl_lab.baselines import regression as r
from icl_lab.evaluation.probes import (
    candidate_predictions,
    closest_algorithm_table,
    ilwd,
    plot_closest_algorithm,
    spd,
)
from icl_lab.evaluation.regression import eval_batch, model_learner
from icl_lab.figures.claims import AtLeast
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run

PAPER = ("Akyürek, Schuurmans, Andreas, Ma, Zhou 2023 (arXiv:2211.15661); von Oswald et al. 2023 "
         "(arXiv:2212.07677): SPD / ILWD to candidate algorithms")
ILWD_PROMPTS = 64  # ILWD runs the model on prompts × positions × 2d probe prompts


def _spd_margin(results: dict) -> float:
    """At k = 2d: SPD/d to the closer of OLS and the tuned GD step, minus SPD/d to Bayes (> 0: Bayes closest)."""
    k, fam = 2 * results["d"], results["families"]
    return min(fam["gd"][k], fam["least_squares"][k]) - fam["bayes"][k]


def _ilwd_margin(results: dict) -> float:
    """At k = 2d: ILWD to the closer of OLS and the best GD step, minus ILWD to Bayes (> 0: Bayes closest)."""
    i = results["ilwd_positions"].index(2 * results["d"])
    curves = results["ilwd"]
    return min(curves["least_squares"][i], curves[results["gd_name"]][i]) - curves["bayes"][i]


CLAIMS = (
    AtLeast("At k = 2d the model is closer to Bayes (ridge, λ = σ²/τ²) than to OLS and to the best single GD "
            "step: SPD/d to the closer of those minus SPD/d to Bayes ≥ 0",
            _spd_margin, paper_value="with noise the model matches ridge with λ = σ²/τ² (the Bayes predictor)",
            bound=0.0),
    AtLeast("At k = 2d the model's implicit linear weights are closer to Bayes than to OLS and to the best GD "
            "step: ILWD to the closer of those minus ILWD to Bayes ≥ 0",
            _ilwd_margin, paper_value="ILWD smallest to the Bayes / ridge predictor", bound=0.0),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) the noisy linear-regression run of ``preset``; SPD per family and ILWD."""
    cfg = experiment_config("which_algorithm", preset)
    run_dir, _ = trained_run(cfg, runs)
    _, model = load_trained_model(run_dir)
    model = model.cpu()
    t, batch = cfg.task, eval_batch(cfg)
    learner = model_learner(model)
    target = learner(batch.xs, batch.ys)
    cands = candidate_predictions(batch.xs, batch.ys, noise_std=t.noise_std, prior_std=t.prior_std)
    rows = closest_algorithm_table(target, cands, normalizer=t.d)

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

    return {"d": t.d, "noise_std": t.noise_std, "n_layer": cfg.model.n_layer,
            "closest": {"k": [row["k"] for row in rows], "best": [row["best"] for row in rows],
                        "spd": [row["spd"] for row in rows]},
            "families": {f: [row["families"][f]["spd"] for row in rows] for f in rows[0]["families"]},
            "gd_name": gd_name, "ilwd": ilwd_curves, "ilwd_positions": positions}


def draw(results: dict, preset: str) -> plt.Figure:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    c = results["closest"]
    rows = [{"k": k, "best": best, "spd": s, "families": {f: {"spd": v[i]} for f, v in results["families"].items()}}
            for i, (k, best, s) in enumerate(zip(c["k"], c["best"], c["spd"]))]
    plot_closest_algorithm(rows, ax=ax1, title=f"SPD / d to the model (d = {results['d']}, σ = {results['noise_std']}, "
                                              f"{preset})")
    ax1.axvline(2 * results["d"], color="grey", lw=0.8, ls=":")
    positions = results["ilwd_positions"]
    for name, curve in results["ilwd"].items():
        ax2.plot(positions, curve, marker="o", ms=3, label=name)
    ax2.axvline(2 * results["d"], color="grey", lw=0.8, ls=":")
    ax2.set(yscale="log", xlabel="in-context examples k", ylabel="ILWD to the model", title="implicit weights")
    ax2.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
