"""Sweep plans: ``--grid`` axes × seeds expanded into named, fully validated run configs.

Sweeps run any pipeline (the experiment file's ``kind``). Every run's config is built by
its pipeline's loader before anything is written, so a bad grid (unknown key, empty value list, wrong type) fails with one
line and no run directory exists yet.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl_lab.core.errors import ConfigError
from icl_lab.pipelines import Pipeline, load_experiment

MANIFEST_VERSION = 1
MAX_NAME_LENGTH = 200  # well under the 255-byte file-name limit of common file systems
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


class SweepError(ConfigError):
    """A sweep cannot run as asked; the message is one line meant for humans."""


@dataclass(frozen=True)
class GridAxis:
    """One ``--grid section.key=v1,v2,...``: the key and its values as typed."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class PlannedRun:
    """One point of the sweep: a grid point and a seed, with its resolved config."""

    name: str
    point: tuple[tuple[str, str], ...]  # (key, value text) for each grid axis
    seed: int
    overrides: tuple[str, ...]
    config: Any  # the pipeline's config

    @property
    def config_hash(self) -> str:
        return config_hash(self.config)


@dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep will run, resolved and validated."""

    experiment: str
    preset: str
    base_overrides: tuple[str, ...]
    axes: tuple[GridAxis, ...]
    seeds: tuple[int, ...]
    vary_eval_seed: bool
    base: Any  # the pipeline's config without grid values and seeds
    runs: tuple[PlannedRun, ...]
    pipeline: Pipeline

    def default_dir(self) -> Path:
        """``runs/sweeps/<experiment>-<preset>`` (relative to the working directory)."""
        name = f"{self.base.name}-{self.base.preset}" if self.base.preset else self.base.name
        return Path("runs") / "sweeps" / name

    def manifest(self) -> dict[str, Any]:
        """The ``sweep.json`` content: grid, seeds, run names and config hashes."""
        return {
            "manifest_version": MANIFEST_VERSION,
            "kind": self.pipeline.kind,
            "experiment": self.experiment,
            "preset": self.preset,
            "set": list(self.base_overrides),
            "grid": {axis.key: list(axis.values) for axis in self.axes},
            "seeds": list(self.seeds),
            "vary_eval_seed": self.vary_eval_seed,
            "d": getattr(getattr(self.base, "task", None), "d", None),
            "runs": [{"name": run.name, "params": params_of(run), "seed": run.seed,
                      "config_hash": run.config_hash, "overrides": list(run.overrides)}
                     for run in self.runs],
        }


def config_hash(cfg: Any) -> str:
    """A short, stable fingerprint of a resolved config (sorted-key JSON, SHA-256)."""
    text = json.dumps(cfg.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def split_values(text: str) -> list[str]:
    """Split ``v1,v2,...`` on top-level commas (commas inside [...] or quotes stay)."""
    parts, current, depth, quote = [], [], 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts


def parse_grid(text: str) -> GridAxis:
    """Parse one ``--grid key=v1,v2,...`` (the key itself is checked when configs are built)."""
    if "=" not in text or not text.split("=", 1)[0].strip():
        raise ConfigError(f"invalid --grid {text!r}: expected key=v1,v2,..., e.g. task.d=5,10")
    key, values_text = (part.strip() for part in text.split("=", 1))
    if not values_text:
        raise ConfigError(f"empty value list in --grid {text!r}: expected section.key=v1,v2,...")
    values = split_values(values_text)
    if any(not v for v in values):
        raise ConfigError(f"empty value in --grid {text!r}: remove the stray comma")
    if len(set(values)) != len(values):
        raise ConfigError(f"repeated value in --grid {text!r}: list each value once")
    return GridAxis(key, tuple(values))


def parse_seeds(text: str | int) -> tuple[int, ...]:
    """``N`` means seeds 0..N-1; ``a,b,c`` (or ``a,``) lists the seeds explicitly."""
    text = str(text).strip()
    try:
        if "," in text:
            seeds = tuple(int(part) for part in text.split(",") if part.strip())
        else:
            count = int(text)
            if count < 1:
                raise ValueError
            seeds = tuple(range(count))
    except ValueError:
        raise ConfigError(f"invalid --seeds {text!r}: expected a count >= 1 (seeds 0..N-1) "
                          "or a comma list such as 0,5,9") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"invalid --seeds {text!r}: expected distinct seeds >= 0")
    return seeds


def sanitize(name: str) -> str:
    """A file-system-safe run name: unsafe characters become '-', long names get a hash suffix."""
    safe = _UNSAFE.sub("-", name).strip("-.") or "run"
    if len(safe) > MAX_NAME_LENGTH:
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        safe = f"{safe[:MAX_NAME_LENGTH - 11]}-{digest}"
    return safe


def run_name(point: tuple[tuple[str, str], ...], seed: int) -> str:
    """``task.d=5__model.n_layer=2__seed=0``: grid values in ``--grid`` order, then the seed."""
    return sanitize("__".join([*(f"{k}={v}" for k, v in point), f"seed={seed}"]))


def params_of(run: PlannedRun) -> dict[str, Any]:
    """The grid values of a run as the config resolved them (JSON-ready)."""
    out: dict[str, Any] = {}
    for key, text in run.point:
        value: Any = run.config
        for part in key.split("."):
            value = getattr(value, part, None) if not isinstance(value, dict) else value.get(part)
        value = text if value is None else value  # e.g. model.size is not a field
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def _override_keys(overrides: list[str] | tuple[str, ...]) -> set[str]:
    return {text.split("=", 1)[0].strip() for text in overrides}


def _check_axes(axes: tuple[GridAxis, ...], base_overrides: tuple[str, ...], seed_key: str) -> None:
    keys = [axis.key for axis in axes]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"--grid {repeated[0]} is given twice: put all its values in one --grid")
    both = sorted(set(keys) & _override_keys(base_overrides))
    if both:
        raise ConfigError(f"{both[0]} is in both --set and --grid: keep one")
    if seed_key in keys or seed_key in _override_keys(base_overrides):
        raise ConfigError(f"{seed_key} is set by --seeds (a count or a list such as 0,5,9); "
                          "remove it from --set/--grid")


def _build_run(experiment: str, preset: str | None, overrides: list[str],
               point: tuple[tuple[str, str], ...]) -> Any:
    try:
        return load_experiment(experiment, preset, overrides)[1]
    except ConfigError as exc:
        where = ", ".join(f"{k}={v}" for k, v in point)
        raise ConfigError(f"{exc} (grid point {where})" if where else str(exc)) from None


def build_plan(experiment: str | Path, preset: str | None, set_: list[str] | tuple[str, ...],
               grid: list[str] | tuple[str, ...], seeds: str | int = 1,
               vary_eval_seed: bool = False) -> SweepPlan:
    """Expand ``grid`` × ``seeds`` into runs and validate every config (nothing is written).

    Seeds set the pipeline's seed key (``train.seed``; ``seeds`` for the multi-seed kinds);
    ``eval.seed`` stays the same for every seed (identical held-out prompts) unless
    ``vary_eval_seed`` (regression only), which adds the train seed to it.
    """
    base_overrides = tuple(set_)
    pipeline, base = load_experiment(experiment, preset, base_overrides)  # a bad --set fails first
    if vary_eval_seed and pipeline.kind != "regression":
        raise ConfigError(f"--vary-eval-seed is for kind = 'regression' experiments, not {pipeline.kind!r}")
    axes = tuple(parse_grid(text) for text in grid)
    _check_axes(axes, base_overrides, pipeline.seed_key)
    seed_list = parse_seeds(seeds)
    runs, names, hashes = [], {}, {}
    for point in itertools.product(*[[(axis.key, v) for v in axis.values] for axis in axes]):
        for seed in seed_list:
            overrides = [*base_overrides, *(f"{k}={v}" for k, v in point), f"{pipeline.seed_key}={seed}"]
            if vary_eval_seed:
                overrides.append(f"eval.seed={base.eval.seed + seed}")
            run = PlannedRun(run_name(point, seed), point, seed, tuple(overrides),
                             _build_run(str(experiment), preset, overrides, point))
            raw = ", ".join([*(f"{k}={v}" for k, v in point), f"seed={seed}"])
            if run.name in names:
                raise ConfigError(f"grid points ({names[run.name]}) and ({raw}) give the same run "
                                  f"name {run.name!r} after sanitising; use distinguishable values")
            if run.config_hash in hashes:
                raise ConfigError(f"runs {hashes[run.config_hash]} and {run.name} resolve to the same "
                                  "config; remove the duplicate grid value")
            names[run.name] = raw
            hashes[run.config_hash] = run.name
            runs.append(run)
    return SweepPlan(str(experiment), base.preset, base_overrides, axes, seed_list, vary_eval_seed,
                     base, tuple(runs), pipeline)
