"""The Bayes-optimal in-context predictor for every Boolean class (posterior predictive logits).

For query k the predictor returns log P(y_k = +1 | D_k) − log P(y_k = −1 | D_k), where
D_k = (x_1..x_k, y_1..y_{k-1}) and the posterior over the function f is taken under the
task's own prior *and* its input sampler, the query included:

    P(f | D_k) ∝ p(f) · Π_{j<k} p(x_j | f) p(y_j | f(x_j)) · p(x_k | f).

p(x | f) matters because the samplers force examples to satisfy/falsify f (and teaching
sequences are functions of f): e.g. for a conjunction with support S a positive example
has likelihood 2^{−n}(0.7 + 0.3·2^{|S|}), which favours long conjunctions. For CNF/DNF the
forced clause/term c is a latent variable summed over; by the exchangeability of the three
terms under the prior the sum equals the computation with c fixed to term 0 (teach_dnf
breaks the symmetry, so there c is enumerated). Label noise η enters as p(y | f(x)).

Methods (``method="auto"`` picks the first that applies):

============================  ==========================================  ====================
class                         exact method                                limit (default)
============================  ==========================================  ====================
nearest_neighbour             closed form (labels copy along the NN tree)  any n
parity, η = 0                 GF(2) elimination (uniform prior, uniform x) any n ≤ 62
teach_(signed_)conjunction    teaching rows 0 (and 1) reveal f             any n
all classes                   enumeration of every hypothesis, chunked     |H| ≤ max_hypotheses
teach_dnf beyond enumeration  revealed terms exact + prior IS for the rest  4096 draws / prompt
other classes beyond          resample-move SMC (boolean_smc.py)          128 particles
============================  ==========================================  ====================

Sampled methods carry Monte Carlo error; boolean_smc.py states the measured error (a
sampled curve is a lower bound on the Bayes accuracy in expectation). Noisy parity beyond
the enumeration limit also falls to SMC, which cannot locate a parity among 2^n: its curve
there is not meaningful.

|H| = 3^n (conjunction, disjunction, teach_signed), 6·3^n (zero_one_threshold), 3^{3n}
(CNF, DNF), 2^n (majority, parity, teach_conjunction), 7^n (integer_halfspace),
C(n, k) (sparse classes), 3·2^{3n} (teach_dnf). With max_hypotheses = 2^17 enumeration
covers n ≤ 10 (conj/disj), 9 (threshold), 3 (CNF/DNF), 17 (majority/parity), 6
(halfspace), 5 (teach_dnf), and the sparse classes at n = 28 (C(28, 4) = 20475).
Cost of enumeration ≈ |H|·B·N·(n·T + 30) flops.
"""

from __future__ import annotations

import math
from itertools import combinations

import torch

from icl_lab.tasks.boolean import CLASSES, THRESHOLDS, ClassSpec, combine_terms, sparse_k, teaching_rows
from icl_lab.tasks.config import TaskConfig

CONFIDENT = 30.0  # logit of a certain prediction in a noiseless task
_CHUNK_ELEMS = 2**22  # elements of the largest per-chunk [H, B, N, T] intermediate
IS_DRAWS = 4096  # prior draws per prompt for teach_dnf beyond enumeration


def label_logliks(noise: float) -> tuple[float, float]:
    """(log p(y = f(x)), log p(y ≠ f(x))) under label noise η (η = 0: hard constraint)."""
    if noise <= 0:
        return 0.0, -math.inf
    return math.log1p(-noise), math.log(noise)


def hypothesis_count(cfg: TaskConfig) -> int:
    """|H| of the enumeration for ``cfg`` (0 for nearest_neighbour: nothing to enumerate)."""
    spec = CLASSES[cfg.function_class]
    if spec is None:
        return 0
    if spec.probs is None:
        return math.comb(cfg.d, sparse_k(cfg))
    size = len(spec.values) ** (spec.terms * cfg.d)
    if spec.theta == "free":
        size *= len(THRESHOLDS)
    if spec.teach == "dnf":
        size *= spec.terms  # the forced term is enumerated (the teaching order breaks symmetry)
    return size


