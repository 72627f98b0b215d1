"""The model section of an experiment file. ``size`` in a file expands to (n_embd, n_layer,
n_head); the family's existence is checked at load by :func:`icl_lab.models.check_model`."""

from __future__ import annotations

from dataclasses import dataclass

from icl_lab.core.errors import check as _check

# Garg et al. model sizes: (n_embd, n_layer, n_head).
MODEL_SIZES: dict[str, tuple[int, int, int]] = {
    "tiny": (64, 3, 2),
    "small": (128, 6, 4),
    "standard": (256, 12, 8),
}


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
    # Looped models (family "looped", Yang et al. 2024, arXiv:2311.12424; Gao et al. 2024, arXiv:2402.13572; Giannou et al. 2023, arXiv:2301.13196): the n_layer blocks are
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
    # Gaussian negative log-likelihood: Liu et al.; models/gaussian_head.py).
    head: str = "mean"

    def __post_init__(self) -> None:
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


