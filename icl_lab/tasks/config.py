"""The task section of an experiment file: which prior over functions, and the prompt shape.

Structural checks run here; membership in the registries (family name, input distribution,
Boolean class, mixture families) is checked once at load by :func:`icl_lab.tasks.check_task`.
"""

from __future__ import annotations

from dataclasses import dataclass

from icl_lab.core.errors import check as _check

# Fourier series are functions of one real input: their d is 1 whatever the file says.
FOURIER_TASKS = ("fourier_series", "fourier_mixture")


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
    # Bayesian-prism priors (tasks/bayesian.py, Panwar et al.; Panwar et al. 2024).
    mixture_mean: float = 3.0  # gaussian_mixture_regression: component means ±mixture_mean·e_1
    mixture_weight: float = 0.5  # gaussian_mixture_regression: probability of the +e_1 component
    fourier_freq: int = 10  # fourier_series: max frequency K; fourier_mixture: K_max (K ~ U{1..K_max})
    fourier_half_period: float = 5.0  # L: x ~ U(−L, L), features cos/sin(kπx/L)
    n_monomials: int = 20  # monomial_regression: size of the fixed set of degree-2 monomials
    monomial_seed: int = 0  # fixes the monomial set itself
    families: tuple[str, ...] = ("linear", "sparse_linear", "relu_net", "sinusoid")  # family_mixture

    def __post_init__(self) -> None:
        if self.name in FOURIER_TASKS:
            object.__setattr__(self, "d", 1)
        _check(self.d >= 1, "task.d", self.d, "an integer >= 1")
        _check(self.n_points >= 1, "task.n_points", self.n_points, "an integer >= 1")
        _check(self.noise_std >= 0, "task.noise_std", self.noise_std, "a number >= 0")
        _check(self.prior_std > 0, "task.prior_std", self.prior_std, "a number > 0")
        _check(self.sparsity >= 1, "task.sparsity", self.sparsity, "an integer >= 1")
        _check(self.hidden >= 1, "task.hidden", self.hidden, "an integer >= 1")
        _check(1 <= self.depth <= 12, "task.depth", self.depth, "an integer in [1, 12]")
        _check(0 <= self.pool_size <= 2**24, "task.pool_size", self.pool_size, "an integer in [0, 2^24] (0: Gaussian prior)")
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
        _check(self.mixture_mean >= 0, "task.mixture_mean", self.mixture_mean, "a number >= 0")
        _check(0 < self.mixture_weight < 1, "task.mixture_weight", self.mixture_weight, "a number in (0, 1)")
        _check(1 <= self.fourier_freq <= 64, "task.fourier_freq", self.fourier_freq, "an integer in [1, 64]")
        _check(self.fourier_half_period > 0, "task.fourier_half_period", self.fourier_half_period, "a number > 0")
        n_pairs = self.d * (self.d + 1) // 2 if self.name == "monomial_regression" else 2**31
        _check(1 <= self.n_monomials <= n_pairs, "task.n_monomials", self.n_monomials,
               f"an integer in [1, d(d+1)/2={n_pairs}] (the number of distinct degree-2 monomials)")
