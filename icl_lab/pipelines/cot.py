"""Chain of thought vs direct answers (Feng et al. 2023, arXiv:2305.15408).

For every task, problem size, variant (``cot3`` = chain of thought with a 3-layer model,
``direct4`` = direct answer with 4 layers, ...) and seed: train a
:class:`~icl_lab.models.token_lm.TokenLM` on training-split problems of that size, then
on held-out test-split problems measure

* ``accuracy``: exact answer from free greedy generation (KV cache), parsed after ``<ans>``;
* ``teacher_forced``: every target token (chain and answer) right given the true prefix;
* ``valid_chain``: generations whose steps and answer pass the task's verifier
  (chain-of-thought variants only).

Layout of an output directory::

    <task>/n<size>/<variant>/seed<k>/   a token run + results.json
    results.json                        config, every cell, the table rows, wall times
    table.md                            accuracy (free / teacher-forced) per task x size x variant
"""

from __future__ import annotations

import dataclasses
import json
import re
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
from icl_lab.tasks.cot import (
    TASK_NAMES,
    CotExample,
    CotTask,
    make_task,
    param_fields,
    parse_output,
    sample_examples,
    training_batch,
)
from icl_lab.tasks.cot_vocab import EOS_ID, PAD_ID, VOCAB_SIZE
from icl_lab.tasks.token_batch import make_batch
from icl_lab.training.config import TrainConfig
from icl_lab.training.tokens import masked_loss, train_tokens

VARIANT = re.compile(r"^(cot|direct)([1-9][0-9]?)$")
# Keys of a task table besides its generator parameters: sizes, and training settings
# that a task may override (equations need more steps than arithmetic).
TASK_TRAIN_KEYS = ("steps", "batch_size", "lr", "warmup_steps", "n_embd", "n_head")
PAPER_SIZES = {"arithmetic": {"sizes": (4, 5, 6)}, "equations": {"sizes": (3, 4, 5)},
               "lis": {"sizes": (50, 80, 100)}, "edit_distance": {"sizes": (12, 16, 20)}}

KIND = "cot"  # experiment files with kind = "cot" run here


def parse_variant(variant: str) -> tuple[str, int]:
    """``"cot3"`` -> ("cot", 3)."""
    match = VARIANT.match(variant)
    if not match:
        raise ConfigError(f"invalid variants entry {variant!r}: expected cot<layers> or "
                         "direct<layers>, e.g. cot3, direct5")
    return match.group(1), int(match.group(2))


