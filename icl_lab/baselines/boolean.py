"""Classical in-context learners for Boolean prompts (x ∈ {±1}^n, y ∈ {±1}).

Same contract as the regression baselines: ``(xs [B, N, n], ys [B, N]) -> preds [B, N]``,
entry k predicting y_k from (x_j, y_j)_{j<k} and x_k only; evaluation scores sign(pred),
with 0 counted as −1. Everything is vectorised over prompts (and over prefixes where the
algorithm allows); the per-prompt MLP trains one network per (prompt, position) at once.

* ``constant``: −1 everywhere (the reference's null classifier).
* ``averaging``: x_k · mean_{j<k} y_j x_j (−1 on an empty prompt), as in the reference.
* ``knn``: majority label of the k nearest earlier examples in Hamming distance (ties
  between equally distant examples go to the earlier one).
* ``cosine_nn``: label of the most cosine-similar earlier example (the earliest on ties),
  the rule that *defines* the nearest-neighbour class.
* ``elimination`` / ``signed_elimination``: the textbook elimination algorithm for
  monotone / signed conjunctions: start from the conjunction of all literals, delete the
  literals a positive example falsifies. Its hypothesis always contains the target's
  literals, so on conjunction data it never errs on a negative example, and it is never
  wrong on a positive example it has already seen.
* ``gf2``: Gaussian elimination over GF(2) (parity): solve a_j·s = b_j for the examples
  so far (a = (x+1)/2, b = (y+1)/2); predict the forced parity when the query's a lies
  in the span of the examples' a's, 0 (a coin flip) otherwise.
* ``mlp``: a one-hidden-layer MLP trained by Adam on each prefix (the reference's
  gradient-descent baseline); expensive, so ``positions`` restricts where it is fitted.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["constant", "averaging", "knn", "cosine_nn", "elimination", "signed_elimination", "gf2", "mlp",
           "gf2_solve"]

CONFIDENT = 30.0  # the logit of a prediction an algorithm is certain of


def _earlier_mask(n: int, device: torch.device) -> torch.Tensor:
    """[N(k), N(j)] True where j < k: example j is in the prompt of query k."""
    return torch.ones(n, n, dtype=torch.bool, device=device).tril(-1)


def constant(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    return torch.full_like(ys, -1.0)


def averaging(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """x_k · (1/k) Σ_{j<k} y_j x_j, −1 for k = 0."""
    zs = (xs * ys.unsqueeze(-1)).cumsum(1)
    prev = F.pad(zs[:, :-1], (0, 0, 1, 0))  # Σ over j < k
    k = torch.arange(xs.shape[1], device=xs.device).clamp(min=1).view(1, -1)
    preds = (prev * xs).sum(-1) / k
    preds[:, 0] = -1.0
    return preds


def knn(xs: torch.Tensor, ys: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Mean label of the k nearest earlier examples (Hamming distance, earlier wins ties)."""
    b, n, d = xs.shape
    dist = (d - xs @ xs.transpose(1, 2)) / 2  # Hamming distance between ±1 vectors
    dist = dist.masked_fill(~_earlier_mask(n, xs.device), float("inf"))
    order = dist.argsort(dim=-1, stable=True)[..., :k]  # stable: equal distances keep index order
    valid = torch.gather(dist, -1, order).isfinite()
    labels = torch.gather(ys.unsqueeze(1).expand(b, n, n), -1, order)
    return (labels * valid).sum(-1) / valid.sum(-1).clamp(min=1)


