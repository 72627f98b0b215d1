"""Sampling-based Bayes predictors for Boolean classes too large to enumerate.

``bayes_smc``: resample-move sequential Monte Carlo (Chopin 2002), one particle system per
prompt, vectorised over prompts and particles. Particles are functions drawn from the
prior; at query k the predictive is the weighted particle average of
p(x_k | f) p(y_k | f(x_k)) (the input likelihood of the query included, exactly as in the
enumeration); then the weights absorb example k, prompts whose effective sample size fell
below half the particles are resampled, and every particle moves by a Gibbs sweep that
leaves P(f | examples ≤ k) invariant: over random pairs of coordinates of every term
(single coordinates for the 7-letter halfspace alphabet), then the free threshold. Pair
moves can swap a variable in and another out, which single-site moves cannot do under
hard threshold constraints. Noiseless labels are
treated as flipped with probability ``HARD_NOISE`` = 1e-9 inside the sampler so a particle
system can never die out.

Error (measured with :func:`icl_lab.pipelines.boolean.smc_error`, 128 particles, against
exact enumeration on the same prompts): mean |P_smc − P_exact| 0.002–0.03 and accuracy within
0.5 point for conjunction (n = 6, 10), disjunction (6), zero_one_threshold (5, 9),
integer_halfspace (4, 5), CNF/DNF (3); majority at n = 16 is the worst case seen: 1.3 points
below exact with 128 particles, 0.0 with 512 — the error falls with the particle count and
shows no bias beyond it. Because any noisy estimate of the posterior can only lose
accuracy, a sampled Bayes curve is (in expectation) a *lower bound* on the Bayes-optimal
accuracy. At n = 28 the posteriors of majority / thresholds / halfspaces are broad and two
seeds disagree on many near-tie decisions; the per-class replica numbers are in the report
of issue 6 and are reproduced by ``smc_error``-style checks.

``bayes_teach_dnf``: for teach_dnf the teaching blocks reveal the terms one at a time
(row 0 of block t is 1_{S_t}); the revealed terms are exact, and the not yet revealed
ones only enter through the labels of earlier rows, so they are integrated by importance
sampling with the prior as proposal (``draws`` per prompt; the input likelihood of all
rows seen so far does not depend on them). Once all three blocks started, f is known.
"""

from __future__ import annotations

import torch

from icl_lab.baselines.boolean_bayes import _finite, example_terms, label_logliks
from icl_lab.tasks.boolean import CLASSES, THRESHOLDS, ClassSpec
from icl_lab.tasks.config import TaskConfig

HARD_NOISE = 1e-9