@dataclass(frozen=True)
class CotExperimentConfig:
    """One chain-of-thought experiment (see experiments/chain_of_thought.toml).

    ``task_settings[task]`` holds ``sizes``, generator parameters (e.g. ``modulus``) and
    optional per-task training overrides (:data:`TASK_TRAIN_KEYS`)."""

    name: str = "chain_of_thought"
    preset: str = ""
    kind: str = KIND  # the pipeline (checked, so a record of another kind is not run here)
    tasks: tuple[str, ...] = TASK_NAMES
    variants: tuple[str, ...] = ("cot3", "direct3", "direct4", "direct5")
    seeds: tuple[int, ...] = (0,)
    n_embd: int = 256
    n_head: int = 4
    n_eval: int = 500  # test problems per cell
    eval_seed: int = 12345
    eval_batch_size: int = 250
    test_fraction: float = 0.1  # share of all problems (by hash) reserved for testing
    gen_slack: int = 4  # tokens beyond the longest target before generation stops
    cpu_threads: int = 1
    train: TrainConfig = field(default_factory=TrainConfig.for_tokens)
    task_settings: dict[str, dict[str, Any]] = field(default_factory=lambda: json.loads(json.dumps(PAPER_SIZES)))

    def __post_init__(self) -> None:
        check(self.kind == KIND, "kind", self.kind, f"{KIND!r} for this pipeline")
        check(all(0 <= s < 2**32 for s in self.seeds), "seeds", list(self.seeds), "integers in [0, 2^32)")
        check(0 <= self.eval_seed < 2**32, "eval_seed", self.eval_seed, "an integer in [0, 2^32)")
        for task in self.tasks:
            if task not in TASK_NAMES:
                raise ConfigError(f"invalid tasks entry {task!r}: expected names from {', '.join(TASK_NAMES)}")
        for variant in self.variants:
            parse_variant(variant)
        if not self.tasks or not self.variants or not self.seeds:
            raise ConfigError("invalid config: tasks, variants and seeds must not be empty")
        if self.n_eval < 1 or self.eval_batch_size < 1 or self.gen_slack < 1:
            raise ConfigError("invalid config: n_eval, eval_batch_size and gen_slack must be >= 1")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"invalid test_fraction={self.test_fraction!r}: expected a number in (0, 1)")
        for task in dict.fromkeys([*self.tasks, *self.task_settings]):  # tables of unused tasks too
            if task not in TASK_NAMES:
                raise ConfigError(f"unknown task table {task!r}: expected names from {', '.join(TASK_NAMES)}")
            settings = self.task_settings.get(task, {})
            if not settings.get("sizes"):
                raise ConfigError(f"invalid {task}.sizes: expected a non-empty list of problem sizes")
            cot_task = self.make_task(task)
            for n in settings["sizes"]:
                cot_task.check_size(n)

    def make_task(self, task: str) -> CotTask:
        params = {k: v for k, v in self.task_settings.get(task, {}).items()
                  if k != "sizes" and k not in TASK_TRAIN_KEYS}
        return make_task(task, **params)

    def for_task(self, task: str) -> dict[str, Any]:
        """Training settings of one task: the defaults with the task's overrides."""
        base = {"n_embd": self.n_embd, "n_head": self.n_head,
                **{k: getattr(self.train, k) for k in ("steps", "batch_size", "lr", "warmup_steps")}}
        base.update({k: v for k, v in self.task_settings.get(task, {}).items() if k in TASK_TRAIN_KEYS})
        return base

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


# ----------------------------------------------------------------------------- config files


def build_config(raw: dict[str, Any]) -> CotExperimentConfig:
    """Validated config from plain data (the TOML's top level after presets); each task's
    table (``[arithmetic]``, ...) becomes ``task_settings``."""
    raw = dict(raw)
    train_raw = raw.pop("train", {})
    task_raw = {t: raw.pop(t) for t in TASK_NAMES if t in raw}
    top = {f.name: f.default if f.default is not dataclasses.MISSING else None
           for f in fields(CotExperimentConfig) if f.name not in ("train", "task_settings")}
    unknown = sorted(set(raw) - set(top))
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]}: valid keys are {', '.join([*top, 'train', *TASK_NAMES])}")
    kwargs = {k: coerce_value(top, k, v, "") for k, v in raw.items()}
    tdefaults = TrainConfig.for_tokens().to_dict()
    train = TrainConfig.for_tokens(**{k: coerce_value(tdefaults, k, v, "train.") for k, v in train_raw.items()})
    settings = {}
    for task, table in task_raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"invalid {task}={table!r}: expected a table of keys")
        known = {"sizes": (1,), **param_fields(task), **{k: tdefaults.get(k, top.get(k)) for k in TASK_TRAIN_KEYS}}
        settings[task] = {k: coerce_value(known, k, v, f"{task}.") for k, v in table.items()}
    return CotExperimentConfig(**kwargs, train=train, task_settings=settings)


def load_config(path: str | Path, preset: str | None = None, overrides: list[str] = ()) -> CotExperimentConfig:
    """Read an experiment TOML, apply ``[presets.<preset>]`` then ``--set key=value``
    overrides (``train.steps=500``, ``tasks=arithmetic,equations``, ``equations.sizes=2,3``).

    A ``--set train.KEY`` (KEY a per-task training key such as ``steps``) applies to every task:
    it replaces the file's per-task values, unless ``--set TASK.KEY`` is given too."""
    data = expect_kind(read_experiment(path, preset, overrides), KIND)
    keys = [text.split("=", 1)[0].strip() for text in overrides]
    for key in (k[len("train."):] for k in keys if k.startswith("train.")):
        for task in TASK_NAMES:
            if key in TASK_TRAIN_KEYS and isinstance(data.get(task), dict) and f"{task}.{key}" not in keys:
                data[task] = {k: v for k, v in data[task].items() if k != key}
    return build_config(data)


