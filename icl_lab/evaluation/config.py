"""The eval section of an experiment file: held-out prompts, baselines, bootstrap, the
out-of-distribution suite. Baseline and variant names are checked at load against their
registries (:func:`icl_lab.evaluation.regression.check_eval`)."""

from __future__ import annotations

from dataclasses import dataclass

from icl_lab.core.errors import check as _check


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
        _check(2 <= self.n_prompts <= 10**7, "eval.n_prompts", self.n_prompts, "an integer in [2, 10^7]")
        _check(0 <= self.seed < 2**32, "eval.seed", self.seed, "an integer in [0, 2^32)")
        _check(self.batch_size >= 1, "eval.batch_size", self.batch_size, "an integer >= 1")
        _check(self.ridge_lam >= 0, "eval.ridge_lam", self.ridge_lam, "a number >= 0")
        _check(self.knn_k >= 1, "eval.knn_k", self.knn_k, "an integer >= 1")
        _check(self.lasso_alpha > 0, "eval.lasso_alpha", self.lasso_alpha, "a number > 0")
        _check(self.gd_steps >= 1, "eval.gd_steps", self.gd_steps, "an integer >= 1")
        _check(10 <= self.bootstrap <= 100_000, "eval.bootstrap", self.bootstrap, "an integer in [10, 100000]")


