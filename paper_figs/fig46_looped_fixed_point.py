"""The looped model's fixed point over seeds, with AlgoFormer (Yang et al. 2024, Fig. 5; Gao et al. 2024).

Error against the loop iteration t = 1 … 20b on linear regression for three seeds of the
looped model (one block with input injection, trained with b iterations and the loss over the
last T) and for AlgoFormer (a pre-transformer, the looped block, a post-transformer; same
training; one seed). Left: the error averaged over k ≥ 1; right: at k = d (the interpolation threshold,
where least squares is worst) and k = 2d. A model at a stable fixed point keeps its error flat
far past the b iterations it was trained with.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.evaluation.regression import eval_batch
from icl_lab.figures.claims import AtMost
from icl_lab.models.looped import iteration_errors
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run
from paper_figs.fig40_looped_linear_regression import iteration_grid

PAPER = ("Yang, Lee, Nowak, Papailiopoulos 2024 (arXiv:2311.12424), Fig. 5 (error past the trained b); "
         "Gao, Zheng, Tang, Zhang 2024 (arXiv:2402.13572) (AlgoFormer)")
MODELS = {"looped": "looped_linear_regression", "algoformer": "algoformer_linear_regression"}
SEEDS = {"looped": (0, 1, 2), "algoformer": (0,)}  # seed 0 of the looped model is fig40's run
MULTIPLES = (5, 10, 20)  # the claims compare the error at 5b, 10b and 20b with the error at b
ITERATION_MULTIPLE = 20


def drift(results: dict, model: str, curve: str) -> float:
    """max over seeds and t ∈ {5b, 10b, 20b} of |error(t) / error(b) − 1| for ``curve`` ("mean_k" or a k)."""
    worst = 0.0
    for run in results["models"][model]["seeds"].values():
        at = run["at_multiple"][curve]
        worst = max(worst, *(abs(at[str(m)] / at["1"] - 1) for m in MULTIPLES))
    return worst


CLAIMS = (
    AtMost("Stable fixed point (looped, every seed): averaged over k ≥ 1, the error at 5b, 10b and 20b iterations "
           "is within 20% of the error at the trained b", lambda r: drift(r, "looped", "mean_k"),
           paper_value="flat for hundreds of iterations past b = 30 (Yang et al. Fig. 5)", bound=0.2),
    AtMost("Stable fixed point at every k (looped, every seed): at k = d and k = 2d, the error at 5b, 10b and "
           "20b iterations is within 20% of the error at b",
           lambda r: max(drift(r, "looped", str(r["d"])), drift(r, "looped", str(2 * r["d"]))),
           paper_value="flat for hundreds of iterations past b = 30 (Yang et al. Fig. 5)", bound=0.2),
    AtMost("AlgoFormer also holds its fixed point (one seed): averaged over k ≥ 1, within 20% of its error at b "
           "up to 20b",
           lambda r: drift(r, "algoformer", "mean_k"),
           paper_value="AlgoFormer is looped like Yang et al.'s model (Gao et al. 2024)", bound=0.2),
)


def seed_curves(name: str, preset: str, runs: Path, seed: int) -> tuple[dict, dict]:
    """Train (or reuse) seed ``seed`` of experiment ``name``; its error by iteration up to 20b."""
    cfg = experiment_config(name, preset, [f"train.seed={seed}"] if seed else None)
    run_dir, _ = trained_run(cfg, runs, tag=f"seed{seed}" if seed else "")  # seed 0 is fig40's run
    _, model = load_trained_model(run_dir)
    b, batch = cfg.model.n_loops, eval_batch(cfg)
    per_iter = iteration_errors(model, batch.xs, batch.ys, batch.y_var, ITERATION_MULTIPLE * b).mean(1).double()
    d = cfg.task.d
    curves = {"mean_k": per_iter[:, 1:].mean(1), str(d): per_iter[:, d], str(2 * d): per_iter[:, 2 * d]}
    rows = [t - 1 for t in iteration_grid(ITERATION_MULTIPLE * b, b)]
    run = {"params": model.num_parameters(),
           "curves": {c: v[rows].tolist() for c, v in curves.items()},
           "at_multiple": {c: {str(m): float(v[m * b - 1]) for m in (1, *MULTIPLES)} for c, v in curves.items()}}
    meta = {"d": d, "b": b, "T": cfg.model.loop_grad_iters, "t": iteration_grid(ITERATION_MULTIPLE * b, b)}
    return run, meta


def compute(preset: str, runs: Path) -> dict:
    out: dict = {"models": {}}
    for model, name in MODELS.items():
        per_seed = {}
        for seed in SEEDS[model][:2] if preset == "smoke" else SEEDS[model]:
            per_seed[str(seed)], meta = seed_curves(name, preset, runs, seed)
        out["models"][model] = {"seeds": per_seed, "b": meta["b"], "T": meta["T"]}
        out.update(d=meta["d"], t=meta["t"])
    return out


def draw(results: dict, preset: str) -> plt.Figure:
    d, t = results["d"], results["t"]
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8), sharex=True)
    colours = {"looped": "tab:blue", "algoformer": "tab:orange"}
    for ax, curve, title in zip(axes, ("mean_k", str(d), str(2 * d)),
                                ("mean over k ≥ 1", f"k = d = {d}", f"k = 2d = {2 * d}")):
        for model, entry in results["models"].items():
            for i, (seed, run) in enumerate(entry["seeds"].items()):
                label = f"{model} ({run['params']:,} params)" if i == 0 else None
                ax.plot(t, run["curves"][curve], color=colours[model], alpha=0.8, lw=1.4, label=label)
        b = next(iter(results["models"].values()))["b"]
        for m, text in ((1, "b"), (10, "10b")):
            ax.axvline(m * b, color="grey", ls=":", lw=1)
            ax.text(m * b * 1.08, 0.97, text, transform=ax.get_xaxis_transform(), ha="left", va="top", fontsize=9)
        ax.set(xscale="log", yscale="log", xlabel="loop iteration t", title=title)
    axes[0].set_ylabel("squared error / Var(y)")
    axes[0].legend(frameon=False, fontsize=8, title=f"one line per seed ({preset})")
    entry = results["models"]["looped"]
    fig.suptitle(f"Error against loop iteration, linear regression d = {d}: trained b = {entry['b']}, "
                 f"T = {entry['T']}, run to {ITERATION_MULTIPLE}b", y=1.0)
    fig.tight_layout()
    return fig
