"""The regression families of Garg et al. (2022), with their exact distributions.

Every family draws latent parameters per prompt, applies the function to x from the
configured input distribution and adds N(0, noise_std²) label noise. With a dimension
curriculum, coordinates past ``active_dims`` are zeroed (as in the reference code).
``y_var`` is Var(y) under the prior for the full d, so normalised errors are comparable.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import torch

from icl_lab.core.errors import check
from icl_lab.tasks.base import Batch, register
from icl_lab.tasks.config import TaskConfig
from icl_lab.tasks.inputs import X_DISTRIBUTIONS

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LinearParams:
    """Linear regression: w ~ N(0, prior_std² I), or uniform over a fixed pool of ``pool_size``
    vectors (Raventós et al.; 0 = the Gaussian prior); ``renormalize_ys``: Garg et al.'s noisy
    evaluation rescales y to std √d."""

    prior_std: float = 1.0
    renormalize_ys: bool = False
    pool_size: int = 0
    pool_seed: int = 0  # fixes the pool itself

    def __post_init__(self) -> None:
        check(self.prior_std > 0, "task.prior_std", self.prior_std, "a number > 0")
        check(0 <= self.pool_size <= 2**24, "task.pool_size", self.pool_size, "an integer in [0, 2^24] (0: Gaussian prior)")


@dataclass(frozen=True)
class SparseLinearParams:
    """Sparse linear regression: ``sparsity`` non-zero N(0, prior_std²) coordinates."""

    prior_std: float = 1.0
    sparsity: int = 3

    def __post_init__(self) -> None:
        check(self.prior_std > 0, "task.prior_std", self.prior_std, "a number > 0")
        check(self.sparsity >= 1, "task.sparsity", self.sparsity, "an integer >= 1")

    def check_with_task(self, task: TaskConfig) -> None:
        check(self.sparsity <= task.d, "task.sparsity", self.sparsity, f"an integer in [1, d={task.d}]")


@dataclass(frozen=True)
class ReluNetParams:
    """Two-layer ReLU networks of width ``hidden``."""

    hidden: int = 100

    def __post_init__(self) -> None:
        check(1 <= self.hidden <= 100_000, "task.hidden", self.hidden, "an integer in [1, 100000]")


@dataclass(frozen=True)
class DecisionTreeParams:
    """Depth-``depth`` decision trees."""

    depth: int = 4

    def __post_init__(self) -> None:
        check(1 <= self.depth <= 12, "task.depth", self.depth, "an integer in [1, 12]")


def _sample(cfg: TaskConfig, b: int, n: int, g: torch.Generator, active_dims: int | None,
            draw: Callable[[int, int, torch.Generator], Params],
            function: Callable[[Params, torch.Tensor, TaskConfig], torch.Tensor],
            signal_var: float) -> Batch:
    """Shared pipeline: x, latent params, noiseless f(x), noise, optional renormalisation."""
    d = cfg.d
    xs = X_DISTRIBUTIONS[cfg.x_distribution](b, n, d, g)
    if active_dims is not None and active_dims < d:
        xs[:, :, active_dims:] = 0.0
    params = draw(b, active_dims or d, g)
    ys = function(params, xs, cfg)
    if cfg.noise_std > 0:
        ys = ys + cfg.noise_std * torch.randn(b, n, generator=g)
    y_var = signal_var + cfg.noise_std**2
    if getattr(cfg.params, "renormalize_ys", False):  # Garg et al.'s noisy evaluation: y rescaled to std sqrt(d)
        ys = ys * math.sqrt(d) / ys.std()
        y_var = float(d)
    return Batch(xs, ys, params, y_var)


@functools.lru_cache(maxsize=4)
def task_pool(size: int, d: int, prior_std: float, seed: int) -> torch.Tensor:
    """The fixed pool [M, D] of Raventós et al.: M vectors drawn once from N(0, prior_std² I)."""
    return prior_std * torch.randn(size, d, generator=torch.Generator().manual_seed(10_007 + seed))


def _gaussian_weights(cfg: TaskConfig, b: int, active: int, g: torch.Generator) -> torch.Tensor:
    if getattr(cfg.params, "pool_size", 0):  # uniform over the fixed pool instead of the Gaussian prior
        pool = task_pool(cfg.pool_size, cfg.d, cfg.prior_std, cfg.pool_seed)
        w = pool[torch.randint(0, cfg.pool_size, (b,), generator=g)].clone()
    else:
        w = cfg.prior_std * torch.randn(b, cfg.d, generator=g)
    w[:, active:] = 0.0  # inactive coordinates carry no signal under the curriculum
    return w


def linear_function(params: Params, xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    return (xs @ params["w"].unsqueeze(-1)).squeeze(-1)


@register("linear_regression", "y = wᵀx + ε, w ~ N(0, prior_std² I), or uniform over a fixed pool of pool_size vectors",
          ("d", "n_points", "noise_std", "prior_std", "x_distribution", "renormalize_ys", "pool_size", "pool_seed"),
          linear_function, params=LinearParams)
def linear_regression(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                      active_dims: int | None = None) -> Batch:
    draw = lambda b, a, g: {"w": _gaussian_weights(cfg, b, a, g)}  # noqa: E731
    return _sample(cfg, n_prompts, n_points, generator, active_dims, draw, linear_function,
                   cfg.d * cfg.prior_std**2)


@register("noisy_linear_regression", "linear regression evaluated with σ = noise_std (Garg et al. use 1, renormalised)",
          ("d", "n_points", "noise_std", "prior_std", "renormalize_ys"), linear_function, params=LinearParams)
def noisy_linear_regression(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                            active_dims: int | None = None) -> Batch:
    return linear_regression(cfg, n_prompts, n_points, generator, active_dims)


@register("sparse_linear_regression", "y = wᵀx, w has `sparsity` N(0, prior_std²) coordinates, the rest 0",
          ("d", "n_points", "sparsity", "noise_std", "prior_std"), linear_function, params=SparseLinearParams)
def sparse_linear_regression(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                             active_dims: int | None = None) -> Batch:
    def draw(b: int, active: int, g: torch.Generator) -> Params:
        w = _gaussian_weights(cfg, b, active, g)
        k = min(cfg.sparsity, active)
        order = torch.rand(b, active, generator=g).argsort(dim=1)  # a random permutation per prompt
        keep = torch.zeros(b, cfg.d, dtype=torch.bool)
        keep.scatter_(1, order[:, :k], True)
        return {"w": w * keep}

    return _sample(cfg, n_prompts, n_points, generator, active_dims, draw, linear_function,
                   cfg.sparsity * cfg.prior_std**2)


def quadratic_function(params: Params, xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    return ((xs**2) @ params["w"].unsqueeze(-1)).squeeze(-1) / math.sqrt(3)


@register("quadratic_regression", "y = (x²)ᵀw / √3, w ~ N(0, prior_std² I)", ("d", "n_points", "noise_std", "prior_std"),
          quadratic_function, params=LinearParams)
def quadratic_regression(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                         active_dims: int | None = None) -> Batch:
    draw = lambda b, a, g: {"w": _gaussian_weights(cfg, b, a, g)}  # noqa: E731
    # Var(y) = Σ E[x⁴]·prior_std²/3 = d·prior_std² for Gaussian x.
    return _sample(cfg, n_prompts, n_points, generator, active_dims, draw, quadratic_function,
                   cfg.d * cfg.prior_std**2)


def relu_net_function(params: Params, xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    hidden = torch.relu(xs @ params["w1"])  # [B, N, H]
    return (hidden @ params["w2"].unsqueeze(-1)).squeeze(-1) * math.sqrt(2.0 / params["w1"].shape[-1])


@register("relu_net_regression", "y = √(2/h)·ReLU(xW₁)W₂, W ~ N(0, 1), width h = hidden",
          ("d", "n_points", "hidden", "noise_std"), relu_net_function, params=ReluNetParams)
def relu_net_regression(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                        active_dims: int | None = None) -> Batch:
    def draw(b: int, active: int, g: torch.Generator) -> Params:
        w1 = torch.randn(b, cfg.d, cfg.hidden, generator=g)
        w1[:, active:] = 0.0
        return {"w1": w1, "w2": torch.randn(b, cfg.hidden, generator=g)}

    # E[ReLU(z)²] = |x|²/2, summed over h units with weight 2/h: Var(y) = E|x|² = d.
    return _sample(cfg, n_prompts, n_points, generator, active_dims, draw, relu_net_function, float(cfg.d))


def decision_tree_function(params: Params, xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    """Walk a complete binary tree stored as an array: node i has children 2i+1, 2i+2."""
    coords, leaves = params["coords"], params["values"]  # [B, 2^(depth+1) - 1] each
    b, n, _ = xs.shape
    node = torch.zeros(b, n, dtype=torch.long)
    for _ in range(cfg.depth):  # depth steps, vectorised over prompts and points
        coord = torch.gather(coords, 1, node)  # [B, N]
        go_right = torch.gather(xs, 2, coord.unsqueeze(-1)).squeeze(-1) > 0
        node = 2 * node + 1 + go_right.long()
    return torch.gather(leaves, 1, node)


@register("decision_tree_regression", "depth-`depth` tree, random coordinate per node, split at x_j > 0, N(0,1) leaves",
          ("d", "n_points", "depth", "noise_std"), decision_tree_function, params=DecisionTreeParams)
def decision_tree_regression(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                             active_dims: int | None = None) -> Batch:
    n_nodes = 2 ** (cfg.depth + 1) - 1

    def draw(b: int, active: int, g: torch.Generator) -> Params:
        return {"coords": torch.randint(0, active, (b, n_nodes), generator=g),
                "values": torch.randn(b, n_nodes, generator=g)}

    return _sample(cfg, n_prompts, n_points, generator, active_dims, draw, decision_tree_function, 1.0)
