"""A compiled RASP model next to a trained one, at and beyond the training length.

Three tasks of :mod:`icl_lab.tasks.algorithmic` have a library program that reads the task's own
token sequence, position by position (:data:`ADAPTERS` says how):

- ``count`` (``BOS s e SEP -> s s+1 ... e EOS``): the program ``count`` reads the sequence
  without BOS (tokens mapped by ``task.encode``); the compiled model's own BOS then sits where
  the trained model's BOS does, so the positions line up one to one. One layer, three heads.
- ``copy_unique`` (``BOS x SEP -> x EOS``): the program ``copy_unique`` is an induction head
  (layer 1: previous token; layer 2: the key whose previous token is the query's token). It
  reads the whole sequence with BOS and SEP as one marker (``M x M x``), so the compiled
  model's BOS is one extra position in front, dropped when attention is compared.
- ``mode`` (``BOS x SEP -> m EOS``): the program ``mode`` (running mode) reads ``x SEP``; at
  ``SEP`` its output is the mode of ``x`` (``SEP`` reaches a count of one last, so it never
  wins a tie). Only that first answer token is compared: after it the program's output is a
  running mode, not ``EOS``.

(The sort programs are not causal, so a causal trained model has no counterpart.)

:func:`compare`

1. trains a :class:`~icl_lab.models.token_lm.TokenLM` on sizes ``1..L`` with the
   length-generalization experiment's own driver and settings (preset ``quick``: L = 10,
   2 layers x 4 heads, 1000 steps; ``smoke``: 30 steps), or loads the model of a finished
   run (``<experiment out>/<task>/seed<k>``);
2. compiles the task's library program (causal) for the task's vocabulary and lengths up to
   the largest test size;
3. runs both teacher-forced on the same examples at sizes ``f * L`` and records, per answer
   position, whether the trained model's next-token prediction equals the compiled model's
   output and the reference answer (and the compiled output vs the reference). A row's
   ``*_exact`` is the fraction of examples with every answer position right, which equals
   greedy-decoding exact match (the experiment's metric): greedy decoding reproduces the
   answer iff every teacher-forced prediction is right;
4. compares attention: for every compiled head and every trained head, the overlap
   ``sum_k min(p_k, q_k)`` (1 - total variation) of their rows at the answer-predicting
   queries (``SEP`` onward; and at the ``SEP`` query alone), averaged over examples; and
   draws the compiled heads above the trained heads on one input of size 2L, plus agreement
   against length. :func:`overlap_by_size` is the same measurement for a figure.

The compiled model is exact at every size it was compiled for (its position table and
index values are built for ``max_len``); the trained model only ever saw sizes up to L.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from icl_lab.core.errors import ConfigError
from icl_lab.models.token_lm import TokenLM
from icl_lab.pipelines.rasp_compare_output import (
    AGREEMENT_COLUMNS,
    HEAD_COLUMNS,
    markdown_table,
    plot_agreement,
    plot_attention,
    write_tables,
)
from icl_lab.rasp import LIBRARY
from icl_lab.rasp import formats as F
from icl_lab.rasp.compiler.compiler import compile_program
from icl_lab.rasp.compiler.model import CompiledModel
from icl_lab.tasks.algorithmic import BOS, EOS, SEP, AlgorithmicTask, evaluation_examples, make_task

EXPERIMENT = Path(__file__).resolve().parents[3] / "experiments" / "length_generalization.toml"
#: --set overrides of the length-generalization quick preset, per preset of this comparison
#: ("paper" trains the quick model too: the experiment's paper preset is a GPU job)
SETTINGS: dict[str, list[str]] = {
    "quick": [],
    "paper": [],
    "smoke": ["train_length=4", "train.steps=30", "train.warmup_steps=5", "train.log_every=10",
              "n_eval=16",
              "test_factors=1,2,3"],
}
_MARKER = F.SEP  # copy_unique's program reads BOS, SEP and EOS as one marker value


@dataclass(frozen=True)
class ProgramAdapter:
    """How a task's token sequences meet its library program.

    ``lead`` trained tokens are left out of the program's input (count: BOS), so program
    position ``j`` is trained position ``j + lead``, and the compiled model's position ``k``
    (its BOS is 0) is trained position ``k - 1 + lead``. ``values(task)`` is the compiled
    vocabulary, ``max_len(task)`` the longest program input, ``to_program`` maps one token
    and ``from_program`` reads one output value back as a token. ``answer_tokens``: how many
    answer tokens the program predicts (``None``: all of them, EOS included)."""

    program: str
    lead: int
    values: Callable[[AlgorithmicTask], list[Any]]
    max_len: Callable[[AlgorithmicTask], int]
    to_program: Callable[[AlgorithmicTask, int], Any]
    from_program: Callable[[AlgorithmicTask, Any], int]
    answer_tokens: int | None = None


def _copy_from_program(task: AlgorithmicTask, v: Any) -> int:
    return EOS if v == _MARKER else task.decode([v])[0]


ADAPTERS: dict[str, ProgramAdapter] = {
    "count": ProgramAdapter(
        "count", 1, lambda t: list(t.symbol_values) + [F.SEP, F.EOS],
        lambda t: t.max_length + 3,  # s e SEP + max_length numbers
        lambda t, tok: t.encode([tok])[0], lambda t, v: t.decode([v])[0]),
    "copy_unique": ProgramAdapter(
        "copy_unique", 0, lambda t: list(t.symbol_values) + [_MARKER],
        lambda t: 2 * t.max_length + 2,  # BOS x SEP x (the last answer token is never input)
        lambda t, tok: _MARKER if tok in (BOS, SEP, EOS) else t.encode([tok])[0],
        _copy_from_program),
    "mode": ProgramAdapter(
        "mode", 1, lambda t: list(t.symbol_values) + [F.SEP],
        lambda t: t.max_length + 2,  # x SEP m
        lambda t, tok: F.SEP if tok == SEP else t.encode([tok])[0], lambda t, v: t.decode([v])[0],
        answer_tokens=1),
}


def adapter_for(task: str) -> ProgramAdapter:
    """The task's adapter; a clear error for a task without a compiled counterpart."""
    if task not in ADAPTERS:
        raise ConfigError(f"no compiled-program comparison for task {task!r}: expected one of "
                          f"{', '.join(ADAPTERS)}")
    return ADAPTERS[task]


