"""Length-generalization experiments: train on sizes <= L, test exact match up to 3L.

For every task and seed: train a :class:`~icl_lab.models.token_lm.TokenLM` on sizes
``1..L`` (every position trained through random offsets), decode greedily at sizes
``f * L`` for ``f`` in ``test_factors`` and record exact match and the "did not stop"
rate (no EOS within the answer's length + ``gen_slack`` tokens). The table puts each
task's RASP-L verdict next to the measured generalization (Zhou et al. 2024), and task
hinting (Awasthi & Gupta) is the same experiment with tasks ``sort_unique`` and
``sort_unique+successor`` tested at 5L.

Layout of an output directory::

    <task>/seed<k>/   a token run (config.json, metrics.jsonl, checkpoint.pt) + results.json
    results.json      config, per-task verdicts, per-seed and mean curves, wall times
    table.md / table.csv
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import math
import multiprocessing
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from icl_lab.core.config_files import coerce_value, expect_kind, read_experiment
from icl_lab.core.errors import ConfigError, check
from icl_lab.core.runs import RunDir, atomic_write_bytes, atomic_write_json, log_line
from icl_lab.models.token_lm import TokenLM, TokenLMConfig, generate
from icl_lab.tasks.algorithmic import (
    EOS,
    PAD,
    TASKS,
    AlgorithmicTask,
    evaluation_examples,
    make_task,
    training_batch,
)
from icl_lab.training.config import TrainConfig
from icl_lab.training.tokens import train_tokens

# Keys a per-task override may change (e.g. count trained to 60 in the paper preset).
OVERRIDE_KEYS = ("train_length", "test_factors", "table_factors", "n_embd", "n_layer", "n_head",
                 "steps", "batch_size", "lr", "warmup_steps")

KIND = "length_generalization"  # experiment files with kind = "length_generalization" run here


@dataclass(frozen=True)
class LengthGenConfig:
    """One length-generalization experiment (see experiments/length_generalization.toml)."""

    name: str = "length_generalization"
    preset: str = ""
    kind: str = KIND  # the pipeline (checked, so a record of another kind is not run here)
    tasks: tuple[str, ...] = ("count", "parity")
    seeds: tuple[int, ...] = (0,)
    train_length: int = 10
    test_factors: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    table_factors: tuple[float, ...] = (1.0, 2.0, 3.0)
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_eval: int = 200  # examples per test size and seed
    eval_seed: int = 12345
    eval_batch_size: int = 200
    gen_slack: int = 4  # tokens beyond the answer's length before "did not stop"
    cpu_threads: int = 1  # tiny models: extra intra-op threads only spin on shared cores
    workers: int = 1  # (task, seed) models trained at once, each in its own process (cpu_threads each)
    train: TrainConfig = field(default_factory=TrainConfig.for_tokens)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check(self.kind == KIND, "kind", self.kind, f"{KIND!r} for this pipeline")
        check(all(0 <= s < 2**32 for s in self.seeds), "seeds", list(self.seeds), "integers in [0, 2^32)")
        check(0 <= self.eval_seed < 2**32, "eval_seed", self.eval_seed, "an integer in [0, 2^32)")
        check(1 <= self.train_length <= 10_000, "train_length", self.train_length, "an integer in [1, 10000]")
        for task in self.tasks:
            if task not in TASKS:
                raise ConfigError(f"invalid tasks entry {task!r}: expected names from {', '.join(TASKS)}")
        for task, over in self.overrides.items():
            bad = sorted(set(over) - set(OVERRIDE_KEYS))
            if task not in TASKS or bad:
                raise ConfigError(f"invalid overrides.{task}{'.' + bad[0] if bad else ''}: tasks are "
                                 f"{', '.join(TASKS)}; keys are {', '.join(OVERRIDE_KEYS)}")
        if not self.tasks or not self.seeds:
            raise ConfigError("invalid config: tasks and seeds must not be empty")
        check(self.workers >= 1, "workers", self.workers, "an integer >= 1")
        if self.n_eval < 1 or self.gen_slack < 1:
            raise ConfigError("invalid config: n_eval and gen_slack must be >= 1")
        for task in self.tasks:
            s = self.for_task(task)
            if s["train_length"] < 1:
                raise ConfigError(f"invalid train_length={s['train_length']} for {task}: expected >= 1")
            if (min(s["test_factors"]) <= 0 or 1.0 not in s["table_factors"]
                    or not set(s["table_factors"]) <= set(s["test_factors"])):
                raise ConfigError(f"invalid test_factors={s['test_factors']} / table_factors="
                                 f"{s['table_factors']} for {task}: factors > 0, table factors "
                                 "among the test factors and including 1")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def for_task(self, task: str) -> dict[str, Any]:
        """The settings of one task: the defaults with its override applied."""
        base = {k: getattr(self, k) for k in OVERRIDE_KEYS if hasattr(self, k)}
        base.update({k: getattr(self.train, k) for k in ("steps", "batch_size", "lr", "warmup_steps")})
        base.update(self.overrides.get(task, {}))
        base["test_factors"] = tuple(float(f) for f in base["test_factors"])
        base["table_factors"] = tuple(float(f) for f in base["table_factors"])
        return base


# ----------------------------------------------------------------------------- config files


def build_config(raw: dict[str, Any]) -> LengthGenConfig:
    """Validated config from plain data (the TOML file's top level after presets)."""
    raw = dict(raw)
    train_raw = raw.pop("train", {})
    top = {f.name: f.default if f.default is not dataclasses.MISSING else None
           for f in fields(LengthGenConfig) if f.name not in ("train", "overrides")}
    kwargs = {k: coerce_value(top, k, v, "") for k, v in raw.items() if k != "overrides"}
    tdefaults = TrainConfig.for_tokens().to_dict()
    train = TrainConfig.for_tokens(**{k: coerce_value(tdefaults, k, v, "train.") for k, v in train_raw.items()})
    odefaults = {**{k: top[k] for k in OVERRIDE_KEYS if k in top}, **tdefaults}
    overrides = {}
    for task, over in dict(raw.get("overrides", {})).items():
        if not isinstance(over, dict):
            raise ConfigError(f"invalid overrides.{task}={over!r}: expected a table of keys")
        known = {k: odefaults[k] for k in OVERRIDE_KEYS}
        overrides[task] = {k: coerce_value(known, k, v, f"overrides.{task}.") for k, v in over.items()}
    return LengthGenConfig(**kwargs, train=train, overrides=overrides)


def load_config(path: str | Path, preset: str | None = None, overrides: list[str] = ()) -> LengthGenConfig:
    """Read an experiment TOML, apply ``[presets.<preset>]`` then ``--set key=value``
    overrides (``train.steps=500``, ``tasks=count,parity``, ``overrides.count.train_length=20``)."""
    return build_config(expect_kind(read_experiment(path, preset, overrides), KIND))


# ----------------------------------------------------------------------------- evaluation


def eval_sizes(train_length: int, factors: tuple[float, ...]) -> list[int]:
    return sorted({max(1, round(f * train_length)) for f in factors})


@torch.no_grad()
def evaluate_sizes(model: TokenLM, task: AlgorithmicTask, sizes: list[int], n_examples: int,
                   seed: int, batch_size: int, gen_slack: int) -> dict[int, dict[str, float]]:
    """Exact match and did-not-stop rate of greedy decoding at each size (positions from 0)."""
    out = {}
    for n in sizes:
        examples = evaluation_examples(task, n, n_examples, seed)
        exact = no_stop = 0
        for i in range(0, n_examples, batch_size):
            chunk = examples[i: i + batch_size]
            room = model.cfg.context_len - max(len(p) for p, _ in chunk) + 1
            budget = min(max(len(a) for _, a in chunk) + gen_slack, room)
            outs = generate(model, [p for p, _ in chunk], budget, EOS, pad_token=PAD)
            exact += sum(o == a for o, (_, a) in zip(outs, chunk))
            no_stop += sum(EOS not in o for o in outs)
        out[n] = {"exact_match": exact / n_examples, "did_not_stop": no_stop / n_examples}
    return out


def classify(em_train: float, em_far: float, chance: float = 0.0) -> str:
    """Measured behaviour from exact match at L and at the largest table length; ``chance``
    is the exact match of guessing (parity: 1/2)."""
    if em_train < (1 + chance) / 2:
        return "not learned"
    if em_far >= 0.8 * em_train:
        return "generalizes"
    return "fails" if em_far <= chance + 0.1 else "partial"


# ----------------------------------------------------------------------------- driver


def run_task_seed(cfg: LengthGenConfig, task_name: str, seed: int, out_dir: Path, *,
                  resume: bool, force: bool, progress: bool | None, train_only: bool = False) -> dict[str, Any]:
    """Train (or reuse) one model and evaluate it; returns its per-size results."""
    s = cfg.for_task(task_name)
    max_size = math.ceil(max(s["test_factors"]) * s["train_length"])
    task = make_task(task_name, max_size)
    context_len = task.sequence_length(max_size) + cfg.gen_slack
    model_cfg = TokenLMConfig(task.vocab_size, context_len, s["n_embd"], s["n_layer"], s["n_head"])
    train_cfg = dataclasses.replace(cfg.train, seed=seed, steps=s["steps"], batch_size=s["batch_size"],
                                    lr=s["lr"], warmup_steps=s["warmup_steps"])
    run = RunDir(out_dir / task_name / f"seed{seed}")
    record = {"task": task_name, "max_size": max_size, "train_length": s["train_length"],
              "test_factors": list(s["test_factors"]), "eval": [cfg.n_eval, cfg.eval_seed, cfg.gen_slack]}
    full_record = json.loads(json.dumps({"model": model_cfg.to_dict(), "train": train_cfg.to_dict(),
                                         **record}))  # what train_tokens stores as config.json
    cached = run.cached_results(full_record) if resume else None
    if cached is not None:
        return cached
    t0 = time.perf_counter()
    batch_fn: Callable = lambda rng: training_batch(task, train_cfg.batch_size, s["train_length"],  # noqa: E731
                                                    context_len, rng)
    model = train_tokens(model_cfg, train_cfg, batch_fn, run.path, record=record, resume=resume,
                         force=force, progress=progress)
    train_s = time.perf_counter() - t0
    if train_only:
        return {"record": full_record, "trained": True}
    t0 = time.perf_counter()
    sizes = eval_sizes(s["train_length"], s["test_factors"])
    curves = evaluate_sizes(model, task, sizes, cfg.n_eval, cfg.eval_seed, cfg.eval_batch_size,
                            cfg.gen_slack)
    result = {"record": full_record, "sizes": sizes, "curves": {str(n): v for n, v in curves.items()},
              "train_s": round(train_s, 1), "eval_s": round(time.perf_counter() - t0, 1),
              "n_parameters": model.num_parameters()}
    atomic_write_json(run.results_path, result)
    run.set_status("finished", step=train_cfg.steps)
    return result


def summarize_task(cfg: LengthGenConfig, task_name: str, per_seed: list[dict]) -> dict[str, Any]:
    """Mean curves over seeds, the RASP-L verdict and the table row."""
    s = cfg.for_task(task_name)
    task = TASKS[task_name]
    verdict = make_task(task_name, s["train_length"]).rasp_verdict()
    sizes = per_seed[0]["sizes"]
    mean = {m: [float(np.mean([r["curves"][str(n)][m] for r in per_seed])) for n in sizes]
            for m in ("exact_match", "did_not_stop")}
    mean["exact_match_se"] = [standard_error([r["curves"][str(n)]["exact_match"] for r in per_seed])
                              for n in sizes]
    at = {f: sizes.index(max(1, round(f * s["train_length"]))) for f in s["table_factors"]}
    far = max(s["table_factors"])
    row = {"task": task_name, "rasp_l": verdict.rasp_l, "paper": "generalizes" if task.paper_generalizes
           else "fails", "L": s["train_length"]}
    for f, i in at.items():
        row[_column("EM", f)] = mean["exact_match"][i]
    for f, i in at.items():
        row[_column("SE", f)] = mean["exact_match_se"][i]
    row[_column("DNS", far)] = mean["did_not_stop"][at[far]]
    row["measured"] = classify(mean["exact_match"][at[1.0] if 1.0 in at else 0],
                               mean["exact_match"][at[far]], task.chance)
    row["train_s"] = round(sum(r["train_s"] for r in per_seed), 1)
    row["eval_s"] = round(sum(r["eval_s"] for r in per_seed), 1)
    return {"verdict": dataclasses.asdict(verdict), "description": task.description,
            "train_length": s["train_length"], "sizes": sizes, "mean": mean,
            "per_seed": {str(seed): r for seed, r in zip(cfg.seeds, per_seed)}, "row": row}


def standard_error(values: list[float]) -> float:
    """The standard error of the mean over seeds (0 for a single seed: no spread to estimate)."""
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def _column(metric: str, factor: float) -> str:
    return f"{metric}@{'' if factor == 1 else f'{factor:g}'}L"


def format_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the rows (numbers as percentages; an ``SE@`` column is shown as
    "± s.e." inside its ``EM@`` cell rather than as a column of its own)."""
    cols = [k for k in rows[0] if not k.startswith("SE@")]

    def cell(row: dict[str, Any], k: str) -> str:
        v = row.get(k, "")
        if k.startswith(("EM@", "DNS@")):
            se = row.get("SE@" + k[3:])
            return f"{100 * v:.1f}" + (f" ± {100 * se:.1f}" if se is not None else "")
        return ("yes" if v else "no") if k == "rasp_l" else str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r, k) for k in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _task_seed_in_worker(cfg: LengthGenConfig, task_name: str, seed: int, out_dir: Path, resume: bool,
                         force: bool, train_only: bool) -> dict[str, Any]:
    """:func:`run_task_seed` in a spawned worker process (one that starts with torch's default threads)."""
    if cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    return run_task_seed(cfg, task_name, seed, out_dir, resume=resume, force=force, progress=False,
                         train_only=train_only)


def train_task_seeds(cfg: LengthGenConfig, out_dir: Path, report: Callable[[str, int, dict], None], *,
                     resume: bool, force: bool, progress: bool | None,
                     train_only: bool) -> dict[tuple[str, int], dict[str, Any]]:
    """Every (task, seed) model trained and evaluated, in order or — with ``cfg.workers`` > 1 — in
    that many spawned processes at once (each model is independent and seeded, so the results are
    the same either way); ``report`` is called as each one finishes."""
    pairs = [(task_name, seed) for task_name in cfg.tasks for seed in cfg.seeds]
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if cfg.workers == 1 or len(pairs) == 1:
        for task_name, seed in pairs:
            done[task_name, seed] = run_task_seed(cfg, task_name, seed, out_dir, resume=resume, force=force,
                                                  progress=progress, train_only=train_only)
            report(task_name, seed, done[task_name, seed])
        return done
    # "spawn": a forked child would inherit torch's thread pools (see icl_lab.sweep.executors).
    with cf.ProcessPoolExecutor(max_workers=min(cfg.workers, len(pairs)),
                                mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_task_seed_in_worker, cfg, task_name, seed, out_dir, resume, force,
                               train_only): (task_name, seed) for task_name, seed in pairs}
        for future in cf.as_completed(futures):
            done[futures[future]] = future.result()
            report(*futures[future], done[futures[future]])
    return done


def run_length_generalization(cfg: LengthGenConfig, out_dir: str | Path, *, resume: bool = False,
                              force: bool = False, progress: bool | None = None,
                              log: Callable[[str], None] | None = log_line, train_only: bool = False) -> dict[str, Any]:
    """Train and evaluate every task and seed; write results.json and the table (``train_only``:
    train only; ``icl-lab eval`` evaluates them later)."""
    out_dir = Path(out_dir)
    run = RunDir(out_dir).start(cfg.to_dict(), resume=resume, force=force)  # the experiment's own directory
    if cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    t0 = time.perf_counter()

    def report(task_name: str, seed: int, result: dict[str, Any]) -> None:
        if log and not train_only:
            curve = result["curves"]
            log(f"{task_name} seed {seed}: exact match " + ", ".join(
                f"n={n}: {curve[str(n)]['exact_match']:.2f}" for n in result["sizes"])
                + f" (train {result['train_s']:.0f}s, eval {result['eval_s']:.0f}s)")

    done = train_task_seeds(cfg, out_dir, report, resume=resume, force=force, progress=progress,
                            train_only=train_only)
    tasks = {} if train_only else {task_name: summarize_task(cfg, task_name, [done[task_name, s] for s in cfg.seeds])
                                   for task_name in cfg.tasks}
    if train_only:
        run.set_status("trained")
        return {"config": cfg.to_dict(), "trained": list(cfg.tasks)}
    rows = [t["row"] for t in tasks.values()]
    results = {"config": cfg.to_dict(), "tasks": tasks, "table": rows,
               "wall_s": round(time.perf_counter() - t0, 1)}
    atomic_write_json(out_dir / "results.json", results)
    table = format_table(rows)
    atomic_write_bytes(out_dir / "table.md", table.encode())
    csv = ",".join(rows[0]) + "\n" + "".join(",".join(str(v) for v in r.values()) + "\n" for r in rows)
    atomic_write_bytes(out_dir / "table.csv", csv.encode())
    run.set_status("finished")
    return results


def figure_data(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the length-generalization figure is drawn from, per task: RASP-L verdict, L, the
    test sizes, mean exact match and did-not-stop rate, each seed's exact match, the chance
    level of exact match, the paper's verdict and the measured one (compact, JSON-able)."""
    out = {}
    for name, t in results["tasks"].items():
        out[name] = {"rasp_l": bool(t["verdict"]["rasp_l"]), "L": t["train_length"], "sizes": t["sizes"],
                     "exact_match": t["mean"]["exact_match"], "did_not_stop": t["mean"]["did_not_stop"],
                     "exact_match_se": t["mean"]["exact_match_se"],
                     "seeds": [[r["curves"][str(n)]["exact_match"] for n in t["sizes"]]
                               for r in t["per_seed"].values()],
                     "chance": TASKS[name].chance, "paper": t["row"]["paper"], "measured": t["row"]["measured"]}
    return out


def exact_match_at(tasks: dict[str, dict[str, Any]], name: str, factor: float) -> float:
    """Mean exact match of task ``name`` at test size ``factor`` x L, from :func:`figure_data`."""
    t = tasks[name]
    return t["exact_match"][t["sizes"].index(max(1, round(factor * t["L"])))]


def length_generalization_figure(tasks: dict[str, dict[str, Any]], title: str = "Length generalization",
                                 figsize: tuple[float, float] = (10, 3.8), extra_panels: int = 0) -> Any:
    """Exact match (left) and did-not-stop rate (right) against test size / L, from
    :func:`figure_data`; the training range is shaded. Solid lines: RASP-L tasks; dashed: not
    RASP-L; bands: ± one standard error over seeds; thin lines: individual seeds; dotted: chance.
    ``extra_panels`` empty axes follow on the right (``fig.axes[2:]``, same x axis) for the
    caller to draw in. Returns the matplotlib figure (not saved)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 + extra_panels, figsize=figsize, sharex=True)
    for name, t in tasks.items():
        x = [n / t["L"] for n in t["sizes"]]
        style = "-" if t["rasp_l"] else "--"
        label = f"{name} ({'RASP-L' if t['rasp_l'] else 'not RASP-L'}, L={t['L']})"
        line, = axes[0].plot(x, t["exact_match"], style, marker="o", label=label)
        if t.get("exact_match_se"):  # ± one standard error over seeds
            mean, se = np.array(t["exact_match"]), np.array(t["exact_match_se"])
            axes[0].fill_between(x, mean - se, mean + se, color=line.get_color(), alpha=0.15, lw=0)
        axes[1].plot(x, t["did_not_stop"], style, marker="o", color=line.get_color())
        for seed_curve in t["seeds"]:  # thin lines: individual seeds
            axes[0].plot(x, seed_curve, style, color=line.get_color(), alpha=0.25, lw=0.8)
        if t.get("chance"):  # dotted: the exact match of guessing
            axes[0].axhline(t["chance"], color=line.get_color(), ls=":", lw=0.8, alpha=0.7)
    left = min(min(n / t["L"] for n in t["sizes"]) for t in tasks.values())
    for ax, ylabel in zip(axes, ("exact match", "did not stop (no EOS)", *[""] * extra_panels)):
        ax.axvspan(0, 1, color="0.92", zorder=0)  # sizes seen in training
        ax.axvline(1, color="0.4", ls=":", lw=1)
        ax.set_xlim(left=min(left, 1.0) - 0.1)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("test size / training length L")
        ax.set_ylabel(ylabel)
    axes[0].text(1.0, 0.02, " L (longest training size)", color="0.4", fontsize=8)
    # below both panels: with the whole table (nine tasks) a legend inside would hide the curves
    handles, labels = axes[0].get_legend_handles_labels()
    ncol = min(len(labels), 3)
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=ncol, frameon=False)
    fig.suptitle(title)
    rows = -(-len(labels) // ncol)
    fig.tight_layout(rect=(0, 0.035 * rows + 0.01, 1, 1))
    return fig


def plot_length_generalization(results: dict[str, Any], out_base: str | Path,
                               title: str = "Length generalization") -> list[Path]:
    """:func:`length_generalization_figure` of ``results`` written to ``out_base`` (PNG + PDF)."""
    from icl_lab.figures.plotting import save_figure

    return save_figure(length_generalization_figure(figure_data(results), title), out_base)
