"""Tables and figures of a trained-vs-compiled comparison (:mod:`icl_lab.pipelines.rasp_compare`):
the agreement and head-overlap tables (CSV, markdown), the attention figure (compiled heads
above the trained ones on one input) and the agreement-against-length figure."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from icl_lab.tasks.algorithmic import AlgorithmicTask

if TYPE_CHECKING:
    from icl_lab.pipelines.rasp_compare import Comparison

AGREEMENT_COLUMNS = ["n", "factor", "examples", "positions", "trained_vs_compiled",
                     "trained_vs_reference", "compiled_vs_reference", "trained_exact",
                     "compiled_exact"]
HEAD_COLUMNS = ["n", "factor", "compiled_head", "trained_head", "overlap", "best_trained_head",
                "best_overlap", "sep_trained_head", "sep_overlap"]


def last_training_query(task: AlgorithmicTask, train_length: int) -> int:
    """Position of the last answer-predicting query of a size-L example (the figures' boundary)."""
    prompt, answer = task.sample(train_length, np.random.default_rng(0))
    return len(prompt) + len(answer) - 2


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_tables(result: Comparison, out_dir: Path, stem: str) -> list[Path]:
    """``<stem>.csv`` / ``.md`` (agreement) and ``<stem>_heads.csv`` (attention overlap)."""
    paths = []
    for name, rows, columns in ((stem, result.rows, AGREEMENT_COLUMNS),
                                (f"{stem}_heads", result.heads, HEAD_COLUMNS)):
        path = out_dir / f"{name}.csv"
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        paths.append(path)
    md = out_dir / f"{stem}.md"
    md.write_text(
        f"# Compiled vs trained `{result.task}` (trained on sizes 1..{result.train_length})\n\n"
        "Teacher-forced next-token predictions of every answer token; `*_vs_*`: fraction of "
        "answer positions where two agree (`reference`: the true answer); `*_exact`: fraction "
        "of examples with every answer token right (= greedy exact match). "
        f"Trained run: `{result.run_dir}`.\n\n" + result.table() +
        "\nAttention: overlap (sum of min, 1 = identical rows) of each compiled head with the "
        "trained head that matches it best at L (`trained_head`), and with the best one at each "
        "size (`best_*`), over the answer-predicting queries from SEP on (mode: SEP only); `sep_*`: the best trained head at the SEP "
        "query alone (for count, where `two_back` fetches the start; elsewhere the compiled MLP "
        "ignores `two_back`, so a trained model need not copy that head there).\n\n" +
        markdown_table(result.heads, HEAD_COLUMNS))
    return paths + [md]


def _heat(ax: Any, pattern: np.ndarray, title: str, boundary: int) -> None:
    ax.imshow(pattern, vmin=0.0, vmax=1.0, cmap="Blues")
    ax.axhline(boundary + 0.5, color="tab:red", ls=":", lw=0.8)  # longest training query
    ax.set_title(title, fontsize=8)


def plot_attention(result: Comparison, task: AlgorithmicTask, shown: dict[str, Any],
                   out_base: Path) -> list[Path]:
    """Compiled heads (top row) above the trained heads (one row per layer) on one input."""
    import matplotlib.pyplot as plt

    from icl_lab.figures.plotting import save_figure

    prompt, answer = result.example
    labels = task.show(prompt + answer[:-1]).split()
    layers = sorted({h[:h.index("H")] for h in result.trained_heads})
    n_head = len(result.trained_heads) // len(layers)
    cols = max(n_head, len(result.compiled_heads))
    fig, axes = plt.subplots(1 + len(layers), cols, figsize=(2.9 * cols, 3.0 * (1 + len(layers))),
                             squeeze=False, sharex=True, sharey=True)
    boundary = last_training_query(task, result.train_length)
    anchor = min(result.overlaps, key=lambda n: abs(n - result.train_length))
    n = len(answer) - 1
    for c, name in enumerate(result.compiled_heads):
        _heat(axes[0, c], shown["compiled_patterns"][0, c].numpy(), f"compiled: {name}", boundary)
    for c in range(len(result.compiled_heads), cols):
        axes[0, c].axis("off")
    for t, name in enumerate(result.trained_heads):
        row, col = 1 + t // n_head, t % n_head
        c_best = int(result.overlaps[anchor][:, t].argmax())
        title = (f"trained {name}: ~{result.compiled_heads[c_best]} "
                 f"{result.overlaps[anchor][c_best, t]:.2f}@L, {result.overlaps[n][c_best, t]:.2f}"
                 f"@{n / result.train_length:g}L" if n in result.overlaps else f"trained {name}")
        _heat(axes[row, col], shown["trained_patterns"][0, t].numpy(), title, boundary)
    for t in range(len(result.trained_heads), n_head * len(layers)):
        axes[1 + t // n_head, t % n_head].axis("off")
    ticks = range(len(labels))  # token labels on the outer panels only (shared axes)
    for ax in axes[-1]:
        ax.set_xticks(ticks, labels, fontsize=5, rotation=90)
    for ax in axes[:, 0]:
        ax.set_yticks(ticks, labels, fontsize=5)
    for ax in axes.flat:
        ax.label_outer()
    fig.suptitle(f"{result.task}, size {n} = {n / result.train_length:g}L (trained on 1..{result.train_length}):"
                 " compiled RASP heads (top) vs trained heads (rows: layers). Rows: queries, "
                 "columns: keys; dotted: last query of a size-L example", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_base)


def plot_agreement(result: Comparison, out_base: Path) -> list[Path]:
    """(a) agreement against size / L; (b) trained accuracy per answer index; (c) overlap
    of each compiled head with its best trained head (chosen at L) against size / L."""
    import matplotlib.pyplot as plt

    from icl_lab.figures.plotting import save_figure

    L = result.train_length
    x = [r["n"] / L for r in result.rows]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9))
    ax = axes[0]
    for key, label, style in (("trained_vs_compiled", "trained vs compiled", "-o"),
                              ("trained_vs_reference", "trained vs reference", "--s"),
                              ("compiled_vs_reference", "compiled vs reference", "-^"),
                              ("trained_exact", "trained exact match (whole answer)", ":o")):
        ax.plot(x, [r[key] for r in result.rows], style, label=label, ms=4)
    ax.set_xlabel("test size / training length L")
    ax.set_ylabel("agreement (answer positions)")
    ax.set_title("(a) per-position agreement")
    ax.legend(fontsize=7)
    ax = axes[1]
    for n, acc in result.by_position.items():
        ax.plot(range(len(acc)), acc, "-", marker=".", ms=3, label=f"n={n} ({n / L:g}L)")
    ax.axvline(L + 0.5, color="0.4", ls=":", lw=1)
    ax.text(L + 0.7, 0.03, "answer indices\nbeyond training", fontsize=7, color="0.4")
    ax.set_xlabel("answer index k (k = n: EOS)")
    ax.set_ylabel("trained = reference")
    ax.set_title("(b) trained model along the answer")
    ax.legend(fontsize=6)
    ax = axes[2]
    for cname in result.compiled_heads:
        rows = [h for h in result.heads if h["compiled_head"] == cname]
        ax.plot([h["n"] / L for h in rows], [h["overlap"] for h in rows], "-o", ms=4,
                label=f"{cname} ~ trained {rows[0]['trained_head']}")
    ax.set_xlabel("test size / training length L")
    ax.set_ylabel("attention overlap (1 = same rows)")
    ax.set_title("(c) compiled head vs best trained head (at L)")
    ax.legend(fontsize=7)
    for ax in (axes[0], axes[2]):
        ax.axvspan(0, 1, color="0.93", zorder=0)
        ax.set_xlim(min(min(x), 1.0) - 0.1, max(x) + 0.1)
    for ax in axes:
        ax.set_ylim(-0.03, 1.03)
    fig.suptitle(f"Compiled RASP {result.task} vs a TokenLM trained on sizes 1..{L} (teacher-forced, "
                 f"{result.rows[0]['examples']} examples per size)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_base)


__all__ = ["AGREEMENT_COLUMNS", "HEAD_COLUMNS", "last_training_query", "markdown_table", "plot_agreement",
           "plot_attention", "write_tables"]
