"""Linear self-attention experiments against the closed forms (Zhang et al. 2024, arXiv:2306.09927; Akyürek et al. 2023, arXiv:2211.15661; von Oswald et al. 2023, arXiv:2212.07677).

* :func:`run_gamma_experiment` — Zhang, Frei & Bartlett (2024): a single-layer LSA from their
  initialisation, trained by small-step gradient descent on fresh large batches (a
  discretisation of gradient flow on the population loss), on noiseless prompts with
  x ~ N(0, Λ), w ~ N(0, I). Records the distance of the learned matrix A = w^{PV}_{22}W^{KQ}_{11}
  to the predicted Γ⁻¹ over training (and to Λ⁻¹, the large-N answer, for contrast), then
  the risk against the test length M next to the formula, and under covariate shift
  (test covariance Λ') next to the formula and least squares.
* :func:`run_gd_experiment` — von Oswald et al. (2023): a 1-layer LSA from a generic random
  initialisation, isotropic x, compared over training with one GD step of the optimal size
  η* (``icl_lab.theory.gd_construction``): squared prediction difference and the cosine
  between the two predictors' sensitivities ∂ŷ/∂x_q.

Configs live in ``experiments/lsa_theory.toml`` (presets quick/paper).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from icl_lab.core.config_files import build_dataclass, expect_kind, read_experiment
from icl_lab.core.errors import ConfigError, check
from icl_lab.core.runs import RunDir, atomic_write_json
from icl_lab.models.linear_attention import LinearSelfAttention
from icl_lab.theory import closed_forms as cf
from icl_lab.theory.gd_construction import gd_lsa
from icl_lab.training.config import TrainConfig
from icl_lab.training.loop import fit

KIND = "lsa"  # experiment files with kind = "lsa" run here


@dataclass(frozen=True)
class LSATheoryConfig:
    """One LSA-theory experiment (see experiments/lsa_theory.toml)."""

    name: str = "lsa_theory"
    preset: str = ""
    kind: str = KIND  # the pipeline (checked, so a record of another kind is not run here)
    seed: int = 0
    d: int = 5
    n_context: int = 20  # N, the training prompt length
    spectrum: tuple[float, ...] = (1.0, 0.5, 0.333, 0.25, 0.2)  # eigenvalues of Λ (rescaled to trace d)
    steps: int = 3000
    lr: float = 0.05  # on ½·E(ŷ − y)²
    anneal: float = 0.3  # the last fraction of steps decays the step linearly to lr/10 (less SGD noise)
    batch_size: int = 4096
    init_scale: float = 0.1  # σ of ZFB's initialisation
    record_every: int = 50
    test_lengths: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320)
    n_eval: int = 20000  # prompts per Monte Carlo risk estimate
    shift_spectrum: tuple[float, ...] = (0.2, 0.25, 0.333, 0.5, 1.0)  # Λ' (covariate shift)
    gd_steps: int = 3000
    gd_lr: float = 0.05
    gd_init_scale: float = 0.3  # std·√(d+1) of the generic random initialisation

    def __post_init__(self) -> None:
        check(self.kind == KIND, "kind", self.kind, f"{KIND!r} for this pipeline")
        positive = ("d", "n_context", "steps", "batch_size", "record_every", "n_eval", "gd_steps")
        for key in positive:
            if getattr(self, key) < 1:
                raise ConfigError(f"invalid {key}={getattr(self, key)!r}: expected an integer >= 1")
        for key in ("spectrum", "shift_spectrum"):
            spec = getattr(self, key)
            if len(spec) != self.d or min(spec) <= 0:
                raise ConfigError(f"invalid {key}={spec!r}: expected d={self.d} positive eigenvalues")
        if not 0 <= self.anneal <= 1:
            raise ConfigError(f"invalid anneal={self.anneal!r}: expected a fraction in [0, 1]")
        for key in ("lr", "gd_lr", "init_scale", "gd_init_scale"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"invalid {key}={getattr(self, key)!r}: expected a number > 0")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


def load_lsa_config(path: str | Path, preset: str | None = None, overrides: list[str] = ()) -> LSATheoryConfig:
    """Read the experiment file (``[presets.<preset>]``, then ``key=value`` overrides) and validate."""
    data = expect_kind(read_experiment(path, preset, overrides), KIND)
    return build_dataclass(LSATheoryConfig, data, "lsa")


def run(cfg: LSATheoryConfig, out_dir: str | Path, *, resume: bool = False, force: bool = False,
        progress: bool | None = None, train_only: bool = False) -> dict[str, Any]:
    """Both experiments (trained LSA vs Γ⁻¹ and vs the GD construction) in one run directory.
    Training and evaluation are one computation here, so ``train_only`` changes nothing."""
    run_dir = RunDir(out_dir).start(cfg.to_dict(), resume=resume, force=force)
    results = {"config": cfg.to_dict(), "gamma": cached_experiment("gamma", cfg, run_dir.path),
               "gd": cached_experiment("gd", cfg, run_dir.path)}
    atomic_write_json(run_dir.results_path, results)
    run_dir.set_status("finished")
    return results


def summary(results: dict[str, Any]) -> list[str]:
    """The final losses of both experiments."""
    return [f"{kind}: " + ", ".join(f"{k} {v:.4g}" for k, v in results[kind].get("final", {}).items()
                                   if isinstance(v, (int, float)))
            for kind in ("gamma", "gd")]


# ----------------------------------------------------------------------------- sampling & training
def covariance(spectrum: tuple[float, ...]) -> np.ndarray:
    """Λ = diag(spectrum) rescaled to trace d (so Var(y) = d under w ~ N(0, I))."""
    s = np.asarray(spectrum, dtype=float)
    return np.diag(s * len(s) / s.sum())


def sample_prompts(lam: np.ndarray, b: int, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noiseless prompts xs [b, n, d] with x ~ N(0, Λ), ys = xs w with w ~ N(0, I)."""
    d = lam.shape[0]
    root = torch.as_tensor(np.linalg.cholesky(lam), dtype=torch.float32)
    xs = (torch.randn(b * n, d, generator=g) @ root.T).view(b, n, d)  # 2-D matmul: far faster than batched
    w = torch.randn(b, d, generator=g)
    return xs, (xs @ w[..., None])[..., 0]


