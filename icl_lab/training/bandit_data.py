"""Pretraining data for in-context bandit learners, written in chunks with a JSON manifest.

Two recipes (Lee et al. 2023, arXiv:2306.14892; Lin et al. 2023, arXiv:2310.08566; Laskin et al. 2022, arXiv:2210.14215):

* ``dpt`` (Lee et al. 2023): the context is i.i.d. pulls from a random policy and the label
  at every prefix is the optimal arm. The policy's arm probabilities are, per task (``context``):
  ``dirichlet`` — p ~ Dirichlet(1, …, 1); ``dpt_release`` — as the authors' released data
  collection (collect_data.py of jon--lee/decision-pretrained-transformer): p = (1 − c)·Dirichlet
  + c·(one-hot on a uniformly drawn arm), c uniform on {0, 0.1, …, 1}, so one context in
  eleven pulls a single arm only and many concentrate on one arm, as an online learner's own
  history does late in an episode.
* ``ad`` (Laskin et al. 2022; Lin, Bai & Mei 2023): the context is the learning history
  of a source algorithm (e.g. LinUCB) and the label at prefix t is its action a_t. With
  ``uniform_share`` = u each history comes from the uniform policy with probability u and
  from the source otherwise (Lin, Bai & Mei's distribution-ratio experiment mixes uniform and
  Thompson-sampling histories 50/50 and 90/10 in their released collect_data.py).

One trajectory is T transitions; arrays of a chunk of n tasks::

    actions  [n, T] int16    arm pulled at step t
    rewards  [n, T] float32  its reward
    labels   [n, T] int16    target of the prediction made after the first t transitions
    means    [n, K] float32  arm means (diagnostics)
    features [n, K, D] float32  arm features (linear bandits only)

Layout: ``chunk_00000.npz``, …, then ``manifest.json`` (format, spec, chunk files and
sizes), each written atomically; the manifest goes last, so a directory with a manifest
is complete. Chunk i is generated from ``numpy.random.default_rng([seed, i])`` alone, so
a dataset is reproducible and an interrupted write is simply redone. Chunks load with
``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from icl_lab.baselines.bandits import make_policy
from icl_lab.core.runs import atomic_write_bytes, atomic_write_json
from icl_lab.tasks.bandits import BanditEnvConfig, BanditTasks, reward_table, sample_tasks

DATA_FORMAT = 1
METHODS = ("dpt", "ad")
CONTEXTS = ("dirichlet", "dpt_release")


@dataclass(frozen=True)
class DataSpec:
    """What a dataset holds; stored in the manifest and compared before reuse."""

    env: BanditEnvConfig
    method: str = "dpt"
    source: str = "linucb:1,2"  # ad only: the algorithm whose histories are imitated
    n_tasks: int = 10_000
    chunk_size: int = 2_000
    seed: int = 0
    context: str = "dirichlet"  # dpt only: the random policy of the contexts (see the module docstring)
    uniform_share: float = 0.0  # ad only: fraction of histories from the uniform policy instead of the source

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"invalid method={self.method!r}: expected one of {', '.join(METHODS)}")
        if self.context not in CONTEXTS:
            raise ValueError(f"invalid context={self.context!r}: expected one of {', '.join(CONTEXTS)}")
        if not 0 <= self.uniform_share <= 1:
            raise ValueError(f"invalid uniform_share={self.uniform_share!r}: expected a number in [0, 1]")
        if self.n_tasks < 1 or self.chunk_size < 1:
            raise ValueError(f"invalid n_tasks={self.n_tasks} / chunk_size={self.chunk_size}: expected >= 1")

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))


def random_policy_actions(n_tasks: int, n_arms: int, horizon: int, rng: np.random.Generator,
                          context: str = "dirichlet") -> np.ndarray:
    """[B, T] i.i.d. pulls from per-task arm probabilities: ~ Dirichlet(1_K) (``dirichlet``), or
    mixed with a point mass on a random arm with weight c ~ U{0, 0.1, …, 1} (``dpt_release``)."""
    probs = rng.dirichlet(np.ones(n_arms), size=n_tasks)  # [B, K]
    if context == "dpt_release":
        weight = rng.integers(0, 11, size=(n_tasks, 1)) / 10
        point = np.eye(n_arms)[rng.integers(0, n_arms, size=n_tasks)]
        probs = (1 - weight) * probs + weight * point
    u = rng.random((n_tasks, horizon, 1))
    return np.minimum((u > probs.cumsum(1)[:, None, :]).sum(-1), n_arms - 1)  # inverse CDF


def source_policy(spec: DataSpec):
    """The AD source algorithm, built with the environment's noise and prior."""
    env = spec.env
    return make_policy(spec.source, noise_std=env.noise_std, theta_std=env.prior_theta_std)


def rollout(policy, tasks: BanditTasks, rewards: np.ndarray, rng: np.random.Generator | int) -> np.ndarray:
    """Run an online policy on tasks with a pre-drawn reward table [B, T, K]; actions [B, T]."""
    policy.reset(tasks, rng)
    b, horizon, _ = rewards.shape
    rows = np.arange(b)
    actions = np.zeros((b, horizon), dtype=np.int64)
    for t in range(horizon):
        a = policy.act(t)
        policy.update(a, rewards[rows, t, a])
        actions[:, t] = a
    return actions


