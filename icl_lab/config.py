"""Experiment configuration: frozen, validated dataclasses with TOML/JSON round-trips.

An experiment file (``experiments/<name>.toml``) holds top-level tables ``[task]``,
``[model]``, ``[train]`` and ``[eval]`` plus named overlays ``[presets.<name>.<section>]``.
Resolution order: dataclass defaults < file tables < preset overlay < ``--set`` overrides.
Unknown keys and invalid values raise :class:`ConfigError` (a ``ValueError``) with one
line that names the field, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

CONFIG_VERSION = 1

# Garg et al. model sizes: (n_embd, n_layer, n_head).
MODEL_SIZES: dict[str, tuple[int, int, int]] = {
    "tiny": (64, 3, 2),
    "small": (128, 6, 4),
    "standard": (256, 12, 8),
}


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message is meant for humans."""


def _check(cond: bool, field_name: str, value: Any, allowed: str) -> None:
    if not cond:
        raise ConfigError(f"invalid {field_name}={value!r}: expected {allowed}")


@dataclass(frozen=True)
class TaskConfig:
    """The prior over functions and the prompt shape."""

    name: str = "linear_regression"
    d: int = 20  # input dimension
    n_points: int = 41  # examples per prompt
    noise_std: float = 0.0
    prior_std: float = 1.0  # std of each weight coordinate (linear families)
    sparsity: int = 3  # non-zero coordinates (sparse_linear_regression)
    hidden: int = 100  # width (relu_net_regression)
    depth: int = 4  # depth (decision_tree_regression)
    renormalize_ys: bool = False  # Garg et al. noisy eval: rescale y to std sqrt(d)
    x_distribution: str = "gaussian"  # see tasks/inputs.py
    # Finite task pool (Raventós et al.): w drawn uniformly from M fixed vectors; 0 = Gaussian prior.
    pool_size: int = 0
    pool_seed: int = 0  # fixes the pool itself
    # Boolean family (task.name = "boolean", tasks/boolean.py): x in {-1, +1}^n, y in {-1, +1}.
    function_class: str = "conjunction"  # see icl_lab.tasks.boolean.BOOLEAN_CLASSES
    n: int = 0  # Boolean input dimension; 0: use d. For Boolean tasks d follows n.
    label_noise: float = 0.0  # probability of flipping each Boolean label
    sparse_k: int = 0  # support size of sparse_disjunction / sparse_parity; 0: class default (4 / 2)
    nn_start: int = 20  # nearest_neighbour: the first nn_start labels are uniform coin flips
    # Bayesian-prism priors (tasks/bayesian.py, Panwar et al.; papers.md §4, §5).
    mixture_mean: float = 3.0  # gaussian_mixture_regression: component means ±mixture_mean·e_1
    mixture_weight: float = 0.5  # gaussian_mixture_regression: probability of the +e_1 component
    fourier_freq: int = 10  # fourier_series: max frequency K; fourier_mixture: K_max (K ~ U{1..K_max})
    fourier_half_period: float = 5.0  # L: x ~ U(−L, L), features cos/sin(kπx/L)
    n_monomials: int = 20  # monomial_regression: size of the fixed set of degree-2 monomials
    monomial_seed: int = 0  # fixes the monomial set itself
    families: tuple[str, ...] = ("linear", "sparse_linear", "relu_net", "sinusoid")  # family_mixture

    def __post_init__(self) -> None:
        from icl_lab.tasks import TASKS  # local import: tasks import this module
        from icl_lab.tasks.inputs import X_DISTRIBUTIONS

        _check(self.name in TASKS, "task.name", self.name, f"one of {sorted(TASKS)}")
        from icl_lab.tasks.bayesian import FOURIER_TASKS

        if self.name in FOURIER_TASKS:  # Fourier series are functions of one real input: d is 1
            object.__setattr__(self, "d", 1)
        _check(self.d >= 1, "task.d", self.d, "an integer >= 1")
        _check(self.n_points >= 1, "task.n_points", self.n_points, "an integer >= 1")
        _check(self.noise_std >= 0, "task.noise_std", self.noise_std, "a number >= 0")
        _check(self.prior_std > 0, "task.prior_std", self.prior_std, "a number > 0")
        # The upper bound matters only to the families that read sparsity (a d = 1 Fourier task keeps the default).
        max_sparsity = self.d if "sparsity" in TASKS[self.name].parameters else 2**31
        _check(1 <= self.sparsity <= max_sparsity, "task.sparsity", self.sparsity,
               f"an integer in [1, d={self.d}]")
        _check(self.hidden >= 1, "task.hidden", self.hidden, "an integer >= 1")
        _check(1 <= self.depth <= 12, "task.depth", self.depth, "an integer in [1, 12]")
        _check(self.x_distribution in X_DISTRIBUTIONS, "task.x_distribution",
               self.x_distribution, f"one of {sorted(X_DISTRIBUTIONS)}")
        _check(0 <= self.pool_size <= 2**24, "task.pool_size", self.pool_size, "an integer in [0, 2^24] (0: Gaussian prior)")
        from icl_lab.tasks.boolean import BOOLEAN_CLASSES

        _check(self.function_class in BOOLEAN_CLASSES, "task.function_class", self.function_class,
               f"one of {list(BOOLEAN_CLASSES)}")
        _check(self.n >= 0, "task.n", self.n, "an integer >= 0 (0: use task.d)")
        _check(0 <= self.label_noise < 0.5, "task.label_noise", self.label_noise, "a number in [0, 0.5)")
        _check(self.nn_start >= 1, "task.nn_start", self.nn_start, "an integer >= 1")
        if self.name == "boolean":  # d (read by the models) follows n; a d left at its default is synced
            if self.n == 0:
                object.__setattr__(self, "n", self.d)
            elif self.d == TaskConfig.__dataclass_fields__["d"].default:
                object.__setattr__(self, "d", self.n)
            _check(self.d == self.n, "task.d", self.d, f"equal to task.n={self.n} for Boolean tasks (or unset)")
        _check(0 <= self.sparse_k <= max(self.n, self.d), "task.sparse_k", self.sparse_k,
               f"an integer in [0, n={max(self.n, self.d)}] (0: the class default)")
        self._check_bayesian_priors()

    def _check_bayesian_priors(self) -> None:
        from icl_lab.tasks.bayesian import FAMILY_NAMES

        _check(self.mixture_mean >= 0, "task.mixture_mean", self.mixture_mean, "a number >= 0")
        _check(0 < self.mixture_weight < 1, "task.mixture_weight", self.mixture_weight, "a number in (0, 1)")
        _check(1 <= self.fourier_freq <= 64, "task.fourier_freq", self.fourier_freq, "an integer in [1, 64]")
        _check(self.fourier_half_period > 0, "task.fourier_half_period", self.fourier_half_period, "a number > 0")
        n_pairs = self.d * (self.d + 1) // 2 if self.name == "monomial_regression" else 2**31
        _check(1 <= self.n_monomials <= n_pairs, "task.n_monomials", self.n_monomials,
               f"an integer in [1, d(d+1)/2={n_pairs}] (the number of distinct degree-2 monomials)")
        bad = [f for f in self.families if f not in FAMILY_NAMES]
        _check(bool(self.families) and not bad and len(set(self.families)) == len(self.families),
               "task.families", list(self.families), f"distinct names from {list(FAMILY_NAMES)}")


