"""The train section of an experiment file, shared by every pipeline and read by the one
training loop (:func:`icl_lab.training.loop.fit`)."""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass

import torch

from icl_lab.core.errors import check as _check

# The recipe of token and bandit models (GPT-style: cosine decay, betas (0.9, 0.98), weight
# decay, clipping): the defaults under those experiment files' own [train] values.
TOKEN_DEFAULTS: dict = {"steps": 2000, "lr": 1e-3, "weight_decay": 0.1, "warmup_steps": 100,
                        "schedule": "cosine", "betas": (0.9, 0.98), "grad_clip": 1.0,
                        "log_every": 50, "checkpoint_every": 500}

@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, schedule, precision, cadence and (regression) curriculum: one section for
    every kind of run. Defaults are the regression recipe; token and bandit experiment files
    state their own (cosine schedule, betas (0.9, 0.98), clipping) in ``[train]``."""

    steps: int = 500_000
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    optimizer: str = "adamw"  # "adamw", or "sgd" (plain gradient descent, as the LSA theory assumes)
    schedule: str = "constant"  # after warm-up: "constant", "cosine", or "linear" over the last decay_fraction
    min_lr_ratio: float = 0.1  # the cosine / linear schedules decay to this fraction of the peak
    decay_fraction: float = 1.0  # "linear": the last fraction of the steps over which the step size falls
    betas: tuple[float, ...] = (0.9, 0.999)  # AdamW's (beta1, beta2)
    grad_clip: float = 0.0  # 0 disables clipping
    bf16: bool = False  # autocast matmuls to bfloat16
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda"
    # CPU threads for torch (0 = torch's default). Small models on a busy 2-core machine
    # run faster on 1 thread: OpenMP barriers stall when cores are oversubscribed.
    cpu_threads: int = 0
    log_every: int = 100
    tensorboard: bool = False  # also write TensorBoard event files (run_dir/tensorboard); extra [tensorboard]
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
        _check(self.optimizer in ("adamw", "sgd"), "train.optimizer", self.optimizer, "'adamw' or 'sgd'")
        _check(self.schedule in ("constant", "cosine", "linear"), "train.schedule", self.schedule,
               "'constant', 'cosine' or 'linear'")
        _check(0 <= self.decay_fraction <= 1, "train.decay_fraction", self.decay_fraction, "a number in [0, 1]")
        _check(0 <= self.min_lr_ratio <= 1, "train.min_lr_ratio", self.min_lr_ratio, "a number in [0, 1]")
        _check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "train.betas", list(self.betas),
               "two numbers in [0, 1)")
        _check(self.grad_clip >= 0, "train.grad_clip", self.grad_clip, "a number >= 0")
        _check(self.device in ("auto", "cpu", "cuda"), "train.device", self.device,
               "'auto', 'cpu' or 'cuda'")
        _check(self.device != "cuda" or torch.cuda.is_available(), "train.device", self.device,
               "'auto' or 'cpu': no CUDA device is available here")
        _check(0 <= self.seed < 2**32, "train.seed", self.seed, "an integer in [0, 2^32)")
        for name in ("log_every", "checkpoint_every", "curriculum_interval", "dims_inc", "points_inc"):
            value = getattr(self, name)
            _check(value >= 1, f"train.{name}", value, "an integer >= 1")
        _check(not self.tensorboard or importlib.util.find_spec("tensorboard") is not None, "train.tensorboard",
               self.tensorboard, "false, or install the extra first: pip install 'icl_lab[tensorboard]'")
        _check(self.cpu_threads >= 0, "train.cpu_threads", self.cpu_threads, "an integer >= 0")
        _check(self.dims_start >= 0, "train.dims_start", self.dims_start, "an integer >= 0")
        _check(self.points_start >= 0, "train.points_start", self.points_start, "an integer >= 0")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def for_tokens(cls, **overrides) -> "TrainConfig":
        """The token/bandit recipe (:data:`TOKEN_DEFAULTS`) with ``overrides``."""
        return cls(**{**TOKEN_DEFAULTS, **overrides})