@dataclass
class Comparison:
    """What :func:`compare` measured, and the files it wrote."""

    task: str
    train_length: int
    run_dir: Path
    rows: list[dict[str, Any]]  # AGREEMENT_COLUMNS, one row per size
    heads: list[dict[str, Any]]  # HEAD_COLUMNS, one row per size and compiled head
    by_position: dict[int, list[float]]  # size -> trained-vs-reference accuracy per answer index
    overlaps: dict[int, np.ndarray]  # size -> [compiled heads, trained heads] mean overlap
    compiled_heads: list[str]
    trained_heads: list[str]
    example: tuple[list[int], list[int]]  # (prompt, answer) drawn in the attention figure
    paths: list[Path] = field(default_factory=list)

    def table(self) -> str:
        """The agreement table in markdown."""
        return markdown_table(self.rows, AGREEMENT_COLUMNS)


# ----------------------------------------------------------------------------- models


def train_or_load(out_dir: str | Path, preset: str = "quick", seed: int = 0,
                  run_dir: str | Path | None = None, settings: Sequence[str] = (),
                  experiment: str | Path = EXPERIMENT, task: str = "count",
                  ) -> tuple[dict[str, Any], TokenLM, Path]:
    """(config record, model, run directory) of a ``task`` model.

    With ``run_dir``: the finished token run there (e.g. ``<out>/count/seed0`` of
    ``icl-lab run length_generalization``). Otherwise trains one with the length-generalization
    driver (:func:`~icl_lab.pipelines.length_generalization.run_task_seed`) under
    ``out_dir/<task>/seed<seed>``, with the experiment's ``quick`` preset, the overrides of
    ``SETTINGS[preset]`` and then ``settings``; a finished run with the same config there
    is reused."""
    from icl_lab.pipelines.length_generalization import load_config, run_task_seed
    from icl_lab.training.tokens import load_token_model

    adapter_for(task)
    if run_dir is None:
        if preset not in SETTINGS:
            raise ConfigError(f"invalid preset {preset!r}: expected one of {', '.join(SETTINGS)}")
        cfg = load_config(experiment, "quick",
                          [f"tasks={task}", f"seeds={seed}", *SETTINGS[preset], *settings])
        before = torch.get_num_threads()
        torch.set_num_threads(max(1, cfg.cpu_threads))
        try:
            run_task_seed(cfg, task, seed, Path(out_dir), resume=True, force=False, progress=False)
        finally:
            torch.set_num_threads(before)
        run_dir = Path(out_dir) / task / f"seed{seed}"
    record, model = load_token_model(run_dir)
    if record.get("task") != task:
        raise ConfigError(f"{run_dir} holds a {record.get('task')!r} run; this comparison needs "
                         f"a {task!r} run")
    return record, model, Path(run_dir)