def cosine_nn(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Label of the most cosine-similar earlier example (0 for k = 0)."""
    b, n, _ = xs.shape
    sim = (xs @ xs.transpose(1, 2)).masked_fill(~_earlier_mask(n, xs.device), -float("inf"))
    nearest = sim.argmax(-1)  # the first maximum: the earliest of equally similar examples
    preds = torch.gather(ys, 1, nearest)
    preds[:, 0] = 0.0
    return preds


def _elimination(xs: torch.Tensor, ys: torch.Tensor, signed: bool) -> torch.Tensor:
    """Elimination over literals x_i (and ¬x_i if signed); ±CONFIDENT logits."""
    positive = (ys > 0).unsqueeze(-1)
    # A literal survives the prefix if no earlier positive example falsifies it.
    kill_pos = F.pad((positive & (xs < 0)).cumsum(1)[:, :-1], (0, 0, 1, 0)) > 0  # literal x_i
    keep_pos = ~kill_pos
    sat = ~(keep_pos & (xs < 0)).any(-1)
    if signed:
        kill_neg = F.pad((positive & (xs > 0)).cumsum(1)[:, :-1], (0, 0, 1, 0)) > 0  # literal ¬x_i
        sat = sat & ~((~kill_neg) & (xs > 0)).any(-1)
    return torch.where(sat, CONFIDENT, -CONFIDENT)


def elimination(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    return _elimination(xs, ys, signed=False)


def signed_elimination(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    return _elimination(xs, ys, signed=True)


def gf2_solve(xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Incremental GF(2) elimination: (determined [B, N] bool, parity [B, N] ±1).

    Rows are int64 bit masks (n ≤ 62) in an XOR basis whose pivots are lowest set bits;
    query k is reduced against the rows of examples 0..k-1, then example k is inserted.
    An inconsistent example (not a parity of the earlier ones) is ignored.
    """
    b, n_points, n = xs.shape
    if n > 62:
        raise ValueError(f"gf2 works on n <= 62 bits, got n={n}")
    bits = (1 << torch.arange(n, device=xs.device, dtype=torch.int64))
    rows = ((xs > 0).long() * bits).sum(-1)  # [B, N]: bit i set where x_i = +1
    rhs = (ys > 0).long()  # y = +1 iff an odd number of x_i = +1 on S
    pivot_row = torch.zeros(b, n, dtype=torch.int64, device=xs.device)
    pivot_rhs = torch.zeros(b, n, dtype=torch.int64, device=xs.device)
    has = torch.zeros(b, n, dtype=torch.bool, device=xs.device)
    determined = torch.zeros(b, n_points, dtype=torch.bool, device=xs.device)
    parity = torch.zeros(b, n_points, dtype=torch.int64, device=xs.device)

    def reduce(row: torch.Tensor, val: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for i in range(n):  # pivots sit on lowest bits, so bits are cleared in increasing order
            use = has[:, i] & ((row >> i) & 1).bool()
            row = torch.where(use, row ^ pivot_row[:, i], row)
            val = torch.where(use, val ^ pivot_rhs[:, i], val)
        return row, val

    for k in range(n_points):
        row, val = reduce(rows[:, k], torch.zeros_like(rhs[:, k]))
        determined[:, k] = row == 0
        parity[:, k] = val
        row, val = reduce(rows[:, k], rhs[:, k])
        low = (row & -row)  # lowest set bit (0 when the row is dependent)
        idx = torch.log2(low.clamp(min=1).double()).round().long()
        new = row != 0
        at = F.one_hot(idx, n).bool() & new.unsqueeze(-1)
        pivot_row = torch.where(at, row.unsqueeze(-1), pivot_row)
        pivot_rhs = torch.where(at, val.unsqueeze(-1), pivot_rhs)
        has = has | at
    return determined, parity * 2 - 1


def gf2(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """±CONFIDENT where the parity of the query is forced by the examples, 0 otherwise."""
    determined, parity = gf2_solve(xs, ys)
    return torch.where(determined, parity.to(xs.dtype) * CONFIDENT, 0.0)


def mlp(xs: torch.Tensor, ys: torch.Tensor, positions: Sequence[int] | None = None, hidden: int = 64,
        steps: int = 200, lr: float = 1e-2, seed: int = 0) -> torch.Tensor:
    """One ReLU MLP per (prompt, position) trained by full-batch Adam on BCE over the prefix.

    Positions not in ``positions`` (default: all) and k = 0 get 0 (no prediction). All
    networks train at once as batched matrix products; cost ∝ B·|positions|·N·n·hidden·steps.
    """
    b, n_points, n = xs.shape
    pos = [k for k in (range(n_points) if positions is None else positions) if 0 < k < n_points]
    preds = torch.zeros_like(ys)
    if not pos:
        return preds
    g = torch.Generator().manual_seed(seed)
    m = b * len(pos)
    data = xs.unsqueeze(1).expand(b, len(pos), n_points, n).reshape(m, n_points, n)
    target = ((ys > 0).float().unsqueeze(1).expand(b, len(pos), n_points)).reshape(m, n_points)
    k = torch.tensor(pos).repeat(b)
    mask = (torch.arange(n_points).view(1, -1) < k.view(-1, 1)).float()  # the prefix of each net
    with torch.enable_grad():
        w1 = (torch.randn(m, n, hidden, generator=g) / n**0.5).requires_grad_()
        b1 = torch.zeros(m, 1, hidden, requires_grad=True)
        w2 = (torch.randn(m, hidden, 1, generator=g) / hidden**0.5).requires_grad_()
        opt = torch.optim.Adam([w1, b1, w2], lr=lr)
        for _ in range(steps):
            logits = (torch.relu(data.float() @ w1 + b1) @ w2).squeeze(-1)
            loss = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * mask).sum() / len(pos)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            logits = (torch.relu(data.float() @ w1 + b1) @ w2).squeeze(-1)
    query = logits[torch.arange(m), k].view(b, len(pos))
    preds[:, pos] = query.to(preds.dtype)
    return preds