def _gumbel_argmax(scores: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Sample index ~ softmax(scores) along the last dim (Gumbel-max trick)."""
    u = torch.rand(scores.shape, generator=g).clamp(1e-12, 1 - 1e-7)
    return (scores - torch.log(-torch.log(u))).argmax(-1)


class _Particles:
    """Weights of one class for M prompts × P particles, with cached pre-activations."""

    def __init__(self, spec: ClassSpec, feats: torch.Tensor, n_particles: int, g: torch.Generator):
        b, n_points, n = feats.shape
        self.spec, self.feats, self.g = spec, feats, g
        self.values = torch.tensor(spec.values)
        self.log_prior = torch.log(torch.tensor(spec.probs))
        cum = torch.tensor(spec.probs, dtype=torch.float64).cumsum(0)
        u = torch.rand(b, n_particles, spec.terms, n, generator=g, dtype=torch.float64) * cum[-1]
        self.z = torch.searchsorted(cum, u).clamp(max=len(spec.values) - 1)  # [B, P, T, n]
        self.theta_idx = torch.randint(0, len(THRESHOLDS), (b, n_particles, 1), generator=g)
        self.refresh()

    def refresh(self) -> None:
        w = self.values[self.z]
        self.pre = torch.einsum("bjn,bptn->bpjt", self.feats, w)  # [B, P, N, T]
        self.size = w.abs().sum(-1)  # [B, P, T]

    def theta(self, size: torch.Tensor, theta_idx: torch.Tensor | None = None) -> torch.Tensor:
        spec = self.spec
        if spec.theta == "free":
            return torch.tensor(THRESHOLDS)[self.theta_idx if theta_idx is None else theta_idx]
        return {"conj": size - 1, "disj": 1 - size}.get(spec.theta, torch.full_like(size, 0.5))

    def select(self, rows: torch.Tensor, idx: torch.Tensor | None = None) -> None:
        """Keep prompts ``rows`` only where resampling; ``idx`` [M, P] picks particles."""
        take = lambda t: torch.gather(t, 1, idx.view(*idx.shape, *([1] * (t.dim() - 2))).expand(  # noqa: E731
            -1, -1, *t.shape[2:]))
        for name in ("z", "theta_idx", "pre", "size"):
            full = getattr(self, name)
            full[rows] = take(full[rows])


def _term_values(spec: ClassSpec, pre: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """±1 value of one term from its pre-activation and θ (parity: odd count)."""
    if spec.combine == "parity":
        return torch.where(torch.remainder(pre.round(), 2) == 1, 1.0, -1.0)
    return torch.where(pre > theta, 1.0, -1.0)


def _gibbs_sweep(parts: _Particles, rows: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, length: int,
                 good: float, bad: float) -> None:
    """One systematic Gibbs sweep for prompts ``rows`` targeting P(f | examples < length).

    Blocks of coordinates of term t are resampled from their joint full conditional: the
    candidates' pre-activations differ from the current one by Σ x_i·Δ_i, the other terms
    enter through their combined value (fixed while term t is updated), and only the
    forced term 0 carries an input likelihood that depends on the block.
    """
    spec, n, t_count = parts.spec, xs.shape[-1], parts.spec.terms
    feats_all = parts.feats[rows]  # [M, N, n]
    feats = feats_all[:, :length]  # [M, L, n]
    y = ys[rows, :length].unsqueeze(1).unsqueeze(1)  # [M, 1, 1, L]
    z, pre, size, tid = parts.z[rows], parts.pre[rows], parts.size[rows], parts.theta_idx[rows]
    vals, absv = parts.values, parts.values.abs()
    log_prior = parts.log_prior.view(1, 1, -1)
    for t in range(t_count):
        others = None
        if t_count > 1:  # AND / OR of the other terms, constant while term t changes
            tv = _term_values(spec, pre[:, :, :length], parts.theta(size, tid).unsqueeze(-2))
            rest = torch.cat((tv[..., :t], tv[..., t + 1:]), -1)
            others = (rest.amin(-1) if spec.combine == "and" else rest.amax(-1)).unsqueeze(2)  # [M, P, 1, L]
        # Blocks of two coordinates (a fresh random pairing per sweep) updated jointly over V²
        # values: swaps (add i, drop j) keep |S| and let threshold-type posteriors mix.
        order = torch.randperm(n, generator=parts.g).tolist()
        width = 2 if len(vals) <= 3 else 1  # V² joint values: pairs only for small alphabets
        for block in [order[m:m + width] for m in range(0, n, width)]:
            v = len(vals)
            cur = vals[z[:, :, t, block]]  # [M, P, k]
            combos = torch.cartesian_prod(*[torch.arange(v)] * len(block)).view(-1, len(block))  # [C, k]
            delta = vals[combos].view(1, 1, -1, len(block)) - cur.unsqueeze(2)  # [M, P, C, k]
            cand = pre[:, :, :length, t].unsqueeze(2) + torch.einsum("mlk,mpck->mpcl", feats[..., block], delta)
            size_c = (size[:, :, t:t + 1] + absv[combos].sum(-1).view(1, 1, -1)
                      - cur.abs().sum(-1, keepdim=True))  # [M, P, C]
            theta = parts.theta(size_c, tid).unsqueeze(-1)  # [M, P, C or 1, 1]
            f = _term_values(spec, cand, theta)  # [M, P, C, L]
            if others is not None:
                f = torch.minimum(f, others) if spec.combine == "and" else torch.maximum(f, others)
            score = log_prior[..., combos].sum(-1) + torch.where(f == y, good, bad).sum(-1)
            if spec.force and t == 0:  # forced examples match term 0 with probability ∝ 2^|S_0|
                match = cand == spec.force * size_c.unsqueeze(-1)
                mix = (1 - spec.force_p) + spec.force_p * torch.exp2(size_c).unsqueeze(-1) * match
                score = score + torch.log(mix).sum(-1)
            pick = combos[_gumbel_argmax(score, parts.g)]  # [M, P, k]
            step = vals[pick] - cur
            z[:, :, t, block] = pick
            pre[..., t] += torch.einsum("mnk,mpk->mpn", feats_all[..., block], step)
            size[..., t] += (absv[pick] - cur.abs()).sum(-1)
    if spec.theta == "free":  # the threshold is one more site (single-term class)
        cand_t = torch.arange(len(THRESHOLDS)).view(1, 1, -1).expand(*tid.shape[:2], -1)
        f = _term_values(spec, pre[:, :, :length, 0].unsqueeze(2), parts.theta(size, cand_t).unsqueeze(-1))
        tid = _gumbel_argmax(torch.where(f == y, good, bad).sum(-1), parts.g).unsqueeze(-1)
    parts.z[rows], parts.pre[rows], parts.size[rows], parts.theta_idx[rows] = z, pre, size, tid


@torch.no_grad()
def bayes_smc(xs: torch.Tensor, ys: torch.Tensor, cfg: TaskConfig, particles: int = 128, sweeps: int = 1,
              seed: int = 0, info: dict | None = None, move_all: bool = True) -> torch.Tensor:
    """Posterior predictive logits [B, N] by resample-move SMC (see the module docstring).

    ``info`` (optional dict) receives ``ess_min`` [N] and ``resampled`` [N] (fraction of prompts).
    """
    spec = CLASSES[cfg.function_class]
    if spec is None or spec.probs is None or spec.teach:
        raise ValueError(f"SMC needs an i.i.d. prior over weights, not {cfg.function_class}")
    g = torch.Generator().manual_seed(seed)
    b, n_points, n = xs.shape
    x, y = xs.float(), ys.float()
    feats = (x + 1) / 2 if spec.combine == "parity" else x
    parts = _Particles(spec, feats, particles, g)
    good, bad = label_logliks(max(cfg.label_noise, HARD_NOISE))
    logw = torch.zeros(b, particles)
    out = torch.empty(b, n_points, dtype=torch.float64)
    ess_min, resampled = [], []
    for k in range(n_points):
        f, logpx = example_terms(spec, parts.pre[:, :, k:k + 1], parts.size, parts.theta(parts.size), None, n)
        f, logpx = f[..., 0], logpx[..., 0]  # [B, P]
        base = logw + logpx
        out[:, k] = (torch.logsumexp(base + torch.where(f > 0, good, bad), -1)
                     - torch.logsumexp(base + torch.where(f < 0, good, bad), -1)).double()
        logw = base + torch.where(f == y[:, k:k + 1], good, bad)
        logw = logw - logw.amax(-1, keepdim=True)
        wts = logw.exp()
        ess = wts.sum(-1) ** 2 / (wts**2).sum(-1)
        ess_min.append(float(ess.min()))
        rows = (ess < particles / 2).nonzero().squeeze(-1)
        resampled.append(len(rows) / b)
        if len(rows) and k < n_points - 1:
            idx = torch.multinomial(wts[rows], particles, replacement=True, generator=g)
            parts.select(rows, idx)
            logw[rows] = 0.0
        moving = torch.arange(b) if move_all else rows
        if len(moving) and k < n_points - 1:
            for _ in range(sweeps):
                _gibbs_sweep(parts, moving, x, y, k + 1, good, bad)
    if info is not None:
        info.update(ess_min=ess_min, resampled=resampled)
    return _finite(out, cfg.label_noise).to(xs.dtype)


@torch.no_grad()
def bayes_teach_dnf(xs: torch.Tensor, ys: torch.Tensor, cfg: TaskConfig, draws: int = 4096,
                    seed: int = 0, info: dict | None = None) -> torch.Tensor:
    """teach_dnf: revealed terms exact, unrevealed ones by prior importance sampling."""
    spec = CLASSES["teach_dnf"]
    g = torch.Generator().manual_seed(seed)
    b, n_points, n = xs.shape
    x = xs.float()
    good, bad = label_logliks(max(cfg.label_noise, HARD_NOISE))
    # Revealed terms: S_0 from row 0, S_1 from the row after block 0, S_2 after block 1.
    w_rev = torch.zeros(b, 3, n)
    start = torch.zeros(b, dtype=torch.long)
    revealed = torch.zeros(b, n_points, dtype=torch.long)  # terms revealed by position k
    for t in range(3):
        at = start.clamp(max=n_points - 1)
        row = x[torch.arange(b), at]
        seen = start < n_points
        w_rev[:, t] = torch.where(seen.unsqueeze(-1), (row > 0).float(), 0.0)
        revealed += (torch.arange(n_points).view(1, -1) >= start.view(-1, 1)) & seen.view(-1, 1)
        start = start + w_rev[:, t].sum(-1).long() + 1
    tv_rev = torch.where(x @ w_rev.transpose(1, 2) > (w_rev.sum(-1) - 1).unsqueeze(1), 1.0, -1.0)  # [B, N, 3]
    out = torch.empty(b, n_points, dtype=torch.float64)
    chunk = max(1, 2**22 // (draws * n_points * 3))
    ess_all = []
    for s in range(0, b, chunk):
        m = min(chunk, b - s)
        w_draw = (torch.rand(m, draws, 3, n, generator=g) < spec.probs[1]).float()
        tv_draw = torch.where(torch.einsum("bjn,bmtn->bmjt", x[s:s + m], w_draw)
                              > (w_draw.sum(-1) - 1).unsqueeze(2), 1.0, -1.0)  # [M, D, N, 3]
        logits = torch.empty(3, m, n_points)
        for r in (1, 2, 3):  # r terms revealed: the rest come from the draws
            tv = torch.cat((tv_rev[s:s + m, :, :r].unsqueeze(1).expand(-1, draws, -1, -1), tv_draw[..., r:]), -1)
            f = tv.amax(-1)  # [M, D, N]
            ll = torch.where(f == ys[s:s + m].float().unsqueeze(1), good, bad)
            before = torch.cat((torch.zeros_like(ll[..., :1]), ll.cumsum(-1)[..., :-1]), -1)
            logits[r - 1] = (torch.logsumexp(before + torch.where(f > 0, good, bad), 1)
                             - torch.logsumexp(before + torch.where(f < 0, good, bad), 1))
            if r < 3:
                wts = torch.softmax(before, 1)
                ess_all.append((1 / (wts**2).sum(1)).min())
        pick = revealed[s:s + m].clamp(1, 3) - 1
        out[s:s + m] = torch.gather(logits, 0, pick.unsqueeze(0)).squeeze(0).double()
    if info is not None:
        info.update(ess_min=float(min(ess_all)) if ess_all else float(draws))
    return _finite(out, cfg.label_noise).to(xs.dtype)


__all__ = ["bayes_smc", "bayes_teach_dnf", "HARD_NOISE"]