def compile_for(task: AlgorithmicTask) -> CompiledModel:
    """The task's library program, causal, over the task's values, for every size of the task."""
    a = adapter_for(task.name)
    return compile_program(LIBRARY[a.program](), a.values(task), a.max_len(task), causal=True)


def compiled_head_names(compiled: CompiledModel) -> list[tuple[int, int, str]]:
    """(layer, head slot, computed node's name) of every compiled head."""
    return [(layer, h, head.node.name) for layer, heads in enumerate(compiled.info.heads)
            for h, head in enumerate(heads)]


# ----------------------------------------------------------------------------- running


#: the examples of size ``n`` that the length-generalization evaluation draws
sample = evaluation_examples


@torch.no_grad()
def run_both(trained: TokenLM, compiled: CompiledModel, task: AlgorithmicTask,
             examples: Sequence[tuple[list[int], list[int]]], patterns: bool = False,
             ) -> dict[str, Any]:
    """Teacher-forced predictions of every answer token by both models.

    Returns ``trained``, ``compiled``, ``reference`` (token ids ``[B, k]``, ``k`` the answer
    tokens the program predicts: :attr:`ProgramAdapter.answer_tokens`) and,
    with ``patterns``, ``trained_patterns`` ``[B, layers * heads, T, T]`` and
    ``compiled_patterns`` ``[B, compiled heads, T, T]`` over the trained model's T positions
    (BOS first in both)."""
    a = adapter_for(task.name)
    seqs = [p + ans[:-1] for p, ans in examples]
    prompt_len = len(examples[0][0])
    if any(len(p) != prompt_len for p, _ in examples) or len({len(s) for s in seqs}) != 1:
        raise ConfigError(f"run_both: expected {task.name} examples of one size")
    tokens = torch.tensor(seqs, dtype=torch.long)
    names = [f"blocks.{i}.attn.hook_pattern" for i in range(trained.cfg.n_layer)]
    trained.eval()
    with trained.hooks(names if patterns else []) as cache:
        logits = trained(tokens)
    k = a.answer_tokens or len(examples[0][1])
    out: dict[str, Any] = {
        "trained": logits[:, prompt_len - 1: prompt_len - 1 + k].argmax(-1).numpy(),
        "reference": np.array([ans[:k] for _, ans in examples]),
    }
    inputs = [[a.to_program(task, t) for t in s[a.lead:]] for s in seqs]
    heads = compiled_head_names(compiled)
    layers = sorted({layer for layer, _, _ in heads})
    values, ccache = compiled.run_with_cache(inputs, [f"blocks.{i}.attn.hook_pattern" for i in layers])
    start = prompt_len - 1 - a.lead
    out["compiled"] = np.array([[a.from_program(task, v) for v in row[start: start + k].tolist()]
                                for row in values])
    if patterns:
        out["trained_patterns"] = torch.cat([cache[n] for n in names], dim=1).float()
        drop = 1 - a.lead  # the compiled BOS in front of the trained sequence, if any
        out["compiled_patterns"] = torch.stack(
            [ccache[f"blocks.{layer}.attn.hook_pattern"][:, h, drop:, drop:] for layer, h, _ in heads],
            1).float()
    return out


