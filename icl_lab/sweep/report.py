"""Sweep aggregation: one table (CSV + JSON) of every run's final metrics and curves, and a figure.

Works on partial sweeps: runs that have not finished are listed with their state
(missing, running, interrupted, failed with its error) and left out of the figure.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from icl_lab.core.errors import ConfigError
from icl_lab.core.runs import RunDir, atomic_write_bytes, atomic_write_json
from icl_lab.sweep.runner import read_manifest
from icl_lab.sweep.worker import FINISHED

MISSING = "missing"
REPORT = "report"


@dataclass
class RunRecord:
    """One run of the sweep as found on disk."""

    name: str
    params: dict[str, Any]
    seed: int
    state: str
    step: int = 0
    final_loss: float | None = None
    error: str = ""
    d: int | None = None
    curves: dict[str, list[float]] = field(default_factory=dict)  # learner -> per-position mean error

    def error_at(self, learner: str, k: int) -> float | None:
        """The learner's error after k in-context examples (None past the prompt's end)."""
        curve = self.curves.get(learner, [])
        return curve[k] if 0 <= k < len(curve) else None


def collect_run(sweep_dir: Path, entry: dict[str, Any]) -> RunRecord:
    """Read one run directory named in the manifest."""
    record = RunRecord(entry["name"], entry.get("params", {}), entry.get("seed", 0), MISSING)
    run = RunDir(Path(sweep_dir) / entry["name"])
    if not run.exists():
        return record
    status = run.status()
    record.state, record.error = status.get("state", "unknown"), status.get("error", "")
    record.step = status.get("step", 0)
    metrics = _read_jsonl(run.metrics_path)
    if metrics:
        record.step = max(record.step, metrics[-1].get("step", 0))
        record.final_loss = metrics[-1].get("loss")
    if record.state == FINISHED:
        try:
            results = json.loads(run.results_path.read_text())
            if "in_distribution" in results:  # error curves: regression runs; other kinds report states only
                record.d = results["config"]["task"]["d"]
                record.curves = {name: s["mean"] for name, s in results["in_distribution"].items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            record.state, record.error = "unreadable", f"cannot read results.json: {exc}"
    return record


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file, skipping a torn line (a report must not fail on one)."""
    records = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return records
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def collect(sweep_dir: str | Path) -> tuple[dict[str, Any], list[RunRecord]]:
    """The manifest and a record for every run it names, in manifest order."""
    manifest = read_manifest(sweep_dir)
    return manifest, [collect_run(Path(sweep_dir), entry) for entry in manifest["runs"]]


# ----------------------------------------------------------------------------- aggregation


def _mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error over seeds (s.e. 0 for a single seed)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def summarize(records: list[RunRecord], learner: str = "model") -> list[dict[str, Any]]:
    """Per grid point (seeds pooled): mean ± s.e. of the learner's error at k = d and k = 2d."""
    groups: dict[str, list[RunRecord]] = {}
    for rec in records:
        if rec.state == FINISHED and learner in rec.curves:
            groups.setdefault(json.dumps(rec.params, sort_keys=True), []).append(rec)
    rows = []
    for key, group in groups.items():
        row: dict[str, Any] = {"params": json.loads(key), "learner": learner, "n_seeds": len(group)}
        for label, factor in (("k=d", 1), ("k=2d", 2)):
            values = [v for r in group if (v := r.error_at(learner, factor * (r.d or 0))) is not None]
            mean, se = _mean_se(values) if values else (None, None)
            row[f"error_{label}"], row[f"se_{label}"] = mean, se
        rows.append(row)
    return rows


def table_rows(records: list[RunRecord], grid_keys: list[str]) -> list[dict[str, Any]]:
    """One row per (run, learner); unfinished runs get one row with their state and error."""
    rows = []
    for rec in records:
        base = {"run": rec.name, **{k: rec.params.get(k) for k in grid_keys}, "seed": rec.seed,
                "state": rec.state, "step": rec.step, "final_loss": rec.final_loss, "error": rec.error}
        if not rec.curves:
            rows.append({**base, "learner": ""})
            continue
        for learner, curve in rec.curves.items():
            row = {**base, "learner": learner, "error_k=d": rec.error_at(learner, rec.d or 0),
                   "error_k=2d": rec.error_at(learner, 2 * (rec.d or 0))}
            row.update({f"k{k}": v for k, v in enumerate(curve)})
            rows.append(row)
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV with the union of the rows' columns, in first-seen order (curves may differ in length)."""
    columns = list(dict.fromkeys(col for row in rows for col in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else ("" if v is None else v)
                         for k, v in row.items()})
    return buffer.getvalue()