# ----------------------------------------------------------------------------- evaluation


def held_out_examples(cfg: CotExperimentConfig, task: str, n: int) -> list[CotExample]:
    """The held-out problems of one (task, size): the same for every variant and seed."""
    rng = np.random.default_rng([cfg.eval_seed, TASK_NAMES.index(task), n])
    return sample_examples(cfg.make_task(task), n, cfg.n_eval, "test", rng, cfg.test_fraction)


@torch.no_grad()
def evaluate_model(model: TokenLM, task: CotTask, examples: list[CotExample], fmt: str,
                   batch_size: int, gen_slack: int) -> dict[str, float]:
    """Free-generation accuracy, teacher-forced accuracy and (CoT) verified-chain rate."""
    model.eval()
    device = next(model.parameters()).device
    right = forced = valid = 0
    for i in range(0, len(examples), batch_size):
        chunk = examples[i: i + batch_size]
        pairs = [e.encoded(fmt) for e in chunk]
        longest_prompt = max(len(p) for p, _ in pairs)
        budget = min(max(len(t) for _, t in pairs) + gen_slack, model.cfg.context_len - longest_prompt + 1)
        outputs = generate(model, [p for p, _ in pairs], budget, EOS_ID, pad_token=PAD_ID)
        for example, out in zip(chunk, outputs):
            steps, answer = parse_output(out)
            right += answer == example.answer
            if fmt == "cot":
                valid += answer is not None and bool(steps) and task.verify(example.problem, steps, answer)[0]
        _, stats = masked_loss(model, make_batch(pairs, PAD_ID).to(device))
        forced += float(stats["answer_acc"]) * len(chunk)
    n = len(examples)
    out = {"accuracy": right / n, "teacher_forced": forced / n}
    if fmt == "cot":
        out["valid_chain"] = valid / n
    return out


# ----------------------------------------------------------------------------- driver


def run_cell(cfg: CotExperimentConfig, task_name: str, n: int, variant: str, seed: int,
             out_dir: Path, *, resume: bool, force: bool, progress: bool | None,
             train_only: bool = False) -> dict[str, Any]:
    """Train (or reuse) one model and evaluate it on the held-out problems."""
    fmt, n_layer = parse_variant(variant)
    s = cfg.for_task(task_name)
    task = cfg.make_task(task_name)
    context_len = task.context_len(n, fmt, cfg.gen_slack)
    model_cfg = TokenLMConfig(VOCAB_SIZE, context_len, s["n_embd"], n_layer, s["n_head"])
    train_cfg = dataclasses.replace(cfg.train, seed=seed, steps=s["steps"], batch_size=s["batch_size"],
                                    lr=s["lr"], warmup_steps=s["warmup_steps"])
    run = RunDir(out_dir / task_name / f"n{n}" / variant / f"seed{seed}")
    record = {"task": task_name, "size": n, "format": fmt, "params": dataclasses.asdict(task.params),
              "test_fraction": cfg.test_fraction, "eval": [cfg.n_eval, cfg.eval_seed, cfg.gen_slack]}
    full_record = json.loads(json.dumps({"model": model_cfg.to_dict(), "train": train_cfg.to_dict(), **record}))
    cached = run.cached_results(full_record) if resume else None
    if cached is not None:
        return cached
    t0 = time.perf_counter()
    batch_fn: Callable = lambda rng: training_batch(task, n, fmt, train_cfg.batch_size, rng,  # noqa: E731
                                                    cfg.test_fraction)
    model = train_tokens(model_cfg, train_cfg, batch_fn, run.path, record=record, resume=resume,
                         force=force, progress=progress)
    train_s = time.perf_counter() - t0
    if train_only:
        return {"record": full_record, "task": task_name, "size": n, "variant": variant, "seed": seed, "trained": True}
    t0 = time.perf_counter()
    metrics = evaluate_model(model, task, held_out_examples(cfg, task_name, n), fmt, cfg.eval_batch_size,
                             cfg.gen_slack)
    result = {"record": full_record, "task": task_name, "size": n, "variant": variant, "seed": seed,
              **metrics, "train_s": round(train_s, 1), "eval_s": round(time.perf_counter() - t0, 1),
              "n_parameters": model.num_parameters()}
    atomic_write_json(run.results_path, result)
    run.set_status("finished", step=train_cfg.steps)
    return result