class PromptStream:
    """Fresh noiseless prompts of length ``n`` for every step, from one generator seeded once
    (so step s sees the s-th draw; a stream restarted at step s fast-forwards)."""

    def __init__(self, lam: np.ndarray, batch_size: int, n: int, seed: int):
        self.lam, self.batch_size, self.n = lam, batch_size, n
        self.g = torch.Generator().manual_seed(seed)
        self.drawn = 0

    def next(self) -> tuple[int, torch.Tensor, torch.Tensor]:
        step, self.drawn = self.drawn, self.drawn + 1
        return (step, *sample_prompts(self.lam, self.batch_size, self.n, self.g))

    def batches(self, start: int) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        while self.drawn < start:
            self.next()
        while True:
            yield self.next()


def train_lsa(model: LinearSelfAttention, lam: np.ndarray, n_context: int, steps: int, lr: float,
              batch_size: int, seed: int, record_every: int, run: RunDir,
              record: Callable[[LinearSelfAttention], dict[str, float]] | None = None,
              anneal: float = 0.0) -> list[dict[str, float]]:
    """Plain gradient descent on ½(ŷ − y)² with a fresh batch of prompts per step, by the lab's
    one training loop (``train.optimizer = "sgd"``) in ``run``; returns the history rows: at every
    ``record_every``-th step (and the last) the loss of that step's batch and ``record(model)``,
    both before the step's update.

    Over the last ``anneal`` fraction of steps the step size falls linearly to lr/10 (schedule
    "linear"): the fresh-batch noise then averages out and the end point sits closer to the flow's limit.
    """
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, optimizer="sgd", schedule="linear",
                      decay_fraction=anneal, min_lr_ratio=0.1, log_every=record_every, checkpoint_every=steps)
    stream = PromptStream(lam, batch_size, n_context + 1, seed)
    history: list[dict[str, float]] = []

    def loss_fn(item: tuple[int, torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        step, xs, ys = item
        loss = 0.5 * model.training_loss(xs, ys)
        if step % record_every == 0:
            history.append({"step": step, "loss": 2 * loss.item(), **(record(model) if record else {})})
        return loss, {}

    fit(model, cfg, run, stream.batches, loss_fn, progress=False)
    step, xs, ys = stream.next()  # the state after the last update, on the next batch
    history.append({"step": step, "loss": 2 * (0.5 * model.training_loss(xs, ys)).item(),
                    **(record(model) if record else {})})
    return history


@torch.no_grad()
def model_risk(model: LinearSelfAttention, lam: np.ndarray, m: int, n_prompts: int, seed: int) -> tuple[float, float]:
    """Monte Carlo risk (mean, standard error) of the model's query prediction at prompt length M."""
    g = torch.Generator().manual_seed(seed)
    errs = []
    for start in range(0, n_prompts, 4096):
        xs, ys = sample_prompts(lam, min(4096, n_prompts - start), m + 1, g)
        errs.append((model.predict_query(xs[:, :-1], ys[:, :-1], xs[:, -1]) - ys[:, -1]).double() ** 2)
    e = torch.cat(errs)
    return float(e.mean()), float(e.std() / np.sqrt(len(e)))


@torch.no_grad()
def least_squares_risk(lam: np.ndarray, m: int, n_prompts: int, seed: int) -> tuple[float, float]:
    """Monte Carlo risk of minimum-norm least squares from M noiseless examples (0 once M ≥ d)."""
    g = torch.Generator().manual_seed(seed)
    xs, ys = sample_prompts(lam, n_prompts, m + 1, g)
    w = torch.linalg.pinv(xs[:, :-1].double()) @ ys[:, :-1, None].double()
    e = ((xs[:, -1].double()[:, None] @ w)[:, 0, 0] - ys[:, -1].double()) ** 2
    return float(e.mean()), float(e.std() / np.sqrt(len(e)))


# ----------------------------------------------------------------------------- experiments
def run_gamma_experiment(cfg: LSATheoryConfig, run: RunDir) -> dict[str, Any]:
    """Train ZFB's LSA and compare it with Γ⁻¹, its risk formula and the covariate-shift formula."""
    torch.manual_seed(cfg.seed)
    lam, lam_shift = covariance(cfg.spectrum), covariance(cfg.shift_spectrum)
    target, naive = cf.lsa_predictor(lam, cfg.n_context), np.linalg.inv(lam)
    model = LinearSelfAttention(cfg.d, 1, init="zfb", init_scale=cfg.init_scale,
                                generator=torch.Generator().manual_seed(cfg.seed))

    def record(m: LinearSelfAttention) -> dict[str, float]:
        a = m.effective_matrix().double().numpy()
        d = cfg.d  # mass outside ZFB's invariant blocks, relative to the blocks that predict
        pv, kq = m.w_pv.detach()[0], m.w_kq.detach()[0]
        off = float(torch.cat([pv[d, :d], kq[d, :], kq[:d, d]]).norm() / kq[:d, :d].norm().clamp_min(1e-12))
        return {"dist_gamma": cf.scale_free_distance(a, target), "rel_err_gamma": cf.relative_distance(a, target),
                "dist_lambda_inv": cf.scale_free_distance(a, naive), "off_block": off}

    history = train_lsa(model, lam, cfg.n_context, cfg.steps, cfg.lr, cfg.batch_size, cfg.seed,
                        cfg.record_every, run, record, cfg.anneal)
    learned = model.effective_matrix().double().numpy()
    lengths = list(cfg.test_lengths)
    risk = {"M": lengths,
            "model": [model_risk(model, lam, m, cfg.n_eval, cfg.seed + 1 + m) for m in lengths],
            "formula_gamma": [cf.lsa_risk(target, lam, m) for m in lengths],
            "formula_learned": [cf.lsa_risk(learned, lam, m) for m in lengths]}
    shift = {"M": lengths,
             "model": [model_risk(model, lam_shift, m, cfg.n_eval, cfg.seed + 7 + m) for m in lengths],
             "formula": [cf.lsa_risk(target, lam_shift, m) for m in lengths],
             "formula_learned": [cf.lsa_risk(learned, lam_shift, m) for m in lengths],
             "least_squares": [least_squares_risk(lam_shift, m, min(cfg.n_eval, 4000), cfg.seed + 3 + m)
                               for m in lengths],
             "limit": cf.lsa_risk(target, lam_shift, 10**12),
             "in_distribution_limit": cf.lsa_risk(target, lam, 10**12)}
    return {"config": dataclasses.asdict(cfg), "lambda": lam.tolist(), "gamma_inv": target.tolist(),
            "learned": learned.tolist(), "history": history, "risk_vs_length": risk, "covariate_shift": shift,
            "final": {k: history[-1][k] for k in ("dist_gamma", "rel_err_gamma", "dist_lambda_inv", "off_block")}}


def run_gd_experiment(cfg: LSATheoryConfig, run: RunDir) -> dict[str, Any]:
    """Train a randomly initialised 1-layer LSA (Λ = I) and compare it with one GD step of size η*."""
    torch.manual_seed(cfg.seed)
    lam = np.eye(cfg.d)
    eta = cf.gd_optimal_lr(lam, cfg.n_context)
    gd = gd_lsa(cfg.d, eta, 1, dtype=torch.float32)
    model = LinearSelfAttention(cfg.d, 1, init="random", init_scale=cfg.gd_init_scale,
                                generator=torch.Generator().manual_seed(cfg.seed))
    xs, ys = sample_prompts(lam, 2048, cfg.n_context + 1, torch.Generator().manual_seed(cfg.seed + 99))
    ctx_x, ctx_y, xq = xs[:, :-1], ys[:, :-1], xs[:, -1]
    with torch.no_grad():
        gd_pred = gd.predict_query(ctx_x, ctx_y, xq)
    gd_sens = eta / cfg.n_context * torch.einsum("bn,bnd->bd", ctx_y, ctx_x)  # ∂ŷ_GD/∂x_q
    gd_loss = float(((gd_pred - ys[:, -1]) ** 2).mean())

    def record(m: LinearSelfAttention) -> dict[str, float]:
        q = xq.clone().requires_grad_(True)
        pred = m.predict_query(ctx_x, ctx_y, q)
        (sens,) = torch.autograd.grad(pred.sum(), q)
        cos = torch.nn.functional.cosine_similarity(sens, gd_sens, dim=-1).mean()
        diff = ((pred.detach() - gd_pred) ** 2).mean() / cfg.d  # normalised by Var(y) = d
        return {"pred_diff": float(diff), "sensitivity_cos": float(cos), "gd_loss": gd_loss}

    history = train_lsa(model, lam, cfg.n_context, cfg.gd_steps, cfg.gd_lr, cfg.batch_size, cfg.seed + 1,
                        cfg.record_every, run, record, cfg.anneal)
    return {"config": dataclasses.asdict(cfg), "eta_star": eta, "history": history,
            "learned": model.effective_matrix().double().numpy().tolist(),
            "final": {k: history[-1][k] for k in ("loss", "gd_loss", "pred_diff", "sensitivity_cos")}}


def cached_experiment(kind: str, cfg: LSATheoryConfig, cache_dir: str | Path) -> dict[str, Any]:
    """``run_<kind>_experiment(cfg)`` ("gamma" or "gd") in the run directory
    ``cache_dir/<name>-<preset>-<kind>``, reused when it holds a finished run of this config
    (:meth:`RunDir.cached_results`), so figure scripts that share a run train it once."""
    runner = {"gamma": run_gamma_experiment, "gd": run_gd_experiment}[kind]
    run = RunDir(Path(cache_dir) / f"{cfg.name}-{cfg.preset}-{kind}")
    record = {"experiment": kind, **cfg.to_dict()}
    cached = run.cached_results(record)
    if cached is not None:
        return cached
    run.start(record, force=run.exists())  # a run of another config here is replaced
    result = json.loads(json.dumps(runner(cfg, run)))  # tuples -> lists, as stored
    atomic_write_json(run.results_path, result)
    run.set_status("finished")
    return result
