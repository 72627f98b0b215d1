"""Akyürek et al. 2023 (Akyürek et al. 2023, arXiv:2211.15661; von Oswald et al. 2023, arXiv:2212.07677): depth moves the learned algorithm from GD toward ridge and OLS.

Models of depth 1, 2, 4 and 8 are trained on the same noisy linear regression
(``experiments/which_algorithm.toml``); for each, the squared prediction difference (SPD / d)
to the best member of each candidate family — one GD step from w = 0 (step tuned per k),
ridge (λ tuned per k), OLS, and the Bayes posterior mean (ridge with λ = σ²/τ²) — is drawn
against k, and the median over k ≥ 1 against depth.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.evaluation.probes import candidate_predictions, closest_algorithm_table
from icl_lab.evaluation.regression import eval_batch, model_learner
from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run

DEPTHS = (1, 2, 4, 8)
FAMILIES = ("gd", "ridge", "least_squares", "bayes")
LABELS = {"gd": "GD, 1 step (tuned η)", "ridge": "ridge (tuned λ)", "least_squares": "OLS", "bayes": "Bayes (ridge λ=σ²/τ²)"}


def depth_distances(preset: str, out_dir: Path, depth: int) -> dict:
    """Train (or reuse) the depth-``depth`` model; per-k SPD / d of each family's best member."""
    cfg = experiment_config("which_algorithm", preset, [f"model.n_layer={depth}"])
    run_dir, _ = trained_run(cfg, out_dir, tag=f"L{depth}")
    _, model = load_trained_model(run_dir)
    batch = eval_batch(cfg)
    target = model_learner(model.cpu())(batch.xs, batch.ys)
    cands = candidate_predictions(batch.xs, batch.ys, noise_std=cfg.task.noise_std, prior_std=cfg.task.prior_std)
    rows = closest_algorithm_table(target, cands, normalizer=cfg.task.d)
    return {"k": [row["k"] for row in rows], "best": [row["best"] for row in rows],
            "families": {f: [row["families"][f]["spd"] for row in rows] for f in FAMILIES}, "d": cfg.task.d}


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig15_which_algorithm_depth")) -> list[Path]:
    """Train the four depths (reused when already trained) and draw SPD to each family."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    depths = DEPTHS[:2] if preset == "smoke" else DEPTHS
    results = {depth: depth_distances(preset, out_dir, depth) for depth in depths}
    fig, axes = plt.subplots(1, len(depths) + 1, figsize=(3.6 * (len(depths) + 1), 3.6))
    for ax, (depth, res) in zip(axes, results.items()):
        for fam in FAMILIES:
            ax.plot(res["k"][1:], res["families"][fam][1:], marker="o", ms=3, label=LABELS[fam])
        ax.set(yscale="log", xlabel="in-context examples k", title=f"{depth} layer{'s' if depth > 1 else ''}")
        ax.axvline(res["d"], color="grey", lw=0.8, ls=":")
        ax.set_ylim(top=10.0)  # OLS spikes to ~1e5 at k = d (noisy labels, an ill-posed fit): cut there
    axes[0].set_ylabel("SPD / d to the model")
    axes[0].legend(frameon=False, fontsize=7)
    # median over k: OLS is erratic near k = d (SPD ~1e4 there), which would swamp a mean
    summary = {fam: [float(np.median(res["families"][fam][1:])) for res in results.values()] for fam in FAMILIES}
    for fam in FAMILIES:
        axes[-1].plot(list(results), summary[fam], marker="o", label=LABELS[fam])
    axes[-1].set(xscale="log", yscale="log", xticks=list(results), xticklabels=[str(d) for d in results],
                 xlabel="model depth (layers)", ylabel="median SPD / d over k ≥ 1", title=f"which algorithm? ({preset})")
    axes[-1].minorticks_off()
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig15")
    closest = {depth: min(FAMILIES, key=lambda f: summary[f][i]) for i, depth in enumerate(results)}
    (out_dir / "fig15.json").write_text(json.dumps({"depths": list(results), "median_spd": summary,
                                                    "closest_family": closest, "per_depth": results}, indent=1))
    return written + [out_dir / "fig15.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
