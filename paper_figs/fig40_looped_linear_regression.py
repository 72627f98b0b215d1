"""Yang et al. 2024: a looped 1-block transformer vs the standard model on linear regression.

Left: error against the number of in-context examples for the looped model at its trained
b iterations and at 10b, the standard (multi-layer) transformer and the baselines, all on
the same held-out prompts. Right: error against the loop iteration, up to 20b, at a few
prompt lengths — a stable fixed point keeps the error flat far past b.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.evaluation.regression import eval_batch, evaluate_learners, model_learner
from icl_lab.figures.plotting import plot_error_curves, save_figure
from icl_lab.models.looped import iteration_errors, looped_learner
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run


def compare(looped_name: str, preset: str, out_dir: Path, stem: str, title: str,
            standard_overrides: list[str] | None = None, standard_name: str | None = None) -> list[Path]:
    """Train (or reuse) a looped run and the matching standard run; draw and write ``stem``.png/.pdf/.json."""
    out_dir = Path(out_dir)
    cfg = experiment_config(looped_name, preset)
    std_cfg = experiment_config("linear_regression", preset, standard_overrides)
    if standard_name:  # its own run directory, so it never overwrites the linear-regression run
        std_cfg = dataclasses.replace(std_cfg, name=standard_name)
    if std_cfg.task != cfg.task:
        raise ValueError(f"the standard model's task {std_cfg.task} differs from the looped one's {cfg.task}")
    run_dir, results = trained_run(cfg, out_dir)
    std_dir, _ = trained_run(std_cfg, out_dir)
    _, looped = load_trained_model(run_dir)
    _, standard = load_trained_model(std_dir)
    b = cfg.model.n_loops
    batch = eval_batch(cfg)
    curves = {f"looped, b = {b}": results["in_distribution"].pop("model")}
    extra = evaluate_learners({f"looped, {10 * b} iterations": looped_learner(looped, 10 * b),
                               "standard transformer": model_learner(standard)},
                              batch, cfg.eval.bootstrap, cfg.eval.seed)
    curves.update(extra)
    curves.update(results["in_distribution"])
    n_iter = 20 * b
    per_iter = iteration_errors(looped, batch.xs, batch.ys, batch.y_var, n_iter).mean(1)  # [iters, N]
    n = batch.xs.shape[1]
    ks = sorted({min(k, n - 1) for k in (cfg.task.d // 2, cfg.task.d, 2 * cfg.task.d, n - 1)})

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    plot_error_curves(curves, title=f"{title} (d = {cfg.task.d}, {preset})", d=cfg.task.d, ax=ax1)
    for k in ks:
        ax2.plot(range(1, n_iter + 1), per_iter[:, k].numpy(), label=f"k = {k}")
    for x, text in ((b, "b"), (10 * b, "10b")):
        ax2.axvline(x, color="grey", ls=":", lw=1)
        ax2.text(x * 1.08, 0.97, text, transform=ax2.get_xaxis_transform(), ha="left", va="top", fontsize=8)
    ax2.set(xscale="log", yscale="log", xlabel="loop iteration t", ylabel="squared error / Var(y)",
            title=f"looped: {looped.num_parameters():,} params; standard: {standard.num_parameters():,}")
    ax2.legend(frameon=False, fontsize=8)
    written = save_figure(fig, out_dir / stem)

    at = lambda s: {str(k): s["mean"][k] for k in ks}  # noqa: E731
    summary = {"b": b, "T": cfg.model.loop_grad_iters, "params_looped": looped.num_parameters(),
               "params_standard": standard.num_parameters(),
               "error_at_k": {name: at(s) for name, s in curves.items()},
               "mean_error_k_ge_1": {name: sum(s["mean"][1:]) / (n - 1) for name, s in curves.items()},
               "iteration_curve": {str(k): per_iter[:, k].tolist() for k in ks},
               "curves": {name: s["mean"] for name, s in curves.items()}}
    (out_dir / f"{stem}.json").write_text(json.dumps(summary, indent=1))
    return written + [out_dir / f"{stem}.json"]


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig40_looped_linear_regression")) -> list[Path]:
    """Looped vs standard on linear regression; error against loop iteration up to 20b."""
    return compare("looped_linear_regression", preset, out_dir, "fig40", "Looped vs standard, linear regression")


if __name__ == "__main__":
    import typer

    typer.run(main)
