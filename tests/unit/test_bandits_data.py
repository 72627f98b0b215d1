"""Chunked pretraining data: round trip, labels, streaming order and resumption."""

from __future__ import annotations

import json

import numpy as np
import pytest

from icl_lab.baselines.bandits import LinUCB
from icl_lab.tasks.bandits import BanditEnvConfig, BanditTasks
from icl_lab.training.bandit_data import ChunkedDataset, DataSpec, make_chunk, random_policy_actions, write_dataset


def test_chunks_round_trip_and_dpt_labels_are_the_best_arm(tmp_path):
    spec = DataSpec(BanditEnvConfig(n_arms=4, horizon=7), "dpt", n_tasks=50, chunk_size=16, seed=3)
    path = write_dataset(spec, tmp_path / "data")
    data = ChunkedDataset(path)
    assert [c["n"] for c in data.chunks] == [16, 16, 16, 2] and data.n_tasks == 50
    assert data.spec == spec
    for i, chunk in enumerate(data.iter_chunks()):
        again = make_chunk(spec, i, data.chunks[i]["n"])
        for key in ("actions", "rewards", "labels", "means"):
            np.testing.assert_array_equal(chunk[key], again[key])
        np.testing.assert_array_equal(chunk["labels"], np.repeat(chunk["means"].argmax(1)[:, None], 7, 1))
    assert not list(path.glob(".*tmp"))  # atomic writes leave no temp files
    mtime = (path / "manifest.json").stat().st_mtime_ns
    write_dataset(spec, path)  # same spec: reused, not rewritten
    assert (path / "manifest.json").stat().st_mtime_ns == mtime


def test_ad_labels_are_the_source_algorithms_actions(tmp_path):
    env = BanditEnvConfig(kind="linear", n_arms=5, dim=3, horizon=12, noise_std=1.5, fixed_arms=False)
    spec = DataSpec(env, "ad", "linucb:1,2", n_tasks=6, chunk_size=6)
    chunk = ChunkedDataset(write_dataset(spec, tmp_path / "ad")).load_chunk(0)
    np.testing.assert_array_equal(chunk["labels"], chunk["actions"])
    # replay LinUCB on the logged rewards: it must choose the logged actions again
    # (the logged reward of a step is the table entry of the logged action)
    tasks = BanditTasks(env, chunk["means"].astype(float), chunk["features"].astype(float))
    policy = LinUCB(1.0, 2.0)
    policy.reset(tasks, 0)
    for t in range(12):
        np.testing.assert_array_equal(policy.act(t), chunk["actions"][:, t])
        policy.update(chunk["actions"][:, t].astype(int), chunk["rewards"][:, t].astype(float))


def test_streaming_visits_every_row_once_per_epoch_and_resumes(tmp_path):
    spec = DataSpec(BanditEnvConfig(n_arms=3, horizon=4), "dpt", n_tasks=40, chunk_size=12)
    data = ChunkedDataset(write_dataset(spec, tmp_path / "d"))
    per_epoch = sum(c["n"] // 4 for c in data.chunks)  # 3 + 3 + 3 + 1 = 10 batches of 4
    stream = data.batches(4, seed=5)
    batches = [next(stream) for _ in range(2 * per_epoch)]
    epoch = np.concatenate([b["means"] for b in batches[:per_epoch]])
    everything = np.concatenate([c["means"] for c in data.iter_chunks()])
    assert len(np.unique(epoch, axis=0)) == 40 == len(everything)  # 40 rows, each once
    resumed = data.batches(4, seed=5, start_step=13)
    for b in batches[13:]:
        np.testing.assert_array_equal(next(resumed)["actions"], b["actions"])


def test_incomplete_or_corrupt_datasets_are_refused(tmp_path):
    spec = DataSpec(BanditEnvConfig(n_arms=3, horizon=4), "dpt", n_tasks=8, chunk_size=4)
    path = write_dataset(spec, tmp_path / "d")
    (path / "chunk_00001.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read"):
        ChunkedDataset(path).load_chunk(1)
    (path / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match="manifest.json missing"):
        ChunkedDataset(path)
    write_dataset(spec, path)  # rewritten from scratch
    assert json.loads((path / "manifest.json").read_text())["spec"] == spec.to_dict()
    assert ChunkedDataset(path).load_chunk(1)["actions"].shape == (4, 4)


def test_random_policy_pulls_follow_their_probabilities():
    rng = np.random.default_rng(0)
    actions = random_policy_actions(3, 4, 40000, rng)
    probs = np.random.default_rng(0).dirichlet(np.ones(4), size=3)  # the same first draw
    freq = (actions[..., None] == np.arange(4)).mean(1)
    np.testing.assert_allclose(freq, probs, atol=0.01)  # s.e. <= 0.0025


def test_rollout_of_a_source_is_deterministic_given_seeds():
    env = BanditEnvConfig(kind="linear", n_arms=4, dim=2, horizon=9)
    spec = DataSpec(env, "ad", n_tasks=5, chunk_size=5)
    first, again, other = make_chunk(spec, 0, 5), make_chunk(spec, 0, 5), make_chunk(spec, 1, 5)
    np.testing.assert_array_equal(first["actions"], again["actions"])
    assert not np.array_equal(first["means"], other["means"])


def test_dpt_release_contexts_mix_a_point_mass_into_the_dirichlet_policy():
    n, k, horizon = 4000, 5, 40
    plain = random_policy_actions(n, k, horizon, np.random.default_rng(0))
    mixed = random_policy_actions(n, k, horizon, np.random.default_rng(0), "dpt_release")
    single_arm = lambda a: (a == a[:, :1]).all(1).mean()  # noqa: E731  contexts that pull one arm only
    # c = 1 (probability 1/11) makes the policy a point mass; Dirichlet(1) almost never does over 40 pulls
    assert single_arm(plain) < 0.01
    assert abs(single_arm(mixed) - 1 / 11) < 0.02
    # the share of pulls on the most-pulled arm rises (as in an online learner's late history)
    top = lambda a: (np.eye(k)[a].sum(1).max(1) / horizon).mean()  # noqa: E731
    assert top(mixed) > top(plain) + 0.1
    with pytest.raises(ValueError, match="context"):
        DataSpec(BanditEnvConfig(), "dpt", context="thompson")


def test_uniform_share_replaces_that_fraction_of_source_histories(tmp_path):
    env = BanditEnvConfig(kind="bernoulli", n_arms=3, horizon=30)
    source = make_chunk(DataSpec(env, "ad", "beta_ts", n_tasks=600, chunk_size=600), 0, 600)
    mixed = make_chunk(DataSpec(env, "ad", "beta_ts", n_tasks=600, chunk_size=600, uniform_share=0.5), 0, 600)
    np.testing.assert_array_equal(mixed["means"], source["means"])  # the same tasks
    changed = (mixed["actions"] != source["actions"]).any(1)
    assert 0.4 < changed.mean() < 0.6
    np.testing.assert_array_equal(mixed["labels"], mixed["actions"])  # AD imitates what was logged
    # the replaced histories are uniform: every arm about a third of the pulls
    counts = np.eye(3)[mixed["actions"][changed]].sum((0, 1)) / mixed["actions"][changed].size
    assert np.allclose(counts, 1 / 3, atol=0.02)
    with pytest.raises(ValueError, match="uniform_share"):
        DataSpec(env, "ad", uniform_share=1.5)