def variant_label(variant: str) -> str:
    fmt, layers = parse_variant(variant)
    return f"{'CoT' if fmt == 'cot' else 'Direct'}-{layers}"


def chance_accuracy(task: CotTask, n: int) -> float | None:
    """Accuracy of guessing the answer uniformly (residue mod p, or one per variable);
    None for LIS and edit distance, whose answers are far from uniform."""
    if task.name == "arithmetic":
        return 1 / task.params.modulus
    if task.name == "equations":
        return task.params.modulus ** -n
    return None


def table_rows(cfg: CotExperimentConfig, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (task, size): mean accuracy and teacher-forced accuracy over seeds per
    variant, chance level, and the wall time of the row's runs."""
    rows = []
    for task in cfg.tasks:
        for n in cfg.task_settings[task]["sizes"]:
            row: dict[str, Any] = {"task": task, "size": n, "chance": chance_accuracy(cfg.make_task(task), n)}
            mine = [c for c in cells if c["task"] == task and c["size"] == n]
            for variant in cfg.variants:
                vc = [c for c in mine if c["variant"] == variant]
                row[variant_label(variant)] = float(np.mean([c["accuracy"] for c in vc]))
                row[f"tf {variant_label(variant)}"] = float(np.mean([c["teacher_forced"] for c in vc]))
            row["wall_s"] = round(sum(c["train_s"] + c["eval_s"] for c in mine), 1)
            rows.append(row)
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: free-generation accuracy % per variant, teacher-forced % per variant,
    chance %, and wall seconds."""
    labels = [k for k in rows[0] if k not in ("task", "size", "chance", "wall_s") and not k.startswith("tf ")]
    head = ["task", "size", *labels, *(f"TF {k}" for k in labels), "chance", "wall s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        chance = "-" if r["chance"] is None else f"{100 * r['chance']:.1f}"
        cells = [r["task"], str(r["size"]), *(f"{100 * r[k]:.1f}" for k in labels),
                 *(f"{100 * r['tf ' + k]:.1f}" for k in labels), chance, f"{r['wall_s']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_chain_of_thought(cfg: CotExperimentConfig, out_dir: str | Path, *, resume: bool = False,
                         force: bool = False, progress: bool | None = None,
                         log: Callable[[str], None] | None = log_line, train_only: bool = False) -> dict[str, Any]:
    """Train and evaluate every cell; write results.json, table.md and the figure
    (``train_only``: train the cells only; ``icl-lab eval`` evaluates them later)."""
    out_dir = Path(out_dir)
    run = RunDir(out_dir).start(cfg.to_dict(), resume=resume, force=force)  # the experiment's own directory
    if cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    t0 = time.perf_counter()
    cells = []
    for task in cfg.tasks:
        for n in cfg.task_settings[task]["sizes"]:
            for variant in cfg.variants:
                for seed in cfg.seeds:
                    cell = run_cell(cfg, task, n, variant, seed, out_dir, resume=resume, force=force,
                                    progress=progress, train_only=train_only)
                    cells.append({k: v for k, v in cell.items() if k != "record"})
                    if log and not train_only:
                        extra = f", valid chain {cell['valid_chain']:.2f}" if "valid_chain" in cell else ""
                        log(f"{task} n={n} {variant} seed {seed}: accuracy {cell['accuracy']:.2f}, "
                            f"teacher-forced {cell['teacher_forced']:.2f}{extra} "
                            f"(train {cell['train_s']:.0f}s, eval {cell['eval_s']:.0f}s)")
    if train_only:
        run.set_status("trained")
        return {"config": cfg.to_dict(), "trained": cells}
    rows = table_rows(cfg, cells)
    results = {"config": cfg.to_dict(), "cells": cells, "table": rows,
               "wall_s": round(time.perf_counter() - t0, 1)}
    atomic_write_json(out_dir / "results.json", results)
    atomic_write_bytes(out_dir / "table.md", format_table(rows).encode())
    plot_cot_table(results, out_dir / "cot_table")
    run.set_status("finished")
    return results


def cot_table_figure(rows: list[dict[str, Any]], labels: list[str],
                     title: str = "Chain of thought vs direct (free-generation accuracy)",
                     figsize: tuple[float, float] | None = None, teacher_forced: bool = False) -> Any:
    """Heatmap of the table ``rows`` (:func:`table_rows`): rows task x size, columns the
    variants ``labels`` (e.g. ``CoT-3``), cells accuracy %; with ``teacher_forced`` a second
    heatmap of the teacher-forced accuracy beside it. Returns the figure (not saved)."""
    import matplotlib.pyplot as plt

    panels = [("", "free generation")] + ([("tf ", "teacher-forced")] if teacher_forced else [])
    size = figsize or ((1.3 * len(labels) + 2.5) * len(panels), 0.45 * len(rows) + 1.5)
    fig, axes = plt.subplots(1, len(panels), figsize=size, squeeze=False)
    for ax, (prefix, name) in zip(axes[0], panels):
        grid = np.array([[100 * r[prefix + k] for k in labels] for r in rows])
        image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.0f}", ha="center", va="center", color="white" if value < 60 else "black")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(rows)), [f"{r['task']} n={r['size']}" + (
            "" if r.get("chance") is None else f"\n(chance {100 * r['chance']:.0f}%)") for r in rows])
        ax.set_title(name if teacher_forced else title, fontsize=10)
        fig.colorbar(image, ax=ax, label="accuracy %")
    if teacher_forced:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_cot_table(results: dict[str, Any], out_base: str | Path,
                   title: str = "Chain of thought vs direct (free-generation accuracy)") -> list[Path]:
    """:func:`cot_table_figure` of ``results`` written to ``out_base`` (PNG + PDF)."""
    from icl_lab.figures.plotting import save_figure

    labels = [variant_label(v) for v in results["config"]["variants"]]
    return save_figure(cot_table_figure(results["table"], labels, title), out_base)


def accuracy_vs_size_figure(rows: list[dict[str, Any]], labels: list[str], title: str | None = None,
                            figsize: tuple[float, float] | None = None) -> Any:
    """One panel per task of the table ``rows``: accuracy against problem size, one line per
    variant in ``labels`` (dotted grey: chance, where defined). Returns the figure (not saved)."""
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    fig, axes = plt.subplots(1, len(tasks), figsize=figsize or (3.2 * len(tasks), 3), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        mine = [r for r in rows if r["task"] == task]
        sizes = [r["size"] for r in mine]
        for label in labels:
            ax.plot(sizes, [100 * r[label] for r in mine], marker="o",
                    ls="-" if label.startswith("CoT") else "--", label=label)
        if all(r.get("chance") is not None for r in mine):
            ax.plot(sizes, [100 * r["chance"] for r in mine], ls=":", color="0.5", marker=".", label="chance")
        ax.set_title(task)
        ax.set_xlabel("problem size")
        ax.set_xticks(sizes)
        ax.set_ylim(-3, 103)
    axes[0][0].set_ylabel("accuracy %")
    handles = {}  # every line's label once (the chance line is only on some panels)
    for ax in axes[0]:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    axes[0][-1].legend(list(handles.values()), list(handles), fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
