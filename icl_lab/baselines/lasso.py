"""Lasso for every prompt and every prefix at once.

Problem ``(b, k)`` minimises sklearn's objective (no intercept)

    (1/(2k)) ||y_k - X_k w||² + alpha ||w||_1,

equivalently ``½ wᵀG w - hᵀw + lam ||w||_1`` with ``G = X_kᵀX_k``, ``h = X_kᵀy_k``,
``lam = k·alpha``. Only these ``D x D`` statistics are used, so a problem costs
``O(D²)`` per iteration whatever ``k``, and all ``B·N`` problems of a chunk of prompts
are solved together (one Python iteration advances every problem); finished problems
are dropped from the batch.

Solver:

1. *Homotopy* (LARS-lasso): follow the piecewise-linear solution path from
   ``lam_max = ||h||_inf`` down to ``lam``, one variable entering or leaving the active
   set per step, keeping ``G_AA⁻¹`` by rank-one updates; the end point is solved
   exactly on its support. Finite (about ``|support| + #drops`` steps) and exact up to
   rounding, also for under-determined prefixes (``k < D``) where coordinate descent
   crawls. Over-determined prefixes (``k > D``) whose solution should keep most
   coordinates walk the path the other way, up from the least-squares solution at
   ``l = 0``: fewer kinks to cross.
2. Fallback for what fails the convergence test (degenerate data: duplicated or
   collinear inputs make ``G_AA`` singular): cyclic *coordinate descent* in Gram form
   (as sklearn's ``precompute=True``), checked every ``_CHECK_EVERY`` sweeps. A check
   also tries a *polish*, the exact minimiser on the current support and signs
   ``w_S = G_SS⁻¹ (h_S - lam·sign(w_S))``, kept where its signs agree and its duality gap
   is smaller.

Convergence test (sklearn's): duality gap ``<= tol · ||y_k||²``. Problems still open
after ``max_iter`` sweeps are reported with ``warnings.warn`` and predicted with their
last iterate.
"""

from __future__ import annotations

import warnings

import torch

from icl_lab.baselines.prefix_stats import _check, _exclusive_cumsum, _prefix_gram

__all__ = ["lasso"]

_CHECK_EVERY = 4  # CD sweeps between convergence checks
_CHUNK_ELEMS = 2**21  # elements of one [P, D, D] float64 tensor per chunk (16 MiB)


