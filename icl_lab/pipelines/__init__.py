"""Pipelines: one per experiment kind, all of one shape.

``kind = "..."`` in an experiment file picks the pipeline. Each pipeline offers
``load(path, preset, overrides) -> config`` (the config has ``name``, ``preset``, ``kind`` and
``to_dict()``), ``run(config, run_dir, resume=, force=, train_only=) -> results`` (writes
config.json, status.json and results.json in ``run_dir``, plus whatever the kind draws; with
``train_only`` it stops at status ``trained``), ``config_of_record(config.json data) -> config``
and ``summary(results, config) -> lines`` for the terminal. A kind that can train several runs
at once as one batched ensemble (regression) also offers ``ensemble_key(config) -> str | None``
(runs with equal keys may train together) and ``run_ensemble(configs, run_dirs, resume=) -> [results]``;
the sweep groups runs by it, and ``train.ensemble = K`` in a file asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from icl_lab.core.config_files import DEFAULT_KIND, build_dataclass, read_experiment
from icl_lab.core.errors import ConfigError, RunError, check
from icl_lab.core.runs import RunDir
from icl_lab.pipelines import bandits, cot, length_generalization, lsa, regression
from icl_lab.training.ensemble import ensemble_key


@dataclass(frozen=True)
class Pipeline:
    kind: str
    load: Callable[..., Any]
    run: Callable[..., dict]
    summary: Callable[[dict, Any], list[str]]
    description: str
    config_of_record: Callable[[dict], Any]  # a run's config.json back to its typed config
    seed_key: str = "train.seed"  # what `icl-lab sweep --seeds` sets
    ensemble_key: Callable[[Any], str | None] = lambda _cfg: None  # None: this kind trains runs one by one
    run_ensemble: Callable[..., list[dict]] | None = None


def _table(fn: Callable[[Any], str], key: str) -> Callable[[dict, Any], list[str]]:
    return lambda results, _cfg: fn(results[key]).splitlines()


PIPELINES: dict[str, Pipeline] = {
    "regression": Pipeline("regression", regression.load, regression.run,
                           lambda results, cfg: regression.summary(results, cfg.task.d),
                           "a sequence model vs classical learners on (x, y) prompts (regression, Boolean, Bayesian priors)",
                           regression.build_config, ensemble_key=ensemble_key,
                           run_ensemble=regression.run_ensemble),
    "bandits": Pipeline("bandits", bandits.load_config, bandits.run_bandits, _table(bandits.format_table, "settings"),
                        "in-context bandits: DPT / AD vs UCB, Thompson sampling, LinUCB, the Bayes-optimal DP",
                        lambda record: build_dataclass(bandits.BanditExperimentConfig, record)),
    "cot": Pipeline("cot", cot.load_config, cot.run_chain_of_thought, _table(cot.format_table, "table"),
                    "chain of thought vs direct answers",
                    lambda record: build_dataclass(cot.CotExperimentConfig, record), seed_key="seeds"),
    "length_generalization": Pipeline("length_generalization", length_generalization.load_config,
                                      length_generalization.run_length_generalization,
                                      _table(length_generalization.format_table, "table"),
                                      "length generalization of algorithmic tasks vs their RASP-L verdicts",
                                      lambda record: build_dataclass(length_generalization.LengthGenConfig, record),
                                      seed_key="seeds"),
    "lsa": Pipeline("lsa", lsa.load_lsa_config, lsa.run, lambda results, _cfg: lsa.summary(results),
                    "linear self-attention vs its closed forms and the GD construction",
                    lambda record: build_dataclass(lsa.LSATheoryConfig, record), seed_key="seed"),
}


def pipeline_of(path: str | Path) -> Pipeline:
    """The pipeline named by the experiment file's ``kind``."""
    kind = read_experiment(path, preset="").get("kind", DEFAULT_KIND)
    check(kind in PIPELINES, "kind", kind, f"one of {sorted(PIPELINES)}")
    return PIPELINES[kind]


def load_experiment(path: str | Path, preset: str | None = None,
                    overrides: list[str] | tuple[str, ...] = ()) -> tuple[Pipeline, Any]:
    """The pipeline and the validated config of an experiment file (preset, then overrides)."""
    pipeline = pipeline_of(path)
    if pipeline.run_ensemble is None:
        train = read_experiment(path, preset, list(overrides)).get("train")
        if isinstance(train, dict) and "ensemble" in train:
            raise ConfigError(f"invalid train.ensemble={train['ensemble']!r}: kind = {pipeline.kind!r} trains its "
                              "models one by one (ensembles are for kind = 'regression')")
    return pipeline, pipeline.load(path, preset, list(overrides))


def load_run(run_dir: str | Path) -> tuple[Pipeline, Any]:
    """The pipeline and typed config of a run directory (from its config.json)."""
    record = RunDir(run_dir).record()
    kind = record.get("kind", DEFAULT_KIND)
    if kind not in PIPELINES:
        raise RunError(f"{run_dir} holds a run of unknown kind {kind!r}")
    return PIPELINES[kind], PIPELINES[kind].config_of_record(record)


def default_run_dir(cfg: Any) -> Path:
    """``runs/<name>-<preset>`` (``runs/<name>`` without a preset)."""
    return Path("runs") / (f"{cfg.name}-{cfg.preset}" if cfg.preset else cfg.name)