def enumerate_hypotheses(spec: ClassSpec, n: int, k: int = 0) -> dict[str, torch.Tensor]:
    """Every hypothesis: w [H, T, n], θ [H, T], clause [H] and log prior [H] (float64)."""
    t = spec.terms
    if spec.probs is None:  # a uniform support of exactly k ones
        supports = torch.tensor(list(combinations(range(n), k)), dtype=torch.long).view(-1, k)
        w = torch.zeros(len(supports), 1, n, dtype=torch.float64)
        w.scatter_(-1, supports.unsqueeze(1), 1.0)
        log_prior = torch.full((len(supports),), -math.log(len(supports)), dtype=torch.float64)
    else:
        v = len(spec.values)
        h = v ** (t * n)
        digits = torch.arange(h).unsqueeze(-1) // (v ** torch.arange(t * n)) % v  # [H, T·n]
        w = torch.tensor(spec.values, dtype=torch.float64)[digits].view(h, t, n)
        log_prior = torch.log(torch.tensor(spec.probs, dtype=torch.float64))[digits].sum(-1)
    theta_free = None
    if spec.theta == "free":  # × every threshold, uniform
        m = len(THRESHOLDS)
        w = w.repeat_interleave(m, 0)
        log_prior = log_prior.repeat_interleave(m) - math.log(m)
        theta_free = torch.tensor(THRESHOLDS, dtype=torch.float64).repeat(len(w) // m).view(-1, 1)
    clause = torch.zeros(len(w), dtype=torch.long)
    if spec.teach == "dnf":
        w = w.repeat_interleave(t, 0)
        log_prior = log_prior.repeat_interleave(t) - math.log(t)
        clause = torch.arange(t).repeat(len(w) // t)
    return {"w": w, "theta": _theta(spec, w, theta_free), "clause": clause, "log_prior": log_prior}


def _theta(spec: ClassSpec, w: torch.Tensor, free: torch.Tensor | None) -> torch.Tensor:
    if spec.theta == "free":
        return free
    size = w.abs().sum(-1)
    return {"conj": size - 1, "disj": 1 - size}.get(spec.theta, torch.full_like(size, 0.5))


def example_terms(spec: ClassSpec, pre: torch.Tensor, w_size: torch.Tensor, theta: torch.Tensor,
                  clause: torch.Tensor | None, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x_j) [..., N] (±1) and log p(x_j | f) [..., N] for randomly drawn (non-teaching) rows.

    pre [..., N, T]: x_j·w_t (parity: the count of x_i = +1 on the support); w_size
    [..., T]: |w_t|₁; theta [..., T]; clause [...] or None: the forced term (None: term 0).
    """
    if spec.combine == "parity":
        f = torch.where(torch.remainder(pre[..., 0].round(), 2) == 1, 1.0, -1.0)
    else:
        f = combine_terms(spec, torch.where(pre > theta.unsqueeze(-2), 1.0, -1.0))
    logpx = torch.full_like(f, -n * math.log(2))
    if spec.force:
        if clause is None:
            pre_c, size_c = pre[..., 0], w_size[..., 0:1]
        else:
            idx = clause.view(*clause.shape, 1, 1).expand(*pre.shape[:-1], 1)
            pre_c = torch.gather(pre, -1, idx).squeeze(-1)
            size_c = torch.gather(w_size.expand(*clause.shape, w_size.shape[-1]), -1, clause.unsqueeze(-1))
        match = pre_c == spec.force * size_c  # x_i = force·w_{c,i} on the whole support of c
        mix = (1 - spec.force_p) + spec.force_p * torch.exp2(size_c) * match
        logpx = logpx + torch.log(mix)
    return f, logpx


def _codes(xs: torch.Tensor) -> torch.Tensor:
    """Each ±1 row as an int64 bit mask (teaching rows are compared by code)."""
    bits = 1 << torch.arange(xs.shape[-1], dtype=torch.int64)
    return ((xs > 0).long() * bits).sum(-1)


def bayes_enumerate(xs: torch.Tensor, ys: torch.Tensor, cfg: TaskConfig,
                    hyps: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Exact posterior predictive logits [B, N] by enumerating every hypothesis (chunked)."""
    spec = CLASSES[cfg.function_class]
    if hyps is None:
        hyps = enumerate_hypotheses(spec, cfg.d, sparse_k(cfg))
    b, n_points, n = xs.shape
    # float32 is exact for the integer pre-activations; log-likelihood sums lose < 1e-4.
    xs32, ys32 = xs.float(), ys.float()
    feats = (xs32 + 1) / 2 if spec.combine == "parity" else xs32
    good, bad = label_logliks(cfg.label_noise)
    x_codes = _codes(xs) if spec.teach else None
    h_total, t = hyps["w"].shape[0], spec.terms
    b_chunk = max(1, min(b, _CHUNK_ELEMS // (n_points * t * 64)))
    h_chunk = max(1, _CHUNK_ELEMS // (b_chunk * n_points * t))
    out = torch.empty(b, n_points, dtype=torch.float64)
    pos = torch.arange(n_points)
    for bs in range(0, b, b_chunk):
        x, y = feats[bs:bs + b_chunk], ys32[bs:bs + b_chunk]
        acc_pos = torch.full((x.shape[0], n_points), -math.inf)
        acc_neg = acc_pos.clone()
        for hs in range(0, h_total, h_chunk):
            w = hyps["w"][hs:hs + h_chunk].float()
            bc, hc = x.shape[0], w.shape[0]
            # One matmul, then a contiguous [H, B, N, T] layout (strided views make every later op slow).
            pre = (w.reshape(hc * t, n) @ x.reshape(bc * n_points, n).T).view(hc, t, bc, n_points)
            pre = pre.permute(0, 2, 3, 1).contiguous()
            size = w.abs().sum(-1).unsqueeze(1)  # [H, 1, T]
            theta = hyps["theta"][hs:hs + h_chunk].float().unsqueeze(1)
            clause = hyps["clause"][hs:hs + h_chunk].unsqueeze(1).expand(-1, x.shape[0]) if spec.teach == "dnf" else None
            f, logpx = example_terms(spec, pre, size, theta, clause, n)
            if spec.teach:  # rows before the end of f's teaching sequence must equal it exactly
                rows, length = teaching_rows(spec, w, n_points)
                inside = pos.view(1, 1, -1) < length.view(-1, 1, 1)
                equal = _codes(rows).unsqueeze(1) == x_codes[bs:bs + b_chunk].unsqueeze(0)
                logpx = torch.where(inside, torch.where(equal, 0.0, -math.inf), logpx)
            lab = torch.where(f == y.unsqueeze(0), good, bad)
            ll = logpx + lab
            before = torch.cat((torch.zeros_like(ll[..., :1]), ll.cumsum(-1)[..., :-1]), dim=-1)
            joint = hyps["log_prior"][hs:hs + h_chunk].float().view(-1, 1, 1) + before + logpx
            # One exp per chunk: shift by the chunk's max, weight by p(y = ±1 | f(x_k)).
            top = joint.amax(0).clamp(min=-1e30)  # finite even where every hypothesis is dead
            mass = torch.exp(joint - top)
            p_pos = torch.where(f > 0, math.exp(good), math.exp(bad))
            acc_pos = torch.logaddexp(acc_pos, torch.log((mass * p_pos).sum(0)) + top)
            acc_neg = torch.logaddexp(acc_neg, torch.log((mass * (1 - p_pos)).sum(0)) + top)
        out[bs:bs + b_chunk] = acc_pos - acc_neg
    return _finite(out, cfg.label_noise).to(xs.dtype)


def _finite(logits: torch.Tensor, noise: float) -> torch.Tensor:
    """Clamp ±inf (certain predictions in noiseless tasks) and nan (no consistent f) to finite logits."""
    cap = CONFIDENT if noise <= 0 else max(CONFIDENT, math.log((1 - noise) / noise) + 1)
    return torch.nan_to_num(logits, nan=0.0).clamp(-cap, cap)


# ----------------------------------------------------------------------------- closed forms


def bayes_nearest_neighbour(xs: torch.Tensor, ys: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    """Exact: clean labels are constant on the trees of 'copies the label of' links.

    Roots (coin flips: the first nn_start examples that are not exact duplicates) are
    uniform, so the query's clean label has log-odds Σ y_j·log((1−η)/η) over the earlier
    examples of its tree; with η = 0 this is the earliest such label.
    """
    b, n_points, n = xs.shape
    sim = xs @ xs.transpose(1, 2)
    earlier = torch.ones(n_points, n_points, dtype=torch.bool, device=xs.device).tril(-1)
    masked = sim.masked_fill(~earlier, -float("inf"))
    parent, best = masked.argmax(-1), masked.amax(-1)
    k = torch.arange(n_points, device=xs.device).view(1, -1)
    copies = (k >= cfg.nn_start) | (best >= n)  # else a root (its own coin flip)
    copies[:, 0] = False
    root = torch.where(copies, parent, k.expand(b, -1)).clone()
    for i in range(n_points):  # parents come earlier, so one forward pass resolves roots
        root[:, i] = torch.where(copies[:, i], root[torch.arange(b), parent[:, i]], root[:, i])
    same = (root.unsqueeze(-1) == root.unsqueeze(1)) & earlier  # [B, k, j]: j < k in k's tree
    good, bad = label_logliks(cfg.label_noise)
    weight = (good - bad) if cfg.label_noise > 0 else CONFIDENT
    clean = (same * ys.unsqueeze(1)).sum(-1)
    if cfg.label_noise <= 0:  # every earlier label of the tree is the clean label
        return torch.sign(clean) * CONFIDENT
    p_clean = torch.sigmoid(clean * weight)  # P(clean label of the query = +1)
    p = p_clean * (1 - cfg.label_noise) + (1 - p_clean) * cfg.label_noise
    return torch.logit(p.double()).to(xs.dtype)


def bayes_parity_gf2(xs: torch.Tensor, ys: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    """Exact for noiseless parity: the posterior is uniform on the solutions of the examples'
    linear system over GF(2) (uniform prior, x independent of f), so the query's parity is
    certain when its bits lie in the span of the examples' and a fair coin otherwise."""
    from icl_lab.baselines.boolean import gf2

    return gf2(xs, ys)


def bayes_revealed(xs: torch.Tensor, ys: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    """Exact for teach_conjunction / teach_signed_conjunction: only one function has the
    observed teaching rows (row 0 = 1_S for monotone; rows 0 and 1 fix every literal for
    signed), and those rows are positive under it — so the posterior is a point mass."""
    spec = CLASSES[cfg.function_class]
    x0 = xs[:, 0]
    if spec.teach == "conj":
        w = ((x0 + 1) / 2).unsqueeze(1)
    else:  # literal i present iff rows 0 and 1 agree on it (absent variables are −1 then +1)
        x1 = xs[:, 1] if xs.shape[1] > 1 else x0
        w = torch.where(x0 == x1, x0, 0.0).unsqueeze(1)
    size = w.abs().sum(-1)
    pre = xs @ w.transpose(1, 2)
    f = torch.where(pre > (size - 1).unsqueeze(-2), 1.0, -1.0)[..., 0]
    f[:, : 2 if spec.teach == "signed" else 1] = 1.0  # rows 0 (and 1) are positive whatever f is
    good, bad = label_logliks(cfg.label_noise)
    return f * (CONFIDENT if cfg.label_noise <= 0 else good - bad)