@dataclass(frozen=True)
class ModelConfig:
    """The sequence model. ``size`` in a file expands to (n_embd, n_layer, n_head)."""

    family: str = "transformer"  # a key of icl_lab.models.MODEL_FAMILIES
    encoding: str = "interleaved"  # "interleaved" (Garg et al.) or "compact"
    n_embd: int = 256
    n_layer: int = 12
    n_head: int = 8
    max_points: int = 101  # context length in examples (sizes the position table)
    dropout: float = 0.0
    # Looped models (family "looped", Yang et al. 2024, papers.md §2): the n_layer blocks are
    # the looped unit, run b = n_loops times; only the last T = loop_grad_iters carry gradients.
    n_loops: int = 1  # b at the end of the loop curriculum (and the default at evaluation)
    loop_grad_iters: int = 0  # T; 0 = every iteration
    loop_curriculum_start: int = 0  # b at step 0; 0 = no loop curriculum
    loop_curriculum_inc: int = 2
    loop_curriculum_interval: int = 500
    eval_loops: int = 0  # iterations at evaluation; 0 = n_loops
    loop_tol: float = 0.0  # evaluation: stop when the relative update < loop_tol; 0 = never
    pre_layers: int = 0  # AlgoFormer: blocks run once before the loop
    post_layers: int = 0  # AlgoFormer: blocks run after each loop iteration, before the read-out
    # Read-out: "mean" (one output, the task's loss) or "gaussian" (mean and variance, trained by
    # Gaussian negative log-likelihood: Liu et al., papers.md §7; models/gaussian_head.py).
    head: str = "mean"

    def __post_init__(self) -> None:
        from icl_lab.models import MODEL_FAMILIES

        _check(self.family in MODEL_FAMILIES, "model.family", self.family, f"one of {sorted(MODEL_FAMILIES)}")
        _check(self.encoding in ("interleaved", "compact"), "model.encoding", self.encoding,
               "'interleaved' or 'compact'")
        for name in ("n_embd", "n_layer", "n_head", "max_points"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 1, f"model.{name}", value, "an integer >= 1")
        _check(self.n_embd % self.n_head == 0, "model.n_head", self.n_head,
               f"a divisor of n_embd={self.n_embd}")
        _check(0 <= self.dropout < 1, "model.dropout", self.dropout, "a number in [0, 1)")
        for name in ("n_loops", "loop_curriculum_inc", "loop_curriculum_interval"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 1, f"model.{name}", value, "an integer >= 1")
        for name in ("loop_grad_iters", "eval_loops", "pre_layers", "post_layers"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 0, f"model.{name}", value, "an integer >= 0")
        _check(0 <= self.loop_curriculum_start <= self.n_loops, "model.loop_curriculum_start",
               self.loop_curriculum_start, f"an integer in [0, n_loops={self.n_loops}]")
        _check(self.loop_tol >= 0, "model.loop_tol", self.loop_tol, "a number >= 0")
        _check(self.head in ("mean", "gaussian"), "model.head", self.head, "'mean' or 'gaussian'")
        _check(self.head == "mean" or self.family == "transformer", "model.head", self.head,
               f"'mean' for model.family={self.family!r} (the gaussian head exists for 'transformer')")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, curriculum and bookkeeping."""

    steps: int = 500_000
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: str = "constant"  # "constant" or "cosine" (after warm-up)
    grad_clip: float = 0.0  # 0 disables clipping
    bf16: bool = False  # autocast matmuls to bfloat16
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda"
    # CPU threads for torch (0 = torch's default). Small models on a busy 2-core machine
    # run faster on 1 thread: OpenMP barriers stall when cores are oversubscribed.
    cpu_threads: int = 0
    log_every: int = 100
    checkpoint_every: int = 1000
    # Curriculum (Garg et al.): start values, increments, every `curriculum_interval` steps.
    dims_start: int = 0  # 0 = no dimension curriculum (all d active)
    dims_inc: int = 1
    points_start: int = 0  # 0 = no prompt-length curriculum
    points_inc: int = 2
    curriculum_interval: int = 2000

    def __post_init__(self) -> None:
        _check(self.steps >= 1, "train.steps", self.steps, "an integer >= 1")
        _check(self.batch_size >= 1, "train.batch_size", self.batch_size, "an integer >= 1")
        _check(self.lr > 0, "train.lr", self.lr, "a number > 0")
        _check(self.weight_decay >= 0, "train.weight_decay", self.weight_decay, "a number >= 0")
        _check(self.warmup_steps >= 0, "train.warmup_steps", self.warmup_steps, "an integer >= 0")
        _check(self.schedule in ("constant", "cosine"), "train.schedule", self.schedule,
               "'constant' or 'cosine'")
        _check(self.grad_clip >= 0, "train.grad_clip", self.grad_clip, "a number >= 0")
        _check(self.device in ("auto", "cpu", "cuda"), "train.device", self.device,
               "'auto', 'cpu' or 'cuda'")
        for name in ("log_every", "checkpoint_every", "curriculum_interval", "dims_inc", "points_inc"):
            value = getattr(self, name)
            _check(value >= 1, f"train.{name}", value, "an integer >= 1")
        _check(self.cpu_threads >= 0, "train.cpu_threads", self.cpu_threads, "an integer >= 0")
        _check(self.dims_start >= 0, "train.dims_start", self.dims_start, "an integer >= 0")
        _check(self.points_start >= 0, "train.points_start", self.points_start, "an integer >= 0")


@dataclass(frozen=True)
class EvalConfig:
    """Held-out evaluation: prompts, baselines, bootstrap, out-of-distribution suite."""

    n_prompts: int = 1280
    batch_size: int = 256
    seed: int = 12345  # different stream from training
    baselines: tuple[str, ...] = ("least_squares", "ridge", "averaging", "knn")
    ridge_lam: float = 0.1
    knn_k: int = 3
    lasso_alpha: float = 0.01
    gd_steps: int = 1
    bootstrap: int = 1000
    ood: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from icl_lab.baselines.registry import BASELINE_NAMES
        from icl_lab.evaluate import OOD_VARIANTS

        _check(self.n_prompts >= 2, "eval.n_prompts", self.n_prompts, "an integer >= 2")
        _check(self.batch_size >= 1, "eval.batch_size", self.batch_size, "an integer >= 1")
        for name in self.baselines:
            _check(name in BASELINE_NAMES, "eval.baselines", name, f"names from {sorted(BASELINE_NAMES)}")
        for name in self.ood:
            _check(name in OOD_VARIANTS, "eval.ood", name, f"names from {sorted(OOD_VARIANTS)}")
        _check(self.ridge_lam >= 0, "eval.ridge_lam", self.ridge_lam, "a number >= 0")
        _check(self.knn_k >= 1, "eval.knn_k", self.knn_k, "an integer >= 1")
        _check(self.lasso_alpha > 0, "eval.lasso_alpha", self.lasso_alpha, "a number > 0")
        _check(self.gd_steps >= 1, "eval.gd_steps", self.gd_steps, "an integer >= 1")
        _check(self.bootstrap >= 10, "eval.bootstrap", self.bootstrap, "an integer >= 10")


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: what to sample, what to train, how to evaluate."""

    name: str = "experiment"
    preset: str = ""
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        from icl_lab.baselines.registry import is_boolean, unavailable_reason

        for name in () if is_boolean(self.task) else self.eval.baselines:
            reason = unavailable_reason(name, self.task)
            _check(reason is None, "eval.baselines", name, f"a baseline for task {self.task.name!r}: {name} {reason}")
        if self.task.n_points > self.model.max_points:
            raise ConfigError(
                f"invalid task.n_points={self.task.n_points}: the model's context holds "
                f"model.max_points={self.model.max_points} examples"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"config_version": CONFIG_VERSION, **dataclasses.asdict(self)}