def make_chunk(spec: DataSpec, index: int, n: int) -> dict[str, np.ndarray]:
    """Chunk ``index`` (n tasks) of the dataset, from its own generator."""
    rng = np.random.default_rng([spec.seed, index])
    env = spec.env
    tasks = sample_tasks(env, n, rng)
    table = reward_table(tasks, env.horizon, rng)
    if spec.method == "dpt":
        actions = random_policy_actions(n, env.n_arms, env.horizon, rng, spec.context)
        labels = np.broadcast_to(tasks.best_arm[:, None], actions.shape)
    else:
        actions = rollout(source_policy(spec), tasks, table, rng)
        if spec.uniform_share > 0:  # the mixture's uniform histories replace the source's on their tasks
            uniform = rng.random(n) < spec.uniform_share
            actions[uniform] = rng.integers(0, env.n_arms, size=(int(uniform.sum()), env.horizon))
        labels = actions
    rewards = np.take_along_axis(table, actions[..., None], axis=2)[..., 0]
    chunk = {"actions": actions.astype(np.int16), "rewards": rewards.astype(np.float32),
             "labels": labels.astype(np.int16), "means": tasks.means.astype(np.float32)}
    if tasks.features is not None:
        chunk["features"] = tasks.features.astype(np.float32)
    return chunk


def write_dataset(spec: DataSpec, out_dir: str | Path) -> Path:
    """Write (or reuse, when its manifest has the same spec) a chunked dataset; returns its dir."""
    out_dir = Path(out_dir)
    manifest_path = out_dir / "manifest.json"
    if manifest_path.is_file():
        try:
            if json.loads(manifest_path.read_text()).get("spec") == spec.to_dict():
                return out_dir
        except json.JSONDecodeError:
            pass  # a corrupt manifest: rewrite everything
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)  # the directory is incomplete until the new manifest lands
    chunks = []
    for index, start in enumerate(range(0, spec.n_tasks, spec.chunk_size)):
        n = min(spec.chunk_size, spec.n_tasks - start)
        buffer = io.BytesIO()
        np.savez(buffer, **make_chunk(spec, index, n))
        name = f"chunk_{index:05d}.npz"
        atomic_write_bytes(out_dir / name, buffer.getvalue())
        chunks.append({"file": name, "n": n})
    atomic_write_json(manifest_path, {"format": DATA_FORMAT, "spec": spec.to_dict(), "chunks": chunks})
    return out_dir


class ChunkedDataset:
    """A dataset on disk, read one chunk at a time."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        manifest_path = self.path / "manifest.json"
        if not manifest_path.is_file():
            raise FileNotFoundError(f"no bandit dataset at {self.path} (manifest.json missing: "
                                    "the dataset was never completed)")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"corrupt manifest {manifest_path}: {exc}") from None
        if manifest.get("format") != DATA_FORMAT:
            raise ValueError(f"{manifest_path} has format {manifest.get('format')!r}, expected {DATA_FORMAT}")
        self.manifest = manifest
        self.chunks: list[dict] = manifest["chunks"]
        spec = dict(manifest["spec"])
        self.env = BanditEnvConfig(**spec.pop("env"))
        self.spec = DataSpec(env=self.env, **spec)

    @property
    def n_tasks(self) -> int:
        return sum(c["n"] for c in self.chunks)

    def load_chunk(self, index: int) -> dict[str, np.ndarray]:
        """The arrays of one chunk (no pickle)."""
        info = self.chunks[index]
        try:
            with np.load(self.path / info["file"], allow_pickle=False) as data:
                chunk = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read {self.path / info['file']}: {exc}") from None
        if chunk["actions"].shape[0] != info["n"]:
            raise ValueError(f"{self.path / info['file']} holds {chunk['actions'].shape[0]} tasks, "
                             f"the manifest says {info['n']}")
        return chunk

    def iter_chunks(self) -> Iterator[dict[str, np.ndarray]]:
        for index in range(len(self.chunks)):
            yield self.load_chunk(index)

    def batches(self, batch_size: int, seed: int, start_step: int = 0) -> Iterator[dict[str, np.ndarray]]:
        """Endless minibatches, one chunk in memory at a time.

        Epoch e visits the chunks in the order ``default_rng([seed, e])`` draws and each
        chunk's rows in the order ``default_rng([seed, e, chunk])`` draws (the remainder
        below one batch is dropped), so batch number ``start_step`` is the same whether
        the stream starts at 0 or resumes there.
        """
        per_chunk = [c["n"] // batch_size for c in self.chunks]
        per_epoch = sum(per_chunk)
        if per_epoch == 0:
            raise ValueError(f"batch_size={batch_size} exceeds every chunk of {self.path}")
        epoch, skip = divmod(start_step, per_epoch)
        while True:
            for index in np.random.default_rng([seed, epoch]).permutation(len(self.chunks)):
                if skip >= per_chunk[index]:
                    skip -= per_chunk[index]
                    continue
                chunk = self.load_chunk(int(index))
                order = np.random.default_rng([seed, epoch, int(index)]).permutation(self.chunks[index]["n"])
                for j in range(skip, per_chunk[index]):
                    rows = order[j * batch_size:(j + 1) * batch_size]
                    yield {k: v[rows] for k, v in chunk.items()}
                skip = 0
            epoch += 1