def head_overlap(compiled_patterns: torch.Tensor, trained_patterns: torch.Tensor,
                 queries: slice) -> np.ndarray:
    """``[compiled heads, trained heads]``: mean over examples and ``queries`` of
    ``sum_k min(p_k, q_k)`` (1 = the same attention row, 0 = disjoint)."""
    c = compiled_patterns[:, :, None, queries]  # [B, Hc, 1, Q, T]
    t = trained_patterns[:, None, :, queries]  # [B, 1, Ht, Q, T]
    return torch.minimum(c, t).sum(-1).mean((0, 3)).double().numpy()


def agreement(trained: Any, compiled: Any, task: Any, n: int, n_examples: int, eval_seed: int,
              train_length: int, patterns: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Teacher-forced agreement of the trained and the compiled model (and the reference answer) on
    ``n_examples`` inputs of size ``n``: one row of the comparison table, and the raw outputs of
    :func:`run_both` (with attention patterns when ``patterns``)."""
    res = run_both(trained, compiled, task, sample(task, n, n_examples, eval_seed), patterns=patterns)
    tr, co, ref = res["trained"], res["compiled"], res["reference"]
    row = {"n": n, "factor": round(n / train_length, 3), "examples": len(ref), "positions": int(ref.size),
           "trained_vs_compiled": float((tr == co).mean()), "trained_vs_reference": float((tr == ref).mean()),
           "compiled_vs_reference": float((co == ref).mean()), "trained_exact": float((tr == ref).all(1).mean()),
           "compiled_exact": float((co == ref).all(1).mean())}
    return row, res


def _measure(trained: TokenLM, compiled: CompiledModel, task: AlgorithmicTask, sizes: Sequence[int],
             n_examples: int, eval_seed: int, train_length: int,
             log: Callable[[str], None] | None) -> tuple[list[dict], dict, dict, dict]:
    """Agreement rows, accuracy by answer index, and head overlaps (answer queries; SEP query)
    at every size."""
    rows, by_position, overlaps, at_sep = [], {}, {}, {}
    for n in sizes:
        row, res = agreement(trained, compiled, task, n, n_examples, eval_seed, train_length, patterns=True)
        rows.append(row)
        sep = len(sample(task, n, 1, eval_seed)[0][0]) - 1  # the SEP query: the first answer prediction
        k = res["reference"].shape[1]  # the answer tokens the program predicts
        by_position[n] = (res["trained"] == res["reference"]).mean(0).tolist()
        overlaps[n] = head_overlap(res["compiled_patterns"], res["trained_patterns"], slice(sep, sep + k))
        at_sep[n] = head_overlap(res["compiled_patterns"], res["trained_patterns"], slice(sep, sep + 1))
        if log:
            log(f"n={n} ({row['factor']:g}L): trained vs compiled {row['trained_vs_compiled']:.3f}, "
                f"vs reference {row['trained_vs_reference']:.3f}; compiled vs reference "
                f"{row['compiled_vs_reference']:.3f}; exact: trained {row['trained_exact']:.3f}, "
                f"compiled {row['compiled_exact']:.3f}")
    return rows, by_position, overlaps, at_sep


def _check_sizes(task: AlgorithmicTask, trained: TokenLM, sizes: Sequence[int]) -> None:
    rng = np.random.default_rng(0)
    too_long = [n for n in sizes if n > task.max_length
                or sum(map(len, task.sample(n, rng))) - 1 > trained.cfg.context_len]
    if too_long:
        raise ConfigError(f"sizes {too_long} exceed what the run was built for (max_size "
                         f"{task.max_length}, context {trained.cfg.context_len})")


def overlap_by_size(run_dir: str | Path, factors: Sequence[float], n_examples: int = 100,
                    eval_seed: int = 12345) -> dict[str, Any]:
    """For the finished run of a task in :data:`ADAPTERS`: at each size ``f * L``, the best
    overlap of each compiled head with any trained head (answer queries), and the trained
    model's per-position agreement with the compiled program. JSON-ready, for figures."""
    from icl_lab.training.tokens import load_token_model

    record, trained = load_token_model(run_dir)
    L = int(record["train_length"])
    task = make_task(record["task"], int(record["max_size"]))
    sizes = sorted({max(1, round(f * L)) for f in factors})
    _check_sizes(task, trained, sizes)
    compiled = compile_for(task)
    rows, _, overlaps, _ = _measure(trained, compiled, task, sizes, n_examples, eval_seed, L, None)
    return {"task": task.name, "L": L, "sizes": sizes,
            "compiled_heads": [name for _, _, name in compiled_head_names(compiled)],
            "best_overlap": [[float(overlaps[n][c].max()) for n in sizes] for c in range(len(overlaps[sizes[0]]))],
            "trained_vs_compiled": [r["trained_vs_compiled"] for r in rows]}


def compare(out_dir: str | Path, *, task: str = "count", preset: str = "quick",
            run_dir: str | Path | None = None, seed: int = 0, factors: Sequence[float] | None = None,
            n_examples: int | None = None, settings: Sequence[str] = (),
            stem: str = "rasp_compare", plot: bool = True,
            log: Callable[[str], None] | None = print) -> Comparison:
    """Train (or load) a ``task`` TokenLM, compile the task's RASP program, compare them.

    ``out_dir`` receives the tables (``<stem>.csv`` / ``.md``, ``<stem>_heads.csv``), the
    figures (``<stem>_attention`` and ``<stem>_agreement``, PNG + PDF; with ``plot``) and,
    unless ``run_dir`` is given, the training run (``out_dir/runs/<preset>/<task>/seed<seed>``;
    a finished one with the same config is reused).
    ``factors`` (sizes ``f * L``) default to the run's test factors; ``n_examples`` to its
    ``n_eval``. Torch runs on one thread."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        record, trained, run_dir = train_or_load(out_dir / "runs" / preset, preset, seed, run_dir,
                                                 settings, task=task)
        train_length = int(record["train_length"])
        n_eval, eval_seed, _ = record.get("eval", (200, 12345, 4))  # the experiment's defaults
        factors = tuple(record["test_factors"] if factors is None else factors)
        n_examples = int(n_examples or n_eval)
        the_task = make_task(task, int(record["max_size"]))
        sizes = sorted({max(1, round(f * train_length)) for f in factors})
        _check_sizes(the_task, trained, sizes)
        compiled = compile_for(the_task)
        cnames = [name for _, _, name in compiled_head_names(compiled)]
        tnames = [f"L{i}H{h}" for i in range(trained.cfg.n_layer) for h in range(trained.cfg.n_head)]
        rows, by_position, overlaps, at_sep = _measure(trained, compiled, the_task, sizes, n_examples,
                                                       eval_seed, train_length, log)
        heads = []
        anchor = min(sizes, key=lambda n: abs(n - train_length))  # match heads at L
        for c, cname in enumerate(cnames):
            t_fixed = int(overlaps[anchor][c].argmax())
            for n in sizes:
                best, sep = int(overlaps[n][c].argmax()), int(at_sep[n][c].argmax())
                heads.append({"n": n, "factor": round(n / train_length, 3), "compiled_head": cname,
                              "trained_head": tnames[t_fixed],
                              "overlap": float(overlaps[n][c, t_fixed]),
                              "best_trained_head": tnames[best],
                              "best_overlap": float(overlaps[n][c, best]),
                              "sep_trained_head": tnames[sep],
                              "sep_overlap": float(at_sep[n][c, sep])})
        n_show = min(sizes, key=lambda n: abs(n - 2 * train_length))
        example = sample(the_task, n_show, 1, eval_seed + 1)[0]
        result = Comparison(task, train_length, run_dir, rows, heads, by_position, overlaps,
                            cnames, tnames, example)
        result.paths += write_tables(result, out_dir, stem)
        if plot:
            shown = run_both(trained, compiled, the_task, [example], patterns=True)
            result.paths += plot_attention(result, the_task, shown, out_dir / f"{stem}_attention")
            result.paths += plot_agreement(result, out_dir / f"{stem}_agreement")
    finally:
        torch.set_num_threads(before)
    return result


__all__ = ["ADAPTERS", "AGREEMENT_COLUMNS", "Comparison", "HEAD_COLUMNS", "SETTINGS", "ProgramAdapter",
           "compare", "compile_for", "head_overlap", "overlap_by_size", "run_both", "sample",
           "train_or_load"]