SECTIONS: dict[str, type] = {
    "task": TaskConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "eval": EvalConfig,
}


# ----------------------------------------------------------------------------- building


def _coerce(section: str, key: str, value: Any, annotation: Any) -> Any:
    """Check a raw value against the field's type, converting where lossless."""
    name = f"{section}.{key}"
    text = str(annotation)
    if text.startswith("tuple"):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v] if value else []
        _check(isinstance(value, (list, tuple)), name, value, "a list of names")
        return tuple(str(v) for v in value)
    if annotation is bool:
        _check(isinstance(value, bool), name, value, "true or false")
        return value
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        _check(ok, name, value, "an integer")
        return value
    if annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        _check(ok, name, value, "a number")
        return float(value)
    if annotation is str:
        _check(isinstance(value, str), name, value, "a string")
        return value
    return value


def _build_section(section: str, raw: dict[str, Any]) -> Any:
    cls = SECTIONS[section]
    raw = dict(raw)
    if section == "model" and "size" in raw:
        size = raw.pop("size")
        _check(size in MODEL_SIZES, "model.size", size, f"one of {sorted(MODEL_SIZES)}")
        n_embd, n_layer, n_head = MODEL_SIZES[size]
        raw = {"n_embd": n_embd, "n_layer": n_layer, "n_head": n_head, **raw}
    hints = get_type_hints(cls)
    valid = [f.name for f in fields(cls)]
    unknown = sorted(set(raw) - set(valid))
    if unknown:
        extra = " (and 'size')" if section == "model" else ""
        raise ConfigError(f"unknown key {section}.{unknown[0]}: valid keys are {', '.join(valid)}{extra}")
    values = {k: _coerce(section, k, v, hints[k]) for k, v in raw.items()}
    return cls(**values)