def _matvec(mat: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Batched ``mat @ vec`` for symmetric ``mat``: ``[P, D, D] x [P, D] -> [P, D]``.

    Every matrix given here is symmetric (``G``, ``G_AA⁻¹``, ``G⁻¹``), so it is computed as
    ``vecᵀ mat``: MKL's batched GEMM is ~2x faster with a row than a column right-hand side."""
    return torch.bmm(vec[:, None, :], mat)[:, 0]


def _row(mat: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """``mat[p, j[p], :]`` for ``mat [P, D, D]``, ``j [P]`` -> ``[P, D]``."""
    return mat.gather(1, j[:, None, None].expand(-1, 1, mat.shape[-1]))[:, 0]


def _duality_gap(
    gram: torch.Tensor, xty: torch.Tensor, yy: torch.Tensor, lam: torch.Tensor, w: torch.Tensor
) -> torch.Tensor:
    """sklearn's Lasso duality gap in Gram form (scale ``½||r||² + lam||w||_1``), ``[P]``."""
    gw = _matvec(gram, w)
    hw = (xty * w).sum(-1)
    r2 = (yy - 2.0 * hw + (w * gw).sum(-1)).clamp(min=0.0)  # ||y - Xw||²
    dual_norm = (xty - gw).abs().amax(-1)  # ||Xᵀr||_inf
    const = torch.where(dual_norm > lam, lam / torch.where(dual_norm > 0, dual_norm, 1.0), 1.0)
    return 0.5 * r2 * (1.0 + const.square()) + lam * w.abs().sum(-1) - const * (yy - hw)


def _cd_sweeps(gram: torch.Tensor, xty: torch.Tensor, lam: torch.Tensor, w: torch.Tensor, sweeps: int) -> None:
    """``sweeps`` cyclic coordinate-descent sweeps, updating ``w [P, D]`` in place."""
    diag = gram.diagonal(dim1=-2, dim2=-1)  # [P, D]
    inv_diag = torch.where(diag > 0, 1.0 / torch.where(diag > 0, diag, 1.0), 0.0)
    cols = gram.transpose(0, 1).contiguous()  # [D, P, D]; cols[j] = G[:, j, :] (symmetric)
    gw = _matvec(gram, w)  # G w, kept up to date
    for _ in range(sweeps):
        for j in range(w.shape[1]):
            wj = w[:, j]
            z = xty[:, j] - gw[:, j] + diag[:, j] * wj
            new = torch.sign(z) * (z.abs() - lam).clamp(min=0.0) * inv_diag[:, j]
            gw.addcmul_(cols[j], (new - wj)[:, None])
            w[:, j] = new


def _polish(gram: torch.Tensor, xty: torch.Tensor, lam: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Exact minimiser on the support/sign pattern of ``w`` (``w`` itself where invalid)."""
    supp = w != 0  # [P, D]
    sign = torch.sign(w)
    eye = torch.eye(w.shape[-1], dtype=w.dtype, device=w.device)
    mat = torch.where(supp[:, :, None] & supp[:, None, :], gram, 0.0) + torch.diag_embed((~supp).to(w.dtype))
    chol, info = torch.linalg.cholesky_ex(mat)
    ok = info == 0
    chol = torch.where(ok[:, None, None], chol, eye)  # keep the solve finite where it failed
    cand = torch.cholesky_solve(torch.where(supp, xty - lam[:, None] * sign, 0.0)[..., None], chol)[..., 0]
    ok &= torch.isfinite(cand).all(-1) & (torch.sign(cand) == sign).all(-1)
    return torch.where(ok[:, None], cand, w)


def _check_and_polish(
    gram: torch.Tensor, xty: torch.Tensor, yy: torch.Tensor, lam: torch.Tensor, w: torch.Tensor, tol: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace ``w`` by its polish where that lowers the gap; return ``(w, converged)``."""
    gap = _duality_gap(gram, xty, yy, lam, w)
    cand = _polish(gram, xty, lam, w)
    gap_cand = _duality_gap(gram, xty, yy, lam, cand)
    better = gap_cand < gap
    w = torch.where(better[:, None], cand, w)
    return w, torch.where(better, gap_cand, gap) <= tol * yy


def _homotopy(
    gram: torch.Tensor, xty: torch.Tensor, lam: torch.Tensor, full_rank: torch.Tensor, max_steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Follow the lasso (LARS-lasso) solution path to ``lam`` for ``P`` problems.

    On the path ``w_A(l) = G_AA⁻¹ (h_A - l·s_A)`` (``A`` active set, ``s`` its signs),
    piecewise linear in ``l``; it kinks where an inactive correlation ``|c_j| = |h_j -
    (G w)_j|`` reaches ``l`` (j joins) or an active ``w_j`` reaches 0 (j leaves). Each
    step moves to the next kink or to ``l = lam``, then updates ``G_AA⁻¹`` (embedded in
    ``D x D``, zero outside ``A``) and ``d = G_AA⁻¹ s_A`` by rank-one updates; the end
    point is solved exactly, ``w_A = G_AA⁻¹ (h_A - lam s_A)``.

    Direction ``σ = +1``: from ``lam_max = ||h||_inf`` (w = 0) downwards. ``σ = -1``: from
    ``l = 0`` (the least-squares solution, all variables active) upwards, used where
    ``full_rank`` (``G`` positive definite) and most coordinates should survive -- fewer
    kinks to cross. Returns ``(w [P, D], ok [P])``; ``ok`` is False where ``G_AA`` became
    singular (degenerate data) or ``max_steps`` ran out."""
    n_prob, d = xty.shape
    dev = xty.device
    w_out = torch.zeros_like(xty)
    ok_out = torch.ones(n_prob, dtype=torch.bool, device=dev)
    eye = torch.eye(d, dtype=xty.dtype, device=dev)
    inf = float("inf")
    lam_cur, j0 = xty.abs().max(-1)
    ids = (lam_cur > lam).nonzero()[:, 0]  # elsewhere w = 0 is optimal
    gram, xty, lam, lam_cur, j0, full_rank = (t.index_select(0, ids) for t in (gram, xty, lam, lam_cur, j0, full_rank))
    rows = torch.arange(ids.numel(), device=dev)
    # forward start: first variable active at lam_max
    sign = torch.zeros_like(xty)  # s_j on A, 0 elsewhere
    sign[rows, j0] = torch.sign(xty[rows, j0])
    minv = torch.zeros_like(gram)
    minv[rows, j0, j0] = 1.0 / gram[rows, j0, j0]
    dirn = torch.zeros_like(xty)
    dirn[rows, j0] = sign[rows, j0] / gram[rows, j0, j0]
    w = torch.zeros_like(xty)
    corr = xty.clone()  # c = h - G w
    sigma = torch.ones_like(lam)
    # reverse start: least squares at l = 0, where G is PD and more than half of the
    # coordinates survive the first-order estimate |w_j(lam)| ≈ |w0_j| - lam |d_j| > 0
    rev = full_rank.nonzero()[:, 0]
    if rev.numel() > 0:
        g_rev = gram[rev]
        chol, info = torch.linalg.cholesky_ex(g_rev)
        # numerically positive definite: factorised, and no pivot lost to cancellation
        pivots_ok = (chol.diagonal(dim1=-2, dim2=-1).square() > 1e-10 * g_rev.diagonal(dim1=-2, dim2=-1)).all(-1)
        pd = (info == 0) & pivots_ok
        ginv = torch.cholesky_inverse(torch.where(pd[:, None, None], chol, eye))
        w0 = _matvec(ginv, xty[rev])
        d0 = _matvec(ginv, torch.sign(w0))
        keep = pd & (w0 != 0).all(-1) & ((w0.abs() > lam[rev, None] * d0.abs()).sum(-1) * 2 > d)
        rev, ginv, w0, d0 = rev[keep], ginv[keep], w0[keep], d0[keep]
        sign[rev], minv[rev], dirn[rev], w[rev] = torch.sign(w0), ginv, d0, w0
        corr[rev], lam_cur[rev], sigma[rev] = 0.0, 0.0, -1.0
    live = torch.ones_like(lam_cur, dtype=torch.bool)
    dropped = torch.full_like(j0, -1)  # variable that left at the previous step, and its sign
    dropped_sign = torch.zeros_like(lam)
    for _ in range(max_steps):
        if ids.numel() == 0:
            break
        rows = torch.arange(ids.numel(), device=dev)
        active = sign != 0
        slope = _matvec(gram, dirn)  # G d (= s on A)
        # a step of length g moves l -> l - σg, w -> w + σg·d, c -> c - σg·G d
        sg = sigma[:, None]
        lc = lam_cur[:, None]
        up, dn = sg * (1.0 - slope), sg * (1.0 + slope)
        g_up = torch.where(up > 0, (lc - corr) / up, inf)  # c_j reaches +l
        g_dn = torch.where(dn > 0, (lc + corr) / dn, inf)  # c_j reaches -l
        if (dropped >= 0).any():  # a variable that just left sits on the boundary it left by
            dr = (dropped >= 0).nonzero()[:, 0]
            jd, sd = dropped[dr], dropped_sign[dr]
            g_up[dr, jd] = torch.where(sd > 0, inf, g_up[dr, jd])
            g_dn[dr, jd] = torch.where(sd < 0, inf, g_dn[dr, jd])
        g_join = torch.where(active, inf, torch.minimum(g_up, g_dn).clamp(min=0.0))
        ratio = -w / torch.where(dirn != 0, sg * dirn, 1.0)
        g_drop = torch.where(active & (ratio > 0), ratio, inf)
        g_join_min, j_join = g_join.min(-1)
        g_drop_min, j_drop = g_drop.min(-1)
        g_event = torch.minimum(g_join_min, g_drop_min)
        g_end = sigma * (lam_cur - lam)
        finished = live & (g_end <= g_event)
        step = sigma * torch.where(live, torch.minimum(g_end, g_event), 0.0)
        w.addcmul_(step[:, None], dirn)
        corr.addcmul_(step[:, None], slope, value=-1.0)
        lam_cur = lam_cur - step
        is_join = live & ~finished & (g_join_min <= g_drop_min)
        is_drop = live & ~finished & ~is_join
        # Rank-one updates. Join j: minv += v vᵀ/schur with v = G_AA⁻¹ G_Aj - e_j.
        # Drop j: minv -= m mᵀ/m_jj with m = minv[:, j]. Then d = minv s follows as
        # d += (s_j' - s_j)·m + coef·vec·(vec·s').
        j = torch.where(is_join, j_join, j_drop)
        jj = j[:, None]
        col = _row(gram, j)  # G[:, j, :] = G[:, :, j]
        g_jj = col.gather(1, jj)[:, 0]
        u = _matvec(minv, col)
        schur = g_jj - (col * u).sum(-1)
        singular = is_join & ~(schur > 1e-12 * g_jj)
        is_join &= ~singular
        m = _row(minv, j)  # zero for a join
        m_jj = m.gather(1, jj)[:, 0]
        vec = torch.where(is_join[:, None], u - eye[j], m)
        coef = torch.where(is_join, 1.0 / torch.where(is_join, schur, 1.0), 0.0)
        coef = torch.where(is_drop, -1.0 / torch.where(is_drop, m_jj, 1.0), coef)
        minv.addcmul_(vec[:, :, None] * coef[:, None, None], vec[:, None, :])
        old_sign = sign.gather(1, jj)[:, 0]
        join_sign = torch.where(g_up.gather(1, jj) <= g_dn.gather(1, jj), 1.0, -1.0)[:, 0]
        new_sign = torch.where(is_join, join_sign, torch.where(is_drop, 0.0, old_sign))
        sign.scatter_(1, jj, new_sign[:, None])
        dirn += (new_sign - old_sign)[:, None] * m + (coef * (vec * sign).sum(-1))[:, None] * vec
        if is_drop.any():
            dr = is_drop.nonzero()[:, 0]
            jd = j[dr]
            minv[dr, jd, :] = 0.0
            minv[dr, :, jd] = 0.0
            w[dr, jd] = 0.0
            dirn[dr, jd] = 0.0
        dropped = torch.where(is_drop, j, -1)
        dropped_sign = old_sign
        if finished.any():  # exact solution on the final support
            fin = finished.nonzero()[:, 0]
            rhs = (xty - lam[:, None] * sign).index_select(0, fin)
            w_out[ids[fin]] = _matvec(minv.index_select(0, fin), rhs)
        ok_out[ids[singular]] = False
        live &= ~(finished | singular)
        if (~live).sum() * 4 > live.numel():  # compact once a quarter of the rows are done
            kp = live.nonzero()[:, 0]
            state = (ids, gram, xty, lam, lam_cur, sigma, minv, dirn, w, corr, sign, dropped, dropped_sign, live)
            ids, gram, xty, lam, lam_cur, sigma, minv, dirn, w, corr, sign, dropped, dropped_sign, live = (
                t.index_select(0, kp) for t in state
            )
    ok_out[ids[live]] = False  # ran out of steps
    w_out[ids[live]] = w[live]
    return w_out, ok_out


def _cd_rounds(
    gram: torch.Tensor, xty: torch.Tensor, yy: torch.Tensor, lam: torch.Tensor, w: torch.Tensor, tol: float, sweeps: int
) -> torch.Tensor:
    """Up to ``sweeps`` CD sweeps with a polish/convergence check every ``_CHECK_EVERY``
    sweeps; updates ``w`` in place and returns the ``converged [P]`` mask."""
    ids = torch.arange(w.shape[0], device=w.device)
    conv_out = torch.zeros(w.shape[0], dtype=torch.bool, device=w.device)
    w_open, done = w, 0
    while ids.numel() > 0 and done < sweeps:
        n_sw = min(_CHECK_EVERY, sweeps - done)
        _cd_sweeps(gram, xty, lam, w_open, n_sw)
        done += n_sw
        w_open, conv = _check_and_polish(gram, xty, yy, lam, w_open, tol)
        w[ids] = w_open
        conv_out[ids[conv]] = True
        keep = (~conv).nonzero()[:, 0]
        ids, gram, xty, yy, lam, w_open = ids[keep], gram[keep], xty[keep], yy[keep], lam[keep], w_open[keep]
    return conv_out


def _solve(
    gram: torch.Tensor,
    xty: torch.Tensor,
    yy: torch.Tensor,
    lam: torch.Tensor,
    full_rank: torch.Tensor,
    max_iter: int,
    tol: float,
) -> tuple[torch.Tensor, int]:
    """Solve ``P`` Gram-form lasso problems; return ``w [P, D]`` and #unconverged.

    Homotopy (``full_rank [P]``: ``G`` is expected to be positive definite), then CD
    with polishing (from the homotopy's iterate) for the problems whose duality gap is
    still above ``tol · ||y||²``."""
    w, _ = _homotopy(gram, xty, lam, full_rank, max_steps=max_iter)
    ids = (~(_duality_gap(gram, xty, yy, lam, w) <= tol * yy)).nonzero()[:, 0]
    if ids.numel() > 0:
        w_open = w[ids]
        conv = _cd_rounds(gram[ids], xty[ids], yy[ids], lam[ids], w_open, tol, max_iter)
        w[ids] = w_open
        ids = ids[~conv]
    return w, int(ids.numel())


def lasso(
    xs: torch.Tensor, ys: torch.Tensor, alpha: float, max_iter: int = 1000, tol: float = 1e-8
) -> torch.Tensor:
    """Lasso per prefix: ``w_k = argmin (1/(2k))||y_k - X_k w||² + alpha||w||_1`` (sklearn's
    ``Lasso(alpha, fit_intercept=False)``), prediction ``w_kᵀ x_q``; 0 on an empty prompt.

    A problem has converged when its duality gap is ``<= tol · ||y_k||²`` (sklearn's
    criterion). ``max_iter`` caps the coordinate-descent sweeps and the homotopy steps.
    Warns (``RuntimeWarning``) with the number of problems that did not converge."""

    b, n, d = _check(xs, ys)
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0 (use least_squares for alpha = 0), got {alpha}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    out = torch.empty(b, n, dtype=torch.float64, device=xs.device)
    k = torch.arange(n, dtype=torch.float64, device=xs.device)
    n_fail = 0
    step = max(1, _CHUNK_ELEMS // (n * d * d))
    for start in range(0, b, step):
        x, y = xs[start : start + step].double(), ys[start : start + step].double()
        gram, xty = _prefix_gram(x, y)  # [c, N, D, D], [c, N, D]
        yy = _exclusive_cumsum(y.square())  # [c, N] = ||y_k||²
        lam = (alpha * k).expand_as(yy)
        full_rank = (k > d).expand_as(yy)  # more examples than dimensions
        flat = (gram.reshape(-1, d, d), xty.reshape(-1, d), yy.reshape(-1), lam.reshape(-1), full_rank.reshape(-1))
        w, fails = _solve(*flat, max_iter=max_iter, tol=tol)
        n_fail += fails
        out[start : start + step] = (x * w.reshape(x.shape)).sum(-1)
    if n_fail:
        warnings.warn(
            f"lasso: {n_fail} of {b * n} problems did not converge (duality gap > tol·||y_k||², "
            f"tol={tol}, max_iter={max_iter}); their last iterate is used",
            RuntimeWarning,
            stacklevel=2,
        )
    return out.to(ys.dtype)
