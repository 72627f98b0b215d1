"""The Bayes-optimal Boolean predictor: picks the exact method (closed form or enumeration,
:mod:`icl_lab.baselines.boolean_bayes`) or the approximate one (importance sampling or SMC,
:mod:`icl_lab.baselines.boolean_smc`) that fits the class and its size."""

from __future__ import annotations

import torch

from icl_lab.baselines import boolean_smc
from icl_lab.baselines.boolean_bayes import (
    IS_DRAWS,
    bayes_enumerate,
    bayes_nearest_neighbour,
    bayes_parity_gf2,
    bayes_revealed,
    hypothesis_count,
)
from icl_lab.core.errors import ConfigError
from icl_lab.tasks.boolean import CLASSES
from icl_lab.tasks.config import TaskConfig

CLOSED_FORMS = ("nearest_neighbour", "teach_conjunction", "teach_signed_conjunction", "parity")


def choose_method(cfg: TaskConfig, max_hypotheses: int = 2**17) -> str:
    """The method ``bayes(method="auto")`` uses: closed, enumerate, importance or smc."""
    spec, name = CLASSES[cfg.function_class], cfg.function_class
    if name in CLOSED_FORMS and not (name == "parity" and (cfg.label_noise > 0 or cfg.d > 62)):
        return "closed"
    if hypothesis_count(cfg) <= max_hypotheses:
        return "enumerate"
    if spec.teach == "dnf":
        return "importance"
    if spec.probs is None or spec.teach:
        raise ConfigError(f"Bayes for {name} at n={cfg.d} needs {hypothesis_count(cfg)} hypotheses "
                         f"(> max_hypotheses={max_hypotheses}) and has no sampler")
    return "smc"


def bayes(xs: torch.Tensor, ys: torch.Tensor, cfg: TaskConfig, method: str = "auto",
          max_hypotheses: int = 2**17, particles: int = 128, seed: int = 0) -> torch.Tensor:
    """Posterior predictive logits [B, N]; ``method``: auto, closed, enumerate, importance, smc."""
    method = choose_method(cfg, max_hypotheses) if method == "auto" else method
    closed = {"nearest_neighbour": bayes_nearest_neighbour, "teach_conjunction": bayes_revealed,
              "teach_signed_conjunction": bayes_revealed, "parity": bayes_parity_gf2}
    if method == "closed":
        if cfg.function_class not in closed or (cfg.function_class == "parity" and cfg.label_noise > 0):
            raise ConfigError(f"no closed form for {cfg.function_class} (label_noise={cfg.label_noise})")
        return closed[cfg.function_class](xs, ys, cfg)
    if method == "enumerate":
        return bayes_enumerate(xs, ys, cfg)
    if method == "importance":
        return boolean_smc.bayes_teach_dnf(xs, ys, cfg, draws=IS_DRAWS, seed=seed)
    if method == "smc":
        return boolean_smc.bayes_smc(xs, ys, cfg, particles=particles, seed=seed)
    raise ConfigError(f"invalid method {method!r}: expected auto, closed, enumerate, importance or smc")