def build_config(raw: dict[str, Any]) -> ExperimentConfig:
    """Build a validated :class:`ExperimentConfig` from nested plain data."""
    raw = dict(raw)
    version = raw.pop("config_version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        raise ConfigError(
            f"config_version={version!r} is from another version of icl_lab "
            f"(this one reads version {CONFIG_VERSION})"
        )
    top_keys = {"name", "preset", *SECTIONS}
    unknown = sorted(set(raw) - top_keys)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r}: valid top-level keys are {', '.join(sorted(top_keys))}")
    kwargs: dict[str, Any] = {}
    for key in ("name", "preset"):
        if key in raw:
            _check(isinstance(raw[key], str), key, raw[key], "a string")
            kwargs[key] = raw[key]
    for section in SECTIONS:
        section_raw = raw.get(section, {})
        _check(isinstance(section_raw, dict), section, section_raw, "a table of keys")
        kwargs[section] = _build_section(section, section_raw)
    return ExperimentConfig(**kwargs)


def parse_override(text: str) -> tuple[str, str, Any]:
    """Parse ``section.key=value``; the value is read as TOML (falls back to a string)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"invalid override {text!r}: expected section.key=value, e.g. task.d=10")
    path, value_text = text.split("=", 1)
    section, key = path.strip().split(".", 1)
    if section not in SECTIONS:
        raise ConfigError(f"unknown section in override {text!r}: valid sections are {', '.join(SECTIONS)}")
    try:
        value = tomllib.loads(f"v = {value_text}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text  # bare words such as task.name=sparse_linear_regression
    return section, key.strip(), value


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def read_experiment_file(path: str | Path) -> dict[str, Any]:
    """Read an experiment TOML file into plain data, with a one-line error if unreadable."""
    path = Path(path)
    if not path.is_file():
        candidate = Path("experiments") / f"{path.name}.toml"
        if not path.suffix and candidate.is_file():
            path = candidate
        else:
            raise ConfigError(f"experiment file not found: {path}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}") from None


def load_experiment(path: str | Path, preset: str | None = None,
                    overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Load an experiment file, apply a preset overlay and ``--set`` overrides, validate."""
    data = read_experiment_file(path)
    presets = data.pop("presets", {})
    description = data.pop("description", None)
    del description  # documentation only
    preset = preset if preset is not None else data.pop("default_preset", "quick")
    data.pop("default_preset", None)
    if preset:
        if preset not in presets:
            raise ConfigError(f"unknown preset {preset!r} in {path}: available presets are {', '.join(presets) or 'none'}")
        data = _merge(data, presets[preset])
    data.setdefault("name", Path(path).stem)
    data["preset"] = preset
    for text in overrides:
        section, key, value = parse_override(text)
        data.setdefault(section, {})[key] = value
    return build_config(data)


def save_config(cfg: ExperimentConfig, path: str | Path) -> None:
    Path(path).write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")


def load_config_json(path: str | Path) -> ExperimentConfig:
    """Read a resolved config saved by :func:`save_config`."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    return build_config(raw)
