"""Which algorithm does in-context learning implement? (Akyürek et al. 2023; von Oswald et al. 2023; Akyürek et al. 2023, arXiv:2211.15661; von Oswald et al. 2023, arXiv:2212.07677)

* :func:`spd` — squared prediction difference between two learners on the same prompts, per position.
* :func:`implicit_weights` / :func:`ilwd` — fit a linear map to a learner's predictions on probe
  inputs after each prefix and compare the fitted weights (implicit linear weight difference).
* :func:`candidate_predictions`, :func:`closest_algorithm_table`, :func:`plot_closest_algorithm` —
  the candidate closest to a target learner per prompt length (GD over a step grid, ridge over
  a λ grid, OLS, Bayes); a family's score at each k is its best grid member ("tuned").
* :func:`probe_layers` — probes from each layer's residual stream to w_OLS, w_ridge and Xᵀy
  (:func:`probe_targets`), with held-out R²: per token where the target is that token's prefix
  (:func:`fit_linear_probe`), and pooled over a whole prompt with learned position weights
  (:func:`fit_pooled_probe`, linear or MLP); beside each, a control that must fail (random
  targets) and one that must succeed (a planted linear readout).

A learner is ``(xs [B, N, D], ys [B, N]) -> preds [B, N]`` with entry k predicting x_k from the
first k examples (see :mod:`icl_lab.baselines.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from icl_lab.baselines import regression as r

Learner = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_PROMPTS_PER_CALL = 4096  # learner calls on the B·K·M probe prompts are chunked to bound memory


# ----------------------------------------------------------------------------- SPD and ILWD


def spd(preds_a: torch.Tensor, preds_b: torch.Tensor, normalizer: float = 1.0) -> torch.Tensor:
    """Squared prediction difference per position [N]: mean over prompts of (a − b)² / normalizer
    (Raventós et al.'s Δ uses normalizer = D)."""
    return ((preds_a.double() - preds_b.double()) ** 2).mean(0) / normalizer


def probe_predictions(learner: Learner, xs: torch.Tensor, ys: torch.Tensor, probes: torch.Tensor,
                      positions: Sequence[int]) -> torch.Tensor:
    """Predictions [B, K, M] for each probe input m after the first k examples, k in ``positions``.

    One prompt per (prompt, k, probe) — the k examples, then the probe as query at position k,
    zero padding after it (causality makes the padding irrelevant) — all in the batch dimension.
    """
    b, _, d = xs.shape
    ks = torch.as_tensor(list(positions))
    m, length = probes.shape[1], int(ks.max()) + 1
    j = torch.arange(length)
    context = (j[None, :] < ks[:, None])[None, :, None, :, None]  # [1, K, 1, L, 1]
    at_query = (j[None, :] == ks[:, None])[None, :, None, :, None]
    x = torch.where(context, xs[:, None, None, :length], 0.0)
    x = torch.where(at_query, probes[:, None, :, None, :], x)  # [B, K, M, L, D]
    y = torch.where(context[..., 0], ys[:, None, None, :length], 0.0).expand(b, len(ks), m, length)
    flat_x, flat_y = x.reshape(-1, length, d), y.reshape(-1, length)
    preds = torch.cat([learner(flat_x[s:s + _PROMPTS_PER_CALL], flat_y[s:s + _PROMPTS_PER_CALL]).double()
                       for s in range(0, flat_x.shape[0], _PROMPTS_PER_CALL)])
    preds = preds.reshape(b, len(ks), m, length)
    return preds.gather(3, ks.view(1, -1, 1, 1).expand(b, -1, m, 1)).squeeze(-1)


def implicit_weights(learner: Learner, xs: torch.Tensor, ys: torch.Tensor, probes: torch.Tensor,
                     positions: Sequence[int]) -> torch.Tensor:
    """Least-squares linear weights [B, K, D] with preds ≈ probe·w, per prompt and prefix (needs M ≥ D probes)."""
    preds = probe_predictions(learner, xs, ys, probes, positions)  # [B, K, M]
    a = probes.double()[:, None].expand(-1, preds.shape[1], -1, -1)  # [B, K, M, D]
    return torch.linalg.lstsq(a, preds.unsqueeze(-1)).solution.squeeze(-1)


def ilwd(learner_a: Learner, learner_b: Learner, xs: torch.Tensor, ys: torch.Tensor, probes: torch.Tensor,
         positions: Sequence[int]) -> torch.Tensor:
    """Implicit linear weight difference per position [K]: mean over prompts of ||w_a − w_b||²."""
    wa = implicit_weights(learner_a, xs, ys, probes, positions)
    wb = implicit_weights(learner_b, xs, ys, probes, positions)
    return (wa - wb).square().sum(-1).mean(0)


# ----------------------------------------------------------------------------- closest algorithm


def candidate_predictions(xs: torch.Tensor, ys: torch.Tensor, ridge_lams: Sequence[float] = (0.01, 0.1, 0.25, 1.0, 4.0),
                          gd_lrs: Sequence[float] = (0.02, 0.05, 0.1, 0.2, 0.5), gd_steps: int = 1,
                          noise_std: float | None = None, prior_std: float = 1.0) -> dict[str, torch.Tensor]:
    """Predictions [B, N] of the candidate algorithms: OLS, ridge(λ) per λ, GD(η) per step size
    (``gd_steps`` steps from w = 0), and Bayes when ``noise_std`` is given. A name's family is
    the text before "(" (grid members of one family are tuned against the target per k)."""
    out = {"least_squares": r.least_squares(xs, ys)}
    out.update({f"ridge(λ={lam:g})": r.ridge(xs, ys, lam) for lam in ridge_lams})
    out.update({f"gd(η={lr:g})": r.gd(xs, ys, steps=gd_steps, lr=lr) for lr in gd_lrs})
    if noise_std is not None:
        out["bayes"] = r.bayes(xs, ys, noise_std, prior_std)[0]
    return out


def family_of(name: str) -> str:
    return name.split("(")[0]


def closest_algorithm_table(target: torch.Tensor, candidates: dict[str, torch.Tensor],
                            normalizer: float = 1.0) -> list[dict]:
    """Per position k: the candidate with the smallest SPD to ``target`` and each family's tuned best.

    Rows: {"k", "best", "spd", "families": {family: {"name", "spd"}}}.
    """
    names = list(candidates)
    scores = torch.stack([spd(target, candidates[n], normalizer) for n in names])  # [C, N]
    families = list(dict.fromkeys(family_of(n) for n in names))
    member = torch.tensor([families.index(family_of(n)) for n in names])
    masked = torch.where(member[None, :, None] == torch.arange(len(families))[:, None, None],
                         scores[None], torch.inf)  # [F, C, N]
    fam_best = masked.argmin(1)  # [F, N]: the tuned grid member of each family at each k
    best = scores.argmin(0)  # [N]
    return [{"k": k, "best": names[int(best[k])], "spd": scores[best[k], k].item(),
             "families": {f: {"name": names[int(fam_best[i, k])], "spd": scores[fam_best[i, k], k].item()}
                          for i, f in enumerate(families)}}
            for k in range(scores.shape[1])]  # table rows (formatting), not computation


def format_closest_table(rows: list[dict]) -> str:
    """A plain-text table: k, the closest algorithm, its SPD, and each family's tuned SPD."""
    families = list(rows[0]["families"])
    head = f"{'k':>3}  {'closest':<16} {'spd':>9}  " + "  ".join(f"{f:>14}" for f in families)
    lines = [head] + [f"{row['k']:>3}  {row['best']:<16} {row['spd']:>9.2e}  "
                      + "  ".join(f"{row['families'][f]['spd']:>14.2e}" for f in families) for row in rows]
    return "\n".join(lines)


def plot_closest_algorithm(rows: list[dict], ax=None, title: str = "closest algorithm"):
    """Each family's tuned SPD to the target against k (log scale); the winner marked per k."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    ks = [row["k"] for row in rows]
    for f in rows[0]["families"]:
        ax.plot(ks, [max(row["families"][f]["spd"], 1e-12) for row in rows], marker="o", ms=3, label=f)
    ax.scatter(ks, [max(row["spd"], 1e-12) for row in rows], s=60, facecolors="none", edgecolors="k",
               label="closest")
    ax.set(yscale="log", xlabel="in-context examples k", ylabel="SPD to target", title=title)
    ax.legend(frameon=False, fontsize=8)
    return ax


# ----------------------------------------------------------------------------- linear probes


@dataclass
class ProbeResult:
    """A fitted probe: ``weights`` [E + 1, T] (last row: bias), per-target R² on train and held-out rows."""

    weights: torch.Tensor
    r2_train: torch.Tensor
    r2_test: torch.Tensor

    @property
    def r2(self) -> float:
        """Held-out R² averaged over target dimensions."""
        return self.r2_test.mean().item()


def _r2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    sse = ((pred - target) ** 2).sum(0)
    sst = ((target - target.mean(0)) ** 2).sum(0).clamp(min=1e-300)
    return 1 - sse / sst


def fit_linear_probe(acts: torch.Tensor, targets: torch.Tensor, lam: float = 1e-3, test_frac: float = 0.25,
                     seed: int = 0) -> ProbeResult:
    """Ridge probe target ≈ [acts, 1] W on a random (1 − test_frac) of the rows; R² on the rest.

    acts [S, E], targets [S, T] (or [S]). λ scales with the number of rows; the bias is not penalised.
    """
    a, t = acts.double().reshape(acts.shape[0], -1), targets.double().reshape(targets.shape[0], -1)
    perm = torch.randperm(a.shape[0], generator=torch.Generator().manual_seed(seed))
    n_test = max(1, int(test_frac * a.shape[0]))
    test, train = perm[:n_test], perm[n_test:]
    design = torch.cat((a, torch.ones(a.shape[0], 1, dtype=a.dtype)), 1)
    penalty = torch.eye(design.shape[1], dtype=a.dtype) * lam * len(train)
    penalty[-1, -1] = 0.0
    w = torch.linalg.solve(design[train].T @ design[train] + penalty, design[train].T @ t[train])
    return ProbeResult(w, _r2(design[train] @ w, t[train]), _r2(design[test] @ w, t[test]))


def probe_targets(xs: torch.Tensor, ys: torch.Tensor, ridge_lam: float | None = None) -> dict[str, torch.Tensor]:
    """Per-prefix targets [B, N, D] from the examples j < k: ``w_ols`` (minimum-norm least
    squares; erratic near k = D, so probe it past D), ``xty`` = Σ_{j<k} y_j x_j, ``x_query`` = x_k
    (a sanity target) and, with ``ridge_lam``, ``w_ridge`` = (XᵀX + λI)⁻¹Xᵀy."""
    design, labels = r._prefix_design(xs, ys)  # [B, N, N, D], [B, N, N]: rows j >= k are zero
    w_ols = r._min_norm_solve(design, labels.unsqueeze(-1)).squeeze(-1)
    gram, xty = r._prefix_gram(xs, ys)  # [B, N, D, D], [B, N, D]
    out = {"w_ols": w_ols, "xty": xty, "x_query": xs.double()}
    if ridge_lam is not None:
        eye = torch.eye(xs.shape[-1], dtype=gram.dtype)
        out["w_ridge"] = torch.linalg.solve(gram + ridge_lam * eye, xty.unsqueeze(-1)).squeeze(-1)
    return out


def read_activations(model: torch.nn.Module, xs: torch.Tensor, ys: torch.Tensor, hook: str) -> torch.Tensor:
    """Activations [B, N, E] at a residual-stream hook point, read where the predictions are read."""
    return model.encoder.read_positions(token_activations(model, xs, ys, [hook])[hook])


def token_activations(model: torch.nn.Module, xs: torch.Tensor, ys: torch.Tensor,
                      hooks: Sequence[str]) -> dict[str, torch.Tensor]:
    """Activations [B, T, E] of every token at each hook point, from one forward pass."""
    with torch.no_grad():
        _, cache = model.run_with_cache(xs, ys, names=list(hooks))
    return {hook: cache[hook].double() for hook in hooks}


def seen_examples(tokens_per_example: int, n_points: int) -> torch.Tensor:
    """[T]: how many complete examples (x_j, y_j) each token has seen under causal attention.

    Compact encoding (one token per example, token k holds x_k, x_{k−1}, y_{k−1}): k.
    Interleaved (x_k at 2k, y_k at 2k + 1): k at the x token, k + 1 at the y token.
    """
    k = torch.arange(n_points)
    if tokens_per_example == 1:
        return k
    return torch.stack((k, k + 1), 1).flatten()


def prompt_targets(xs: torch.Tensor, ys: torch.Tensor, ridge_lam: float | None = None) -> dict[str, torch.Tensor]:
    """:func:`probe_targets` for every prefix length c = 0..N (one more than the predictions need):
    [B, N + 1, D], entry c computed from the first c examples."""
    pad_x = torch.cat((xs, torch.zeros_like(xs[:, :1])), 1)
    pad_y = torch.cat((ys, torch.zeros_like(ys[:, :1])), 1)
    return probe_targets(pad_x, pad_y, ridge_lam)


def fit_pooled_probe(acts: torch.Tensor, target: torch.Tensor, hidden: int = 0, steps: int = 600,
                     lr: float = 1e-2, test_frac: float = 0.25, seed: int = 0) -> ProbeResult:
    """Akyürek et al.'s pooled probe: target ≈ g(Σ_t softmax(s)_t · acts[:, t]) with learned
    position weights s and g linear (``hidden`` = 0) or a one-hidden-layer ReLU MLP (Yang et al.'s
    released probe, Leiay/looped_transformer scripts/model_probe.py, uses 64 hidden units).

    acts [S, T, E] (a whole prompt per row), target [S, D]: one quantity per prompt, so pooling
    over its tokens is legitimate. A random ``test_frac`` of the prompts is held out for R²; of
    the rest, one fifth is a validation split that picks the step (early stopping: the MLP
    otherwise fits noise) and the others train by full-batch Adam. ``weights`` holds the
    position weights softmax(s) [T] of the chosen step.
    """
    g = torch.Generator().manual_seed(seed)
    a, t = acts.float(), target.float().reshape(target.shape[0], -1)
    perm = torch.randperm(a.shape[0], generator=g)
    n_test = max(1, int(test_frac * a.shape[0]))
    n_val = max(1, (a.shape[0] - n_test) // 5)
    test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    fit_rows = perm[n_test:]  # train + validation: the rows R² "train" reports
    mu, sd = a[train].mean((0, 1)), a[train].std((0, 1)).clamp_min(1e-8)  # per-feature standardisation
    a = (a - mu) / sd
    t_mu, t_sd = t[train].mean(0), t[train].std(0).clamp_min(1e-12)
    tn = (t - t_mu) / t_sd
    torch.manual_seed(seed)
    logits = torch.zeros(a.shape[1], requires_grad=True)
    e, k = a.shape[-1], t.shape[-1]
    head = nn.Linear(e, k) if hidden == 0 else nn.Sequential(nn.Linear(e, hidden), nn.ReLU(), nn.Linear(hidden, k))
    params = [logits, *head.parameters()]
    opt = torch.optim.Adam(params, lr=lr)

    def predict(rows: torch.Tensor) -> torch.Tensor:
        return head(torch.einsum("t,ste->se", logits.softmax(0), a[rows]))

    best = (float("inf"), [p.detach().clone() for p in params])
    for step in range(steps + 1):
        if step % 10 == 0:
            with torch.no_grad():
                val_loss = (predict(val) - tn[val]).square().mean().item()
            if val_loss < best[0]:
                best = (val_loss, [p.detach().clone() for p in params])
        if step == steps:
            break
        opt.zero_grad()
        (predict(train) - tn[train]).square().mean().backward()
        opt.step()
    with torch.no_grad():
        for p, kept in zip(params, best[1]):
            p.copy_(kept)
        pred = lambda rows: (predict(rows) * t_sd + t_mu).double()  # noqa: E731
        return ProbeResult(logits.softmax(0).detach().double(), _r2(pred(fit_rows), t[fit_rows].double()),
                           _r2(pred(test), t[test].double()))


PROBE_TARGETS = ("w_ols", "w_ridge", "xty")
CONTROLS = ("random", "planted")


def control_targets(acts: torch.Tensor, dim: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Per-token controls [B, T, dim]: ``random`` — i.i.d. N(0, 1), independent of the prompt (a
    probe must fail); ``planted`` — a fixed random linear readout of the activations themselves
    (a probe must succeed: it shows the activations are well enough conditioned to be read)."""
    g = torch.Generator().manual_seed(seed)
    b, t, e = acts.shape
    readout = torch.randn(e, dim, generator=g, dtype=acts.dtype) / e**0.5
    return {"random": torch.randn(b, t, dim, generator=g, dtype=acts.dtype), "planted": acts @ readout}


def probe_layers(model: torch.nn.Module, xs: torch.Tensor, ys: torch.Tensor, hooks: Sequence[str], min_k: int,
                 ridge_lam: float, lam: float = 1e-3, mlp_hidden: int = 64, seed: int = 0) -> dict[str, dict]:
    """Held-out R² by layer, target and probe kind, with the two controls.

    Per hook: ``position`` — mean over tokens that have seen ≥ ``min_k`` examples of a per-token
    linear probe (:func:`position_probe_r2`); ``query`` — the per-token probe at the last read
    token (the query of the longest prompt); ``pooled`` / ``pooled_mlp`` — :func:`fit_pooled_probe`
    over the whole prompt for the quantities of all its examples. Targets: :data:`PROBE_TARGETS`
    (w_ridge with ``ridge_lam``) and the :data:`CONTROLS`.
    """
    n = xs.shape[1]
    seen = seen_examples(model.encoder.tokens_per_example, n)
    prefix = {name: prompt_targets(xs, ys, ridge_lam)[name] for name in PROBE_TARGETS}
    acts_by_hook = token_activations(model, xs, ys, hooks)
    query_token = len(seen) - model.encoder.tokens_per_example  # x_N's token (the last read position)
    out: dict[str, dict] = {}
    for hook, acts in acts_by_hook.items():
        controls = control_targets(acts, xs.shape[-1], seed)
        per_token = {**{name: t[:, seen] for name, t in prefix.items()}, **controls}  # [B, T, D] each
        row: dict[str, dict[str, float]] = {"position": {}, "query": {}, "pooled": {}, "pooled_mlp": {}}
        for name, target in per_token.items():
            r2 = [fit_linear_probe(acts[:, t], target[:, t], lam).r2
                  for t in range(len(seen)) if seen[t] >= min_k]
            row["position"][name] = sum(r2) / len(r2)
            row["query"][name] = fit_linear_probe(acts[:, query_token], target[:, query_token], lam).r2
            # The pooled probe reads one quantity per prompt: the whole prompt's (last token's) value.
            whole = target[:, -1]
            row["pooled"][name] = fit_pooled_probe(acts, whole, seed=seed).r2
            row["pooled_mlp"][name] = fit_pooled_probe(acts, whole, hidden=mlp_hidden, seed=seed).r2
        out[hook] = row
    return out
