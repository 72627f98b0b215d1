"""The bandit transformer: causality, the KV cache, the training loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from icl_lab.evaluation.bandits import ModelPolicy
from icl_lab.models.bandit_transformer import BanditModelConfig, BanditTransformer
from icl_lab.tasks.bandits import BanditEnvConfig, reward_table, sample_tasks
from icl_lab.training.bandit_data import rollout


def _model(env: BanditEnvConfig) -> BanditTransformer:
    torch.manual_seed(0)
    cfg = BanditModelConfig(env.n_arms, env.horizon, env.feature_dim, env.kind == "linear" and not env.fixed_arms,
                            n_embd=32, n_layer=2, n_head=2)
    return BanditTransformer(cfg).eval()


def test_predictions_only_read_the_past():
    env = BanditEnvConfig(kind="linear", n_arms=4, dim=3, horizon=10, fixed_arms=False)
    model = _model(env)
    tasks = sample_tasks(env, 3, 0)
    feats = torch.as_tensor(tasks.features, dtype=torch.float32)
    a = torch.randint(0, 4, (3, 10))
    r = torch.randn(3, 10)
    a2, r2 = a.clone(), r.clone()
    a2[:, 6:] = (a2[:, 6:] + 1) % 4
    r2[:, 6:] += 5
    with torch.no_grad():
        out, out2 = model(a, r, feats), model(a2, r2, feats)
    assert out.shape == (3, 11, 4)
    torch.testing.assert_close(out[:, :7], out2[:, :7])  # after 0..6 transitions: unchanged
    assert not torch.allclose(out[:, 7:], out2[:, 7:])
    with pytest.raises(ValueError, match="horizon"):
        model(torch.zeros(1, 11, dtype=torch.long), torch.zeros(1, 11), feats[:1])


@pytest.mark.parametrize("env", [BanditEnvConfig(n_arms=5, horizon=15),
                                 BanditEnvConfig(kind="linear", n_arms=4, dim=3, horizon=12, fixed_arms=False)])
def test_kv_cache_rollout_equals_recomputing_the_history(env):
    model = _model(env)
    tasks = sample_tasks(env, 40, 1)
    table = reward_table(tasks, env.horizon, 2)
    for mode in ("sample", "greedy"):
        cached = ModelPolicy(model, mode, use_cache=True)
        plain = ModelPolicy(model, mode, use_cache=False)
        np.testing.assert_array_equal(rollout(cached, tasks, table, 3), rollout(plain, tasks, table, 3))
    # and the logits themselves agree with a full forward pass
    policy = ModelPolicy(model, "sample")
    actions = rollout(policy, tasks, table, 4)
    rewards = np.take_along_axis(table, actions[..., None], 2)[..., 0]
    feats = None if tasks.features is None else torch.as_tensor(tasks.features, dtype=torch.float32)
    with torch.no_grad():
        full = model(torch.as_tensor(actions), torch.as_tensor(rewards).float(), feats)[:, -1]  # after H
    torch.testing.assert_close(policy.logits, full, atol=1e-5, rtol=1e-5)


def test_initial_loss_is_log_k_and_a_few_steps_fit_a_fixed_batch():
    env = BanditEnvConfig(n_arms=5, horizon=8)
    model = _model(env).train()
    a = torch.randint(0, 5, (16, 8))
    r = torch.rand(16, 8)
    labels = torch.randint(0, 5, (16, 1)).expand(16, 8)
    loss0 = model.loss(a, r, labels)
    assert loss0.item() == pytest.approx(math.log(5), abs=0.1)  # small init: near-uniform logits
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        loss = model.loss(a, r, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * loss0.item()


def test_interrupted_training_resumes_to_the_same_weights(tmp_path):
    from icl_lab.training.bandit_data import ChunkedDataset, DataSpec, write_dataset
    from icl_lab.training.bandits import train_bandit_model
    from icl_lab.training.config import TrainConfig

    env = BanditEnvConfig(n_arms=3, horizon=6)
    data = ChunkedDataset(write_dataset(DataSpec(env, "dpt", n_tasks=48, chunk_size=16), tmp_path / "data"))
    model_cfg = BanditModelConfig(3, 6, n_embd=16, n_layer=1, n_head=2)
    train_cfg = TrainConfig.for_tokens(steps=8, batch_size=8, log_every=2, checkpoint_every=100, device="cpu")
    straight = train_bandit_model(model_cfg, train_cfg, data, tmp_path / "a")

    def stop(step):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_bandit_model(model_cfg, train_cfg, data, tmp_path / "b", on_step=stop)
    resumed = train_bandit_model(model_cfg, train_cfg, data, tmp_path / "b", resume=True)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(p, q, msg=name)
    torch.manual_seed(train_cfg.seed)  # the initialisation train_bandit_model starts from
    initial = BanditTransformer(model_cfg)
    assert not torch.equal(straight.head.weight, initial.head.weight)  # it did train