# ----------------------------------------------------------------------------- figure


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_summary(summary: list[dict[str, Any]], x_key: str | None, out_base: Path, title: str = "") -> list[Path]:
    """Error at k = d and k = 2d against ``x_key``, one line per value of the other grid keys."""
    import matplotlib.pyplot as plt

    from icl_lab.figures.plotting import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    xs_all = [row["params"].get(x_key) for row in summary] if x_key else ["all runs"]
    numeric = bool(x_key) and _numeric(xs_all)
    categories = list(dict.fromkeys(map(str, xs_all)))
    lines: dict[str, list[dict[str, Any]]] = {}
    for row in summary:
        others = {k: v for k, v in row["params"].items() if k != x_key}
        lines.setdefault(", ".join(f"{k}={v}" for k, v in others.items()) or "model", []).append(row)
    for ax, label in zip(axes, ("k=d", "k=2d")):
        for line_label, rows in lines.items():
            rows = [r for r in rows if r[f"error_{label}"] is not None]
            x = [r["params"].get(x_key) if x_key else "all runs" for r in rows]
            if not numeric:
                x = [categories.index(str(v)) for v in x]
            order = sorted(range(len(rows)), key=lambda i: x[i])
            ax.errorbar([x[i] for i in order], [rows[i][f"error_{label}"] for i in order],
                        yerr=[rows[i][f"se_{label}"] for i in order], marker="o", capsize=3, label=line_label)
        if numeric and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 50:
            ax.set_xscale("log", base=2)  # pool sizes, widths, lengths: doublings
        if not numeric:
            ax.set_xticks(range(len(categories)), categories)
        ax.set(xlabel=x_key or "", title=f"{title} error at {label}".strip())
        ax.set_ylim(bottom=0)
        ax.axhline(1.0, color="grey", lw=0.6)
    axes[0].set_ylabel("squared error / Var(y) (mean ± s.e. over seeds)")
    axes[1].legend(frameon=False, fontsize=8)
    return save_figure(fig, out_base)


# ----------------------------------------------------------------------------- entry point


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def write_report(sweep_dir: str | Path, out_dir: str | Path | None = None, x_key: str | None = None,
                 learner: str = "model") -> dict[str, Any]:
    """Write ``report.csv``, ``report.json`` and ``report.png/.pdf`` for a (possibly partial) sweep.

    Returns the JSON report, plus ``"paths"``: the files written. ``x_key`` defaults to
    the first ``--grid`` key; ``learner`` is the curve drawn (``model`` or a baseline).
    """
    sweep_dir = Path(sweep_dir)
    out_dir = Path(out_dir) if out_dir is not None else sweep_dir
    manifest, records = collect(sweep_dir)  # refuses a folder that is not a sweep, before writing
    grid_keys = list(manifest.get("grid", {}))
    if x_key is not None and x_key not in grid_keys:
        raise ConfigError(f"invalid --x {x_key!r}: expected one of the grid keys {grid_keys}")
    learners = sorted({name for rec in records for name in rec.curves})
    if learners and learner not in learners:
        raise ConfigError(f"invalid --learner {learner!r}: the finished runs have curves for {', '.join(learners)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    x_key = x_key or (grid_keys[0] if grid_keys else None)
    states: dict[str, int] = {}
    for rec in records:
        states[rec.state] = states.get(rec.state, 0) + 1
    summary = summarize(records, learner)
    report = _clean({
        "sweep_dir": str(sweep_dir), "experiment": manifest.get("experiment"), "preset": manifest.get("preset"),
        "grid": manifest.get("grid", {}), "seeds": manifest.get("seeds", []), "x": x_key, "states": states,
        "complete": states.get(FINISHED, 0) == len(records),
        "missing": [r.name for r in records if r.state == MISSING],
        "unfinished": [r.name for r in records if r.state not in (FINISHED, MISSING)],
        "failed": [{"run": r.name, "error": r.error} for r in records if r.state == "failed"],
        "summary": summary, "runs": [asdict(r) for r in records],
    })
    base = out_dir / REPORT
    atomic_write_bytes(base.with_suffix(".csv"), to_csv(table_rows(records, grid_keys)).encode())
    atomic_write_json(base.with_suffix(".json"), report)
    paths = [base.with_suffix(".csv"), base.with_suffix(".json")]
    if summary:
        paths += plot_summary(summary, x_key, base, title=learner)
    report["paths"] = [str(p) for p in paths]
    return report
