"""In-context bandit experiments (DPT, AD; Lee et al. 2023, arXiv:2306.14892; Lin et al. 2023, arXiv:2310.08566; Laskin et al. 2022, arXiv:2210.14215) and the Bayes-optimal DP.

A config names several *settings* (e.g. ``dpt_gaussian``, ``dpt_linear``, ``ad_linucb``,
``bernoulli_k2``). For each setting: write the pretraining data (``dpt``: random-policy
contexts labelled with the optimal arm; ``ad``: learning histories of a source algorithm
labelled with its next action; ``none``: no model), train a BanditTransformer, and run it
online (sampling from its softmax, and greedily) next to the classical learners on the
same held-out tasks and reward table; optionally offline simple regret (K-armed
Gaussian) and the exact Bayes-optimal policy (Bernoulli, ``bayes_optimal``).

Layout of an output directory::

    <setting>/data/         chunked pretraining data + manifest.json
    <setting>/run/          model run (config.json, metrics.jsonl, checkpoint.pt, status.json)
    <setting>/results.json  regret curves, offline curves, timings
    results.json            config and every setting's results
    table.md                regret at the horizon, mean ± s.e., every learner
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from icl_lab.baselines.bandit_bayes_optimal import BayesOptimalBernoulli, n_states, solve
from icl_lab.baselines.bandits import BanditPolicy, make_policy
from icl_lab.core.config_files import build_dataclass, expect_kind, read_experiment
from icl_lab.core.errors import ConfigError, check
from icl_lab.core.runs import RunDir, atomic_write_bytes, atomic_write_json, log_line
from icl_lab.evaluation.bandits import (
    ModelPolicy,
    held_out_contexts,
    imitation_accuracy,
    model_probabilities,
    offline_simple_regret,
    online_regret,
    posterior_distance,
)
from icl_lab.models.bandit_transformer import BanditModelConfig
from icl_lab.tasks.bandits import BanditEnvConfig, reward_table, sample_tasks
from icl_lab.training.bandit_data import CONTEXTS, ChunkedDataset, DataSpec, make_chunk, write_dataset
from icl_lab.training.bandits import train_bandit_model
from icl_lab.training.config import TrainConfig

METHODS = ("dpt", "ad", "none")

KIND = "bandits"  # experiment files with kind = "bandits" run here


@dataclass(frozen=True)
class SettingConfig:
    """One bandit setting: environment, pretraining recipe and the learners compared."""

    env: BanditEnvConfig = field(default_factory=BanditEnvConfig)
    method: str = "dpt"  # dpt | ad | none (classical learners only)
    source: str = "linucb:1,2"  # ad: the imitated algorithm (make_policy name)
    n_train_tasks: int = 10_000
    chunk_size: int = 2_000
    steps: int = 0  # training steps; 0 = train.steps
    lr: float = 0.0  # peak learning rate; 0 = train.lr
    batch_size: int = 0  # 0 = train.batch_size
    n_layer: int = 0  # 0 = model.n_layer (the DPT and Lin-Bai-Mei releases use different depths)
    n_head: int = 0  # 0 = model.n_head
    learners: tuple[str, ...] = ("uniform", "greedy", "thompson", "ucb:1")
    offline_sizes: tuple[int, ...] = ()  # offline simple regret at these dataset sizes
    context: str = "dirichlet"  # dpt: random policy of the pretraining contexts (training.bandit_data)
    uniform_share: float = 0.0  # ad: fraction of pretraining histories from the uniform policy
    posterior_contexts: int = 0  # > 0: distance to the exact P(a* | D) on this many held-out contexts
    noise_shift: tuple[float, ...] = ()  # gaussian: also evaluate online at these test-time noise levels

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"invalid method={self.method!r}: expected one of {', '.join(METHODS)}")
        for name in self.learners:
            if name != "bayes_optimal":
                make_policy(name)  # raises a one-line ValueError for unknown names
        if "bayes_optimal" in self.learners and self.env.kind != "bernoulli":
            raise ConfigError("learner bayes_optimal needs env.kind='bernoulli'")
        if self.offline_sizes and (self.env.kind == "linear" or max(self.offline_sizes) > self.env.horizon
                                   or min(self.offline_sizes) < 0):
            raise ConfigError(f"invalid offline_sizes={self.offline_sizes}: K-armed bandits only, "
                             f"sizes in 0..horizon={self.env.horizon}")
        if self.n_train_tasks < 1 or self.chunk_size < 1 or self.steps < 0:
            raise ConfigError("invalid n_train_tasks / chunk_size (>= 1) or steps (>= 0)")
        for name in ("lr", "batch_size", "n_layer", "n_head"):
            check(getattr(self, name) >= 0, name, getattr(self, name), "0 (the shared value) or a number > 0")
        check(self.context in CONTEXTS, "context", self.context, " or ".join(map(repr, CONTEXTS)))
        check(0 <= self.uniform_share <= 1, "uniform_share", self.uniform_share, "a number in [0, 1]")
        check(self.posterior_contexts >= 0 and (not self.posterior_contexts or self.env.kind != "linear"),
              "posterior_contexts", self.posterior_contexts, "0 (off), or > 0 on a K-armed bandit")
        check(all(s > 0 for s in self.noise_shift) and (not self.noise_shift or self.env.kind == "gaussian"),
              "noise_shift", list(self.noise_shift), "noise levels > 0, on a Gaussian bandit")


@dataclass(frozen=True)
class ModelSize:
    n_embd: int = 64
    n_layer: int = 3
    n_head: int = 2


@dataclass(frozen=True)
class BanditExperimentConfig:
    """The bandit suite (see experiments/bandits.toml)."""

    name: str = "bandits"
    preset: str = ""
    kind: str = KIND  # the pipeline (checked, so a record of another kind is not run here)
    run: tuple[str, ...] = ("dpt_gaussian",)  # settings to run, in order
    n_eval_tasks: int = 1000
    eval_seed: int = 777
    data_seed: int = 0
    cpu_threads: int = 1  # small models: extra threads only spin on shared cores
    model: ModelSize = field(default_factory=ModelSize)
    train: TrainConfig = field(default_factory=TrainConfig.for_tokens)
    settings: dict[str, SettingConfig] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check(self.kind == KIND, "kind", self.kind, f"{KIND!r} for this pipeline")
        for key in ("eval_seed", "data_seed"):
            check(0 <= getattr(self, key) < 2**32, key, getattr(self, key), "an integer in [0, 2^32)")
        missing = [s for s in self.run if s not in self.settings]
        if missing or not self.run:
            raise ConfigError(f"invalid run={list(self.run)}: settings are {', '.join(self.settings) or 'none'}")
        for name, setting in self.settings.items():  # each setting's model must be buildable
            size = model_size(self, setting)
            if size.n_embd % size.n_head:
                raise ConfigError(f"invalid settings.{name}.n_head={size.n_head}: expected a divisor of "
                                  f"model.n_embd={size.n_embd}")
        if self.n_eval_tasks < 2:
            raise ConfigError(f"invalid n_eval_tasks={self.n_eval_tasks}: expected >= 2 (standard errors)")
        BanditModelConfig(2, 1, **dataclasses.asdict(self.model))  # the model's own size checks

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


# ----------------------------------------------------------------------------- config files


def load_config(path: str | Path, preset: str | None = None, overrides: list[str] = ()) -> BanditExperimentConfig:
    """Read the TOML, apply ``[presets.<preset>]`` then ``--set key=value`` overrides
    (``train.steps=500``, ``settings.dpt_gaussian.env.horizon=20``, ``run=dpt_gaussian``)."""
    return build_dataclass(BanditExperimentConfig, expect_kind(read_experiment(path, preset, overrides), KIND))


# ----------------------------------------------------------------------------- one setting


def make_learners(setting: SettingConfig) -> dict[str, BanditPolicy]:
    """The classical learners of a setting, with the environment's noise and prior.

    Gaussian TS uses ``env.gaussian_prior``: exact for normal means, moment-matched to
    U[low, high] for uniform means (DPT's choice)."""
    env = setting.env
    prior_mean, prior_var = env.gaussian_prior
    learners: dict[str, BanditPolicy] = {}
    for name in setting.learners:
        if name == "bayes_optimal":
            learners[name] = BayesOptimalBernoulli(solve(env.n_arms, env.horizon, (env.beta_a, env.beta_b)))
        else:
            learners[name] = make_policy(name, noise_std=env.noise_std, prior_mean=prior_mean,
                                         prior_var=prior_var, theta_std=env.prior_theta_std)
    return learners


def model_size(cfg: BanditExperimentConfig, setting: SettingConfig) -> ModelSize:
    """The shared [model] size with the setting's own depth and heads where it sets them."""
    return dataclasses.replace(cfg.model, n_layer=setting.n_layer or cfg.model.n_layer,
                               n_head=setting.n_head or cfg.model.n_head)


def _model(cfg: BanditExperimentConfig, setting: SettingConfig, out: Path, *, resume: bool,
           force: bool, log: Callable[[str], None]) -> tuple[Any, ChunkedDataset, float, float]:
    """Write (or reuse) the pretraining data and train (or reuse) the model of a setting."""
    env = setting.env
    log(f"{out.name}: {setting.n_train_tasks} {setting.method} pretraining tasks -> {out / 'data'}")
    spec = DataSpec(env, setting.method, setting.source, setting.n_train_tasks, setting.chunk_size, cfg.data_seed,
                    setting.context, setting.uniform_share)
    t0 = time.perf_counter()
    dataset = ChunkedDataset(write_dataset(spec, out / "data"))
    data_s = time.perf_counter() - t0
    model_cfg = BanditModelConfig(env.n_arms, env.horizon, env.feature_dim,
                                  env.kind == "linear" and not env.fixed_arms, **dataclasses.asdict(model_size(cfg, setting)))
    train_cfg = dataclasses.replace(cfg.train, steps=setting.steps or cfg.train.steps, lr=setting.lr or cfg.train.lr,
                                    batch_size=setting.batch_size or cfg.train.batch_size)
    log(f"{out.name}: training {train_cfg.steps} steps in {out / 'run'}")
    t0 = time.perf_counter()
    model = train_bandit_model(model_cfg, train_cfg, dataset, out / "run", resume=resume, force=force,
                               progress=None)  # a progress bar on a terminal only
    return model, dataset, data_s, time.perf_counter() - t0


def run_setting(cfg: BanditExperimentConfig, name: str, out_dir: str | Path, *, resume: bool = False,
                force: bool = False, log: Callable[[str], None] = lambda s: None,
                train_only: bool = False) -> dict[str, Any]:
    """Data, training and evaluation of one setting; writes ``<out_dir>/<name>/results.json``
    (``train_only``: data and training only, status ``trained``)."""
    setting = cfg.settings[name]
    env = setting.env
    out = Path(out_dir) / name
    record = {"setting": json.loads(json.dumps(dataclasses.asdict(setting))), "model": dataclasses.asdict(cfg.model),
              "train": cfg.train.to_dict(), "eval": [cfg.n_eval_tasks, cfg.eval_seed, cfg.data_seed]}
    run = RunDir(out)
    cached = run.cached_results(record) if resume else None
    if cached is not None:
        return cached
    run.prepare(record, resume=resume, force=force)
    results_path = run.results_path
    timings: dict[str, float] = {}
    tasks = sample_tasks(env, cfg.n_eval_tasks, np.random.default_rng([cfg.eval_seed, 0]))
    rewards = reward_table(tasks, env.horizon, np.random.default_rng([cfg.eval_seed, 1]))
    learners = make_learners(setting)
    extra: dict[str, Any] = {}
    if "bayes_optimal" in learners:
        sol = learners["bayes_optimal"].solution
        extra["bayes_optimal"] = {"states": n_states(env.n_arms, env.horizon), "solve_s": round(sol.solve_s, 3),
                                  "exact_bayes_regret": sol.bayes_regret()}
    model = None
    if setting.method != "none":
        model, dataset, timings["data_s"], timings["train_s"] = _model(cfg, setting, out, resume=resume,
                                                                       force=force, log=log)
        learners = {setting.method: ModelPolicy(model, "sample"),
                    f"{setting.method}_greedy": ModelPolicy(model, "greedy"), **learners}
        if train_only:
            run.set_status("trained")
            return {"record": record, "trained": True}
        if setting.method == "ad":
            held_out = make_chunk(dataclasses.replace(dataset.spec, seed=cfg.eval_seed), 0, min(cfg.n_eval_tasks, 500))
            extra["imitation_accuracy"] = imitation_accuracy(model, held_out["actions"], held_out["rewards"],
                                                             held_out.get("features"))
    t0 = time.perf_counter()
    online = online_regret(learners, tasks, rewards, cfg.eval_seed)
    timings["online_eval_s"] = time.perf_counter() - t0
    offline = {}
    if setting.offline_sizes:
        prior_mean, prior_var = env.gaussian_prior
        offline = offline_simple_regret(tasks, rewards, list(setting.offline_sizes), cfg.eval_seed + 1, model,
                                        prior_mean=prior_mean, prior_var=prior_var, context=setting.context)
    if setting.posterior_contexts:
        extra["posterior"] = _posterior(setting, model, cfg.eval_seed)
    if setting.noise_shift:
        extra["noise_shift"] = _noise_shift(setting, learners, cfg.n_eval_tasks, cfg.eval_seed)
    result = {"record": record, "env": dataclasses.asdict(env), "method": setting.method,
              "n_eval_tasks": cfg.n_eval_tasks, "online": online, "offline": offline, **extra,
              "timings_s": {k: round(v, 2) for k, v in timings.items()}}
    if model is not None:
        result["n_parameters"] = model.num_parameters()
    atomic_write_json(results_path, result)
    run.set_status("finished")
    log(f"{name}: " + ", ".join(f"{k} {v['final_mean']:.2f}±{v['final_se']:.2f}" for k, v in online.items())
        + f" ({', '.join(f'{k} {v:.0f}s' for k, v in timings.items())})")
    return result


def _posterior(setting: SettingConfig, model, seed: int) -> dict[str, Any]:
    """Distance of the model (and of Gaussian TS) to the exact P(a* | D) on held-out
    random-policy contexts of the pretraining distribution."""
    env = setting.env
    tasks = sample_tasks(env, setting.posterior_contexts, np.random.default_rng([seed, 2]))
    # H − 1 transitions: prefixes 0..H−1, the ones the model is trained on and acts from online
    table = reward_table(tasks, env.horizon - 1, np.random.default_rng([seed, 3]))
    actions, rewards = held_out_contexts(tasks, table, seed + 4, setting.context)
    policies = {} if model is None else {setting.method: model_probabilities(model, actions, rewards)}
    return posterior_distance(env, actions, rewards, tasks.best_arm, policies)


def _noise_shift(setting: SettingConfig, learners: dict[str, BanditPolicy], n_tasks: int, seed: int
                 ) -> dict[str, Any]:
    """Regret at the horizon (mean ± s.e.) of every learner on tasks whose reward noise is σ'
    instead of the training σ. The model keeps its weights; the classical learners are told σ'
    (they know the noise, the model has to infer it from the rewards)."""
    out = {}
    for sigma in setting.noise_shift:
        env = dataclasses.replace(setting.env, noise_std=sigma)
        tasks = sample_tasks(env, n_tasks, np.random.default_rng([seed, 0]))
        rewards = reward_table(tasks, env.horizon, np.random.default_rng([seed, 5]))
        shifted = {**{name: p for name, p in learners.items() if isinstance(p, ModelPolicy)},
                   **make_learners(dataclasses.replace(setting, env=env))}
        online = online_regret(shifted, tasks, rewards, seed)
        out[f"{sigma:g}"] = {name: {"final_mean": s["final_mean"], "final_se": s["final_se"]}
                             for name, s in online.items()}
    return out


# ----------------------------------------------------------------------------- the suite


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: regret at the horizon, mean ± s.e. over held-out tasks, per setting and learner."""
    lines = ["| setting | horizon | learner | regret at horizon (mean ± s.e.) |", "|---|---|---|---|"]
    for name, res in results.items():
        for learner, s in sorted(res["online"].items(), key=lambda kv: kv[1]["final_mean"]):
            lines.append(f"| {name} | {res['env']['horizon']} | {learner} | "
                         f"{s['final_mean']:.2f} ± {s['final_se']:.2f} |")
    return "\n".join(lines) + "\n"


def run_bandits(cfg: BanditExperimentConfig, out_dir: str | Path, *, resume: bool = False, force: bool = False,
                log: Callable[[str], None] | None = log_line, train_only: bool = False) -> dict[str, Any]:
    """Run every setting in ``cfg.run``; write results.json and table.md (``train_only``: train
    the models only; ``icl-lab eval`` evaluates them later)."""
    out_dir = Path(out_dir)
    run = RunDir(out_dir).start(cfg.to_dict(), resume=resume, force=force)  # the experiment's own directory
    if cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    t0 = time.perf_counter()
    settings = {name: run_setting(cfg, name, out_dir, resume=resume, force=force, log=log or (lambda s: None),
                                  train_only=train_only) for name in cfg.run}
    if train_only:
        run.set_status("trained")
        return {"config": cfg.to_dict(), "trained": list(settings)}
    results = {"config": cfg.to_dict(), "settings": settings, "wall_s": round(time.perf_counter() - t0, 1)}
    atomic_write_json(out_dir / "results.json", results)
    atomic_write_bytes(out_dir / "table.md", format_table(settings).encode())
    run.set_status("finished")
    return results


# ----------------------------------------------------------------------------- plots

PRETTY = {"dpt": "DPT (sample)", "dpt_greedy": "DPT (greedy)", "ad": "AD (sample)", "ad_greedy": "AD (greedy)",
          "thompson": "Thompson (Gaussian)", "beta_ts": "Thompson (Beta)", "bayes_optimal": "Bayes-optimal (DP)",
          "empirical_mean": "empirical mean", "lcb": "LCB", "posterior_mean": "posterior mean",
          "model_greedy": "DPT (greedy)", "lin_ts": "linear Thompson"}


def pretty(name: str) -> str:
    """A legend label for a learner name such as ``ucb:0.5`` or ``linucb:1,2``."""
    kind, _, arg = name.partition(":")
    args = arg.split(",")
    labels = {"ucb": lambda: f"UCB c/√n (c={args[0]})", "ucb1": lambda: f"UCB1 c√(ln t/n) (c={args[0]})",
              "eps_greedy": lambda: f"ε-greedy (ε={args[0]})",
              "linucb": lambda: f"LinUCB (λ={args[0]}, α={args[-1]})"}
    return labels[kind]() if arg and kind in labels else PRETTY.get(name, name)


def plot_online(result: dict[str, Any], ax, title: str = "") -> None:
    """Cumulative regret ± s.e. against t; models and the DP solid, classical learners dashed.
    Legend entries end with the regret at the horizon (mean ± s.e.)."""
    import seaborn as sns

    names = list(result["online"])
    classical = [n for n in names if not n.startswith(("dpt", "ad", "bayes_optimal"))]
    palette = dict(zip(classical, sns.color_palette("colorblind", n_colors=max(3, len(classical)))))
    for name in names:
        s = result["online"][name]
        mean, se = np.array(s["mean"]), np.array(s["se"])
        t = np.arange(1, len(mean) + 1)
        is_model = name not in palette
        color = ("black" if name in ("dpt", "ad", "bayes_optimal") else "0.55") if is_model else palette[name]
        ax.plot(t, mean, color=color, lw=2.2 if is_model else 1.4, ls="-" if is_model else "--",
                label=f"{pretty(name)}: {mean[-1]:.2f}±{se[-1]:.2f}")
        ax.fill_between(t, mean - se, mean + se, color=color, alpha=0.15, lw=0)
    if "bayes_optimal" in result:
        ax.axhline(result["bayes_optimal"]["exact_bayes_regret"], color="grey", lw=0.8, ls=":",
                   label="DP exact Bayes regret at H")
    ax.set(xlabel="step t", ylabel="cumulative pseudo-regret", title=title)
    ax.legend(frameon=False, fontsize=7)


def plot_offline(result: dict[str, Any], ax, title: str = "") -> None:
    """Simple regret ± s.e. against the size of the offline dataset."""
    for name, s in result["offline"].items():
        mean, se = np.array(s["mean"]), np.array(s["se"])
        is_model = name == "model_greedy"
        ax.errorbar(s["sizes"], mean, yerr=se, marker="o", ms=3, capsize=2, label=pretty(name),
                    color="black" if is_model else None, lw=2.2 if is_model else 1.2)
    ax.set(xlabel="offline dataset size n", ylabel="simple regret μ* − μ_choice", title=title)
    ax.legend(frameon=False, fontsize=7)


# ----------------------------------------------------------------------------- figure scripts

EXPERIMENT = "bandits"


def figure_results(setting: str, preset: str, runs: str | Path, extra: list[str] = ()) -> dict[str, Any]:
    """Run (or reuse) one setting for a figure: its compact results (no config record, no timings).

    Results live in ``<runs>/bandits-<preset>/<setting>``, shared by the four bandit figures
    and by ``icl-lab run bandits --out <runs>/bandits-<preset>``, so a finished CLI run is
    reused, not retrained. ``preset``: quick | cpu | paper | smoke (the quick preset shrunk to
    seconds, for tests)."""
    if preset not in ("quick", "cpu", "paper", "smoke"):
        raise ConfigError(f"invalid preset {preset!r}: expected 'quick', 'cpu' or 'paper' (or 'smoke')")
    cfg = load_config(EXPERIMENT, preset, [f"run={setting}", *extra])
    if cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    result = run_setting(cfg, setting, Path(runs) / f"bandits-{preset}", resume=True)
    keep = ("env", "method", "n_eval_tasks", "online", "offline", "imitation_accuracy", "bayes_optimal",
            "posterior", "noise_shift")
    return {k: result[k] for k in keep if k in result}
