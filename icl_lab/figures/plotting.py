"""Figures: error against the number of in-context examples, saved as PNG and PDF."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt  # the backend is the caller's: Agg for the CLI, inline in notebooks
import seaborn as sns

_UMASK = os.umask(0)
os.umask(_UMASK)

PRETTY = {
    "model": "transformer",
    "least_squares": "least squares",
    "ridge": "ridge",
    "bayes": "Bayes (posterior mean)",
    "averaging": "averaging",
    "knn": "k-nearest neighbours",
    "lasso": "Lasso",
    "gd": "gradient descent",
    "zero": "zero",
    "two_layer_net": "2-layer net (GD)",
    "decision_tree": "decision tree",
    "gradient_boosting": "gradient boosting",
    "dmmse": "dMMSE (pool posterior mean)",
    "sparse_bayes": "sparse-linear Bayes",
    "dense_bayes": "dense-linear Bayes",
    "feature_ols": "least squares (feature basis)",
    "feature_ridge": "ridge (feature basis)",
}


def _atomic_savefig(fig: plt.Figure, target: Path, dpi: int, palette: bool = False) -> Path:
    """Save ``fig`` to ``target`` via a temp file and rename, so no reader sees half an image;
    ``palette``: a 256-colour PNG (a third of the bytes, no visible loss on line plots)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    ext = target.suffix.lstrip(".")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".{ext}")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=ext)
        if palette:
            from PIL import Image  # matplotlib's own dependency

            with Image.open(tmp) as image:
                image.convert("RGB").quantize(colors=256).save(tmp, format="PNG", optimize=True)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; figures get the usual mode
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def save_figure(fig: plt.Figure, out_base: str | Path) -> list[Path]:
    """Write ``out_base``.png and .pdf atomically, then close the figure."""
    out_base = Path(out_base)
    written = [_atomic_savefig(fig, out_base.with_suffix(f".{ext}"), 150) for ext in ("png", "pdf")]
    plt.close(fig)
    return written


def save_png(fig: plt.Figure, path: str | Path, dpi: int = 80) -> Path:
    """Write one palette PNG atomically (small enough for a README at ``dpi`` 80); the caller closes ``fig``."""
    return _atomic_savefig(fig, Path(path), dpi, palette=True)


def plot_error_curves(results: dict[str, dict[str, list[float]]], out_base: str | Path | None = None,
                      title: str = "", d: int | None = None, ax: plt.Axes | None = None,
                      ymax: float = 1.25) -> plt.Figure:
    """Normalised squared error (mean and band) against the number of in-context examples."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    palette = sns.color_palette("colorblind", n_colors=max(3, len(results)))
    for i, (name, s) in enumerate(results.items()):
        k = range(len(s["mean"]))
        is_model = name == "model"
        color = "black" if is_model else palette[i % len(palette)]
        ax.plot(k, s["mean"], label=PRETTY.get(name, name), color=color, lw=2.5 if is_model else 1.5,
                ls="-" if is_model else "--")
        if "lo" in s:
            ax.fill_between(k, s["lo"], s["hi"], color=color, alpha=0.15, lw=0)
    if d is not None:
        ax.axvline(d, color="grey", lw=0.8, ls=":")
    ax.axhline(1.0, color="grey", lw=0.6)
    ax.set(xlabel="in-context examples k", ylabel="squared error / Var(y)", ylim=(0, ymax), title=title)
    ax.legend(frameon=False, fontsize=8)
    if out_base is not None:
        save_figure(fig, out_base)
    return fig
