"""Boolean functions in context (Bhattamishra et al. 2024, arXiv:2310.03016), one family ``boolean``.

``task.function_class`` picks the class; x ∈ {−1, +1}^n, y ∈ {−1, +1}, BCE training and
accuracy evaluation (``loss="bce"``). Priors and input samplers follow the reference code:

* Every class except parity and nearest-neighbour is a threshold of linear forms:
  term t fires when ``x·w_t > θ_t``; conjunctions use θ = |w|₁ − 1 (all literals hold),
  disjunctions θ = 1 − |w|₁ (some literal holds), majority / halfspaces θ = ½, the 0-1
  threshold class a uniform θ ∈ {−2.5, …, 2.5}. CNF = AND of 3 disjunctive clauses,
  DNF = OR of 3 conjunctive terms. Parity: y = +1 iff an odd number of x_i = +1 on S.
* Weights are i.i.d. per coordinate (``ClassSpec.probs``) or a uniform support of exactly k.
* Forced examples balance the labels: per prompt one term/clause c (uniform for CNF/DNF),
  then each example independently with probability ``force_p`` gets x_i = force·w_{c,i}
  on the support of c (satisfying a conjunctive term, falsifying a disjunctive clause).
  Hence p(x | f) = 2^{−n}(1 − force_p + force_p·2^{|S_c|}·[x matches c]) — the Bayes
  predictor uses exactly this.
* Teaching variants overwrite the first examples by a teaching sequence of f
  (:func:`teaching_rows`); nearest-neighbour labels are coin flips for the first
  ``nn_start`` examples (exact duplicates copy) and then copy the label of the most
  similar earlier x (first one on ties).

Labels are flipped with probability ``task.label_noise`` after all of the above.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from icl_lab.core.errors import check
from icl_lab.tasks.base import Batch, register
from icl_lab.tasks.config import TaskConfig

SIGNED = ((0.0, 1.0, -1.0), (0.7, 0.15, 0.15))  # absent / positive / negative literal
SIGNED_CLAUSE = ((0.0, 1.0, -1.0), (0.8, 0.1, 0.1))  # CNF clauses and DNF terms
THRESHOLDS = (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5)  # reference: randint(-3, 3) + 0.5


@dataclass(frozen=True)
class ClassSpec:
    """The prior and input sampler of one Boolean function class."""

    terms: int = 1  # T terms (CNF/DNF: 3)
    values: tuple[float, ...] = SIGNED[0]  # per-coordinate weight alphabet
    probs: tuple[float, ...] | None = SIGNED[1]  # i.i.d. prior over `values`; None: exactly k ones
    default_k: int = 0  # support size of fixed-k classes (task.sparse_k overrides)
    theta: str = "conj"  # "conj": |w|-1, "disj": 1-|w|, "half": 1/2, "free": uniform THRESHOLDS
    combine: str = "one"  # "one", "and" (CNF), "or" (DNF), "parity"
    force: int = 0  # +1: forced examples satisfy term c, -1: falsify clause c, 0: x uniform
    force_p: float = 0.0
    teach: str = ""  # "", "conj", "signed", "dnf": teaching sequence first

    @property
    def linear(self) -> bool:
        return self.combine != "parity"


CLASSES: dict[str, ClassSpec | None] = {
    "conjunction": ClassSpec(force=1, force_p=0.3),
    "disjunction": ClassSpec(theta="disj", force=-1, force_p=0.3),
    "sparse_disjunction": ClassSpec(values=(0.0, 1.0), probs=None, default_k=4, theta="disj",
                                    force=-1, force_p=0.3),
    "cnf": ClassSpec(terms=3, values=SIGNED_CLAUSE[0], probs=SIGNED_CLAUSE[1], theta="disj",
                     combine="and", force=-1, force_p=0.3),
    "dnf": ClassSpec(terms=3, values=SIGNED_CLAUSE[0], probs=SIGNED_CLAUSE[1], combine="or",
                     force=1, force_p=0.35),
    "majority": ClassSpec(values=(0.0, 1.0), probs=(0.7, 0.3), theta="half"),
    "zero_one_threshold": ClassSpec(theta="free"),
    "integer_halfspace": ClassSpec(values=tuple(float(v) for v in range(-3, 4)), probs=(1 / 7,) * 7,
                                   theta="half"),
    "parity": ClassSpec(values=(0.0, 1.0), probs=(0.5, 0.5), combine="parity"),
    "sparse_parity": ClassSpec(values=(0.0, 1.0), probs=None, default_k=2, combine="parity"),
    "nearest_neighbour": None,  # no latent function: see nearest_neighbour_labels
    "teach_conjunction": ClassSpec(values=(0.0, 1.0), probs=(0.7, 0.3), force=1, force_p=0.4,
                                   teach="conj"),
    "teach_signed_conjunction": ClassSpec(force=1, force_p=0.4, teach="signed"),
    "teach_dnf": ClassSpec(terms=3, values=(0.0, 1.0), probs=(0.8, 0.2), combine="or", force=1,
                           force_p=0.35, teach="dnf"),
}
BOOLEAN_CLASSES = tuple(CLASSES)


@dataclass(frozen=True)
class BooleanParams:
    """Boolean functions of x ∈ {±1}^d (d is the papers' n): the class and its prior's knobs."""

    function_class: str = "conjunction"  # one of BOOLEAN_CLASSES
    label_noise: float = 0.0  # probability of flipping each label
    sparse_k: int = 0  # support size of sparse_disjunction / sparse_parity; 0: the class default (4 / 2)
    nn_start: int = 20  # nearest_neighbour: the first nn_start labels are uniform coin flips

    def __post_init__(self) -> None:
        check(self.function_class in CLASSES, "task.function_class", self.function_class,
              f"one of {list(CLASSES)}")
        check(0 <= self.label_noise < 0.5, "task.label_noise", self.label_noise, "a number in [0, 0.5)")
        check(self.nn_start >= 1, "task.nn_start", self.nn_start, "an integer >= 1")
        check(self.sparse_k >= 0, "task.sparse_k", self.sparse_k, "an integer >= 0 (0: the class default)")

    def check_with_task(self, task: TaskConfig) -> None:
        check(self.sparse_k <= task.d, "task.sparse_k", self.sparse_k,
              f"an integer in [0, d={task.d}] (0: the class default)")


def sparse_k(cfg: TaskConfig) -> int:
    """The support size of a fixed-k class (task.sparse_k, or the reference's default)."""
    spec = CLASSES[cfg.function_class]
    return cfg.sparse_k or (spec.default_k if spec is not None else 0)


# ----------------------------------------------------------------------------- functions


def thresholds(spec: ClassSpec, w: torch.Tensor, theta: torch.Tensor | None = None) -> torch.Tensor:
    """θ [..., T] of each term from its weights w [..., T, n] (free θ passed through)."""
    if spec.theta == "free":
        return theta
    size = w.abs().sum(-1)
    if spec.theta == "conj":
        return size - 1
    if spec.theta == "disj":
        return 1 - size
    return torch.full_like(size, 0.5)


def term_values(spec: ClassSpec, pre: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """±1 value of every term from pre-activations pre [..., N, T] = x·w_t and θ [..., T]."""
    return torch.where(pre > theta.unsqueeze(-2), 1.0, -1.0)


def combine_terms(spec: ClassSpec, values: torch.Tensor) -> torch.Tensor:
    """f(x) [..., N] from term values [..., N, T]."""
    if spec.combine == "and":
        return values.amin(-1)
    if spec.combine == "or":
        return values.amax(-1)
    return values[..., 0]


def evaluate_function(spec: ClassSpec, w: torch.Tensor, theta: torch.Tensor,
                      xs: torch.Tensor) -> torch.Tensor:
    """Noiseless labels [B, N] of x [B, N, n] under weights w [B, T, n] and θ [B, T]."""
    if spec.combine == "parity":  # y = +1 iff an odd number of x_i = +1 on the support
        ones = ((xs + 1) / 2) @ w[:, 0].unsqueeze(-1)
        return torch.where(ones.squeeze(-1).round() % 2 == 1, 1.0, -1.0)
    pre = xs @ w.transpose(1, 2)  # [B, N, T]
    return combine_terms(spec, term_values(spec, pre, theta))


def boolean_function(params: dict[str, torch.Tensor], xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    """The registry's labelling function (noiseless), used to label replacement queries."""
    spec = CLASSES[cfg.function_class]
    if spec is None:
        raise ValueError("nearest_neighbour labels depend on the whole prompt, not on a latent function")
    return evaluate_function(spec, params["w"], params["theta"], xs)


# ----------------------------------------------------------------------------- samplers


def draw_weights(spec: ClassSpec, b: int, n: int, k: int, active: int, g: torch.Generator) -> torch.Tensor:
    """w [B, T, n] from the class prior; coordinates ≥ active are 0 (dimension curriculum)."""
    t = spec.terms
    if spec.probs is None:  # a uniform support of exactly k among the active coordinates
        order = torch.rand(b, t, active, generator=g).argsort(-1)[..., :k]
        w = torch.zeros(b, t, n)
        w.scatter_(-1, order, 1.0)
        return w
    cum = torch.tensor(spec.probs, dtype=torch.float64).cumsum(0)
    idx = torch.searchsorted(cum, torch.rand(b, t, n, generator=g, dtype=torch.float64) * cum[-1])
    w = torch.tensor(spec.values)[idx.clamp(max=len(spec.values) - 1)]
    w[..., active:] = 0.0
    return w


def teaching_rows(spec: ClassSpec, w: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The teaching sequence of each function: rows [B, L, n] and its length [B] (L = ``length``).

    conj (monotone): 1_S as ±1, then for each i ∈ S in index order the same with x_i = −1.
    signed: literals satisfied and the rest −1, then the rest +1, then each positive literal
    (index order) flipped to −1, then each negative literal flipped to +1.
    dnf: the conj sequence of term 0, then of term 1, then of term 2.
    """
    b, t, n = w.shape
    pos = torch.arange(length)
    if spec.teach == "signed":
        w0 = w[:, 0]
        plus, minus = (w0 > 0).float(), (w0 < 0).float()
        rank = torch.where(w0 > 0, plus.cumsum(-1), plus.sum(-1, keepdim=True) + minus.cumsum(-1)) * (w0 != 0)
        base = torch.where(w0 != 0, w0, -1.0).unsqueeze(1).expand(b, length, n).clone()
        if length > 1:  # row 1: the same literals, every other variable +1
            base[:, 1] = torch.where(w0 != 0, w0, 1.0)
        flip = (rank.unsqueeze(1) == (pos - 1).view(1, -1, 1)) & (pos >= 2).view(1, -1, 1)
        rows = torch.where(flip, -base, base)
        return rows, (w0 != 0).sum(-1) + 2
    # conj / dnf: blocks of |S_t| + 1 rows per term, term after term
    sizes = (w != 0).sum(-1)  # [B, T]
    ends = (sizes + 1).cumsum(-1)  # [B, T]
    term = (pos.view(1, -1, 1) >= ends.unsqueeze(1)).sum(-1).clamp(max=t - 1)  # [B, L]
    start = torch.gather(_block_starts(ends), 1, term)  # first position of the block
    m = pos.view(1, -1) - start  # row index within the block
    wt = torch.gather(w, 1, term.unsqueeze(-1).expand(b, length, n))  # [B, L, n]
    rank = wt.cumsum(-1) * wt
    rows = torch.where((rank == m.unsqueeze(-1)) & (m.unsqueeze(-1) >= 1), -1.0, 2 * wt - 1)
    return rows, ends[:, -1]


def _block_starts(ends: torch.Tensor) -> torch.Tensor:
    """Block starts from block ends: [0, end_0, end_1, ...] (drops the last end)."""
    return torch.cat((torch.zeros_like(ends[:, :1]), ends[:, :-1]), dim=1)


def force_examples(spec: ClassSpec, xs: torch.Tensor, w: torch.Tensor, clause: torch.Tensor,
                   g: torch.Generator) -> torch.Tensor:
    """Overwrite each example with probability force_p to match term ``clause`` (x_i = force·w_i)."""
    b, n_points, _ = xs.shape
    wc = w[torch.arange(b), clause]  # [B, n]
    chosen = torch.rand(b, n_points, generator=g) < spec.force_p
    overwrite = chosen.unsqueeze(-1) & (wc != 0).unsqueeze(1)
    return torch.where(overwrite, (spec.force * wc).unsqueeze(1).expand_as(xs), xs)


def nearest_neighbour_labels(xs: torch.Tensor, start: int, g: torch.Generator) -> torch.Tensor:
    """Reference labelling: coin flips (duplicates copy) before ``start``, then the label of
    the most cosine-similar earlier x (the first of equally similar ones)."""
    b, n_points, n = xs.shape
    sim = xs @ xs.transpose(1, 2)  # x·x' = n·cos for ±1 vectors
    earlier = torch.ones(n_points, n_points, dtype=torch.bool).tril(-1)
    nearest = sim.masked_fill(~earlier, -float("inf")).argmax(-1)  # first maximum
    best = sim.masked_fill(~earlier, -float("inf")).amax(-1)
    ys = torch.randint(0, 2, (b, n_points), generator=g).float() * 2 - 1
    for i in range(1, n_points):  # labels copy earlier labels: a short sequential pass
        copy = (best[:, i] >= n) if i < start else torch.ones(b, dtype=torch.bool)
        ys[:, i] = torch.where(copy, ys[torch.arange(b), nearest[:, i]], ys[:, i])
    return ys


def flip_labels(ys: torch.Tensor, noise: float, g: torch.Generator) -> torch.Tensor:
    if noise <= 0:
        return ys
    return torch.where(torch.rand(ys.shape, generator=g) < noise, -ys, ys)


@register("boolean", "Boolean functions of x ∈ {±1}^d (task.function_class), Bhattamishra et al. 2024",
          ("d", "n_points", "function_class", "label_noise", "sparse_k", "nn_start"),
          boolean_function, loss="bce", params=BooleanParams)
def boolean(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
            active_dims: int | None = None) -> Batch:
    """Sample prompts of ``cfg.function_class``; params hold w [B, T, n], θ [B, T], clause [B]."""
    n, g, b = cfg.d, generator, n_prompts
    xs = torch.randint(0, 2, (b, n_points, n), generator=g).float() * 2 - 1
    spec = CLASSES[cfg.function_class]
    if spec is None:
        clean = nearest_neighbour_labels(xs, cfg.nn_start, g)
        return Batch(xs, flip_labels(clean, cfg.label_noise, g), {"clean_ys": clean}, 1.0)
    active = min(n, active_dims or n)
    w = draw_weights(spec, b, n, sparse_k(cfg), active, g)
    theta = None
    if spec.theta == "free":
        theta = torch.tensor(THRESHOLDS)[torch.randint(0, len(THRESHOLDS), (b, spec.terms), generator=g)]
    theta = thresholds(spec, w, theta)
    clause = torch.randint(0, spec.terms, (b,), generator=g)
    if spec.force:
        xs = force_examples(spec, xs, w, clause, g)
    if spec.teach:
        length = min(n_points, spec.terms * (n + 2))
        rows, size = teaching_rows(spec, w, length)
        teach = torch.arange(length).view(1, -1) < size.view(-1, 1)
        xs[:, :length] = torch.where(teach.unsqueeze(-1), rows, xs[:, :length])
    clean = evaluate_function(spec, w, theta, xs)
    params = {"w": w, "theta": theta, "clause": clause, "clean_ys": clean}
    return Batch(xs, flip_labels(clean, cfg.label_noise, g), params, 1.0)
