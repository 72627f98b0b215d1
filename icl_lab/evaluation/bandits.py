"""Online and offline evaluation of bandit learners on shared held-out tasks.

Every learner is run on the same tasks with the same pre-drawn reward table
(``rewards [B, T, K]``, see :func:`icl_lab.tasks.bandits.reward_table`), so regret
differences reflect the learners, not the noise. Online: cumulative pseudo-regret
Σ_{s<=t} (μ* − μ_{a_s}), mean ± standard error over tasks. Offline: a logged dataset
from a random policy, one arm recommended per task, simple regret μ* − μ_choice against
dataset size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from icl_lab.baselines.bandit_posterior import optimal_arm_posterior, prefix_statistics, total_variation
from icl_lab.baselines.bandits import OFFLINE_METHODS, BanditPolicy, arm_statistics, offline_choice
from icl_lab.models.bandit_transformer import BanditTransformer
from icl_lab.tasks.bandits import BanditEnvConfig, BanditTasks, mean_and_se, pseudo_regret
from icl_lab.training.bandit_data import random_policy_actions, rollout


class ModelPolicy(BanditPolicy):
    """A trained BanditTransformer acting online; its own history is its context.

    ``mode``: ``sample`` draws from the softmax (DPT's online rule), ``greedy`` takes the
    argmax. With ``use_cache`` each step feeds one new transition token through a KV cache
    (:meth:`BanditTransformer.step`); otherwise the whole history is re-read every step
    (O(T²) tokens, the reference the tests compare the cache against).
    """

    def __init__(self, model: BanditTransformer, mode: str = "sample", name: str | None = None,
                 use_cache: bool = True):
        if mode not in ("sample", "greedy"):
            raise ValueError(f"invalid mode={mode!r}: expected 'sample' or 'greedy'")
        self.model, self.mode, self.use_cache = model, mode, use_cache
        self.name = name or f"model_{mode}"

    def _start(self) -> None:
        b = self.tasks.n_tasks
        self.model.eval()
        self.device = next(self.model.parameters()).device
        self.history_a = torch.zeros(b, 0, dtype=torch.long, device=self.device)
        self.history_r = torch.zeros(b, 0, device=self.device)
        feats = self.tasks.features
        self.features = None if feats is None else torch.as_tensor(feats, dtype=torch.float32, device=self.device)
        self.cache = self.model.new_cache()
        if self.use_cache:
            self.logits = self.model.step(self.model.start_tokens(b, self.features, self.device), self.cache)

    @torch.no_grad()
    def probabilities(self) -> np.ndarray:
        """[B, K] the model's action distribution given the history so far."""
        logits = self.logits if self.use_cache else self.model(self.history_a, self.history_r, self.features)[:, -1]
        return logits.double().softmax(-1).cpu().numpy()

    def act(self, t: int) -> np.ndarray:
        probs = self.probabilities()
        if self.mode == "greedy":
            return probs.argmax(-1)
        u = self.rng.random((probs.shape[0], 1))
        return np.minimum((u > probs.cumsum(-1)).sum(-1), probs.shape[1] - 1)  # inverse CDF

    def update(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        super().update(actions, rewards)
        a = torch.as_tensor(actions, device=self.device)[:, None]
        r = torch.as_tensor(rewards, dtype=torch.float32, device=self.device)[:, None]
        if self.use_cache:
            if self.history_a.shape[1] < self.model.cfg.horizon:  # the context holds at most `horizon`
                token = self.model.transition_tokens(a, r, self.features)
                self.logits = self.model.step(token, self.cache)
        self.history_a = torch.cat((self.history_a, a), 1)
        self.history_r = torch.cat((self.history_r, r), 1)


def summarize(values: np.ndarray) -> dict[str, Any]:
    """{"mean": [T], "se": [T], "final_mean", "final_se"} of per-task curves [B, T]."""
    mean, se = mean_and_se(values)
    return {"mean": mean.tolist(), "se": se.tolist(), "final_mean": float(mean[-1]), "final_se": float(se[-1])}


def online_regret(learners: dict[str, BanditPolicy], tasks: BanditTasks, rewards: np.ndarray,
                  seed: int) -> dict[str, dict[str, Any]]:
    """Cumulative pseudo-regret curves of every learner on the same tasks and reward table.

    Learner i acts with its own generator ``default_rng([seed, i])`` (its exploration);
    the rewards it sees come from the shared table."""
    out = {}
    for i, (name, policy) in enumerate(learners.items()):
        actions = rollout(policy, tasks, rewards, np.random.default_rng([seed, i]))
        out[name] = summarize(pseudo_regret(tasks, actions))
    return out


def offline_simple_regret(tasks: BanditTasks, rewards: np.ndarray, sizes: list[int], seed: int,
                          model: BanditTransformer | None = None, *, c: float = 1.0, prior_mean: float = 0.5,
                          prior_var: float = 1 / 12, context: str = "dirichlet") -> dict[str, dict[str, Any]]:
    """Simple regret against dataset size n of the offline choosers (and the model's
    greedy arm after n transitions), on a random-policy dataset drawn from the same
    random policy as DPT's pretraining contexts (``context``, see training.bandit_data)."""
    horizon = max(sizes)
    if horizon > rewards.shape[1]:
        raise ValueError(f"offline sizes up to {horizon} exceed the reward table's {rewards.shape[1]} steps")
    actions, obs = held_out_contexts(tasks, rewards[:, :horizon], seed, context)  # [B, n]
    noise = tasks.cfg.noise_std
    choices: dict[str, list[np.ndarray]] = {m: [] for m in OFFLINE_METHODS}
    for n in sizes:
        counts, sums = arm_statistics(actions[:, :n], obs[:, :n], tasks.n_arms)
        for m in OFFLINE_METHODS:
            choices[m].append(offline_choice(m, counts, sums, c=c, prior_mean=prior_mean, prior_var=prior_var,
                                             noise_std=noise))
    if model is not None:
        probs = model_probabilities(model, actions, obs, tasks.features)
        choices["model_greedy"] = [probs[:, n].argmax(-1) for n in sizes]
    out = {}
    for name, picks in choices.items():
        gaps = np.stack([tasks.best_mean - tasks.means[np.arange(tasks.n_tasks), p] for p in picks], 1)  # [B, S]
        mean, se = mean_and_se(gaps)
        out[name] = {"sizes": list(sizes), "mean": mean.tolist(), "se": se.tolist()}
    return out


def imitation_accuracy(model: BanditTransformer, actions: np.ndarray, rewards: np.ndarray,
                       features: np.ndarray | None = None) -> float:
    """Fraction of prefixes where the model's argmax equals the logged next action
    (AD: how closely the model tracks its source algorithm on the source's own histories)."""
    probs = model_probabilities(model, actions[:, :-1], rewards[:, :-1], features)
    return float((probs.argmax(-1) == actions).mean())


def held_out_contexts(tasks: BanditTasks, rewards: np.ndarray, seed: int, context: str = "dirichlet"
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Random-policy contexts (actions, rewards) [B, T] on held-out tasks: drawn independently
    of the optimal arm, as DPT's theory requires for the model to output P(a* | D)."""
    actions = random_policy_actions(tasks.n_tasks, tasks.n_arms, rewards.shape[1], np.random.default_rng(seed),
                                    context)
    return actions, np.take_along_axis(rewards, actions[..., None], axis=2)[..., 0]


@torch.no_grad()
def model_probabilities(model: BanditTransformer, actions: np.ndarray, rewards: np.ndarray,
                        features: np.ndarray | None = None) -> np.ndarray:
    """The model's action distribution [B, T + 1, K] after each prefix 0..T of logged contexts
    (actions, rewards [B, T]; arm features [B, K, D] for linear bandits): one forward pass."""
    dev = next(model.parameters()).device
    feats = None if features is None else torch.as_tensor(features, dtype=torch.float32, device=dev)
    logits = model(torch.as_tensor(actions, device=dev).long(),
                   torch.as_tensor(rewards, dtype=torch.float32, device=dev), feats)
    return logits.double().softmax(-1).cpu().numpy()


def posterior_distance(env: BanditEnvConfig, actions: np.ndarray, rewards: np.ndarray, best_arm: np.ndarray,
                       policies: dict[str, np.ndarray], rows_per_block: int = 2048) -> dict[str, Any]:
    """Each policy's mean total-variation distance to the exact P(a* = a | D) by prefix length.

    ``policies``: name -> action distribution [B, T + 1, K] on the contexts (actions, rewards)
    [B, T]. Also the cross-entropy of each against the true optimal arm next to the exact
    posterior's (the lowest any predictor can reach on these contexts), so the gap a model's
    training loss can still close is visible. Gaussian arms add ``thompson``: the action
    distribution of Gaussian Thompson sampling with the moment-matched normal prior."""
    counts, sums = prefix_statistics(actions, rewards, env.n_arms)  # [B, T + 1, K]
    b, t1, k = counts.shape
    rows_c, rows_s = counts.reshape(-1, k), sums.reshape(-1, k)

    def posterior(prior: str) -> np.ndarray:  # in blocks of rows, which bound the quadrature's memory
        return np.concatenate([optimal_arm_posterior(env, rows_c[i:i + rows_per_block], rows_s[i:i + rows_per_block],
                                                     prior=prior)
                               for i in range(0, b * t1, rows_per_block)]).reshape(b, t1, k)

    exact = posterior("exact")
    policies = dict(policies)
    if env.kind == "gaussian" and env.mean_prior == "uniform":
        policies["thompson"] = posterior("gaussian")
    label = np.broadcast_to(best_arm[:, None], (b, t1))

    def cross_entropy(p: np.ndarray) -> dict[str, Any]:
        return summarize(-np.log(np.clip(np.take_along_axis(p, label[..., None], 2)[..., 0], 1e-12, None)))

    return {"t": list(range(t1)), "n_contexts": b,
            "tv": {name: summarize(total_variation(p, exact)) for name, p in policies.items()},
            "cross_entropy": {"posterior": cross_entropy(exact),
                              **{name: cross_entropy(p) for name, p in policies.items()}}}
