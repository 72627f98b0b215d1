"""Boolean baselines: GF(2) against exhaustive search, elimination's guarantee, causality,
the registry's family dispatch, and the recurrent model families."""

from __future__ import annotations

import itertools

import pytest
import torch

from icl_lab.baselines import boolean as bb
from icl_lab.baselines.registry import BASELINE_NAMES, BOOLEAN_CLOSED_FORM, make_baselines
from icl_lab.evaluation.config import EvalConfig
from icl_lab.models import MODEL_FAMILIES
from icl_lab.pipelines.regression import load as load_experiment
from icl_lab.tasks import sample_task
from icl_lab.tasks.config import TaskConfig
from icl_lab.training.regression import training_loss


def prompts(cls, n=5, points=14, count=64, seed=0, **kw):
    cfg = TaskConfig.of(name="boolean", d=n, n_points=points, function_class=cls, **kw)
    return cfg, sample_task(cfg, count, torch.Generator().manual_seed(seed))


def test_gf2_matches_exhaustive_search():
    n = 5
    _, batch = prompts("parity", n=n, points=12, count=40)
    determined, parity = bb.gf2_solve(batch.xs, batch.ys)
    subsets = list(itertools.product((0, 1), repeat=n))
    for b in range(40):
        a = ((batch.xs[b] + 1) / 2).long().tolist()
        labels = ((batch.ys[b] + 1) / 2).long().tolist()
        for k in range(12):
            consistent = [s for s in subsets
                          if all(sum(x * c for x, c in zip(a[j], s)) % 2 == labels[j] for j in range(k))]
            answers = {sum(x * c for x, c in zip(a[k], s)) % 2 for s in consistent}
            assert bool(determined[b, k]) == (len(answers) == 1), (b, k)
            if len(answers) == 1:
                assert int(parity[b, k]) == 2 * answers.pop() - 1


def test_gf2_solves_parity_after_enough_examples():
    _, batch = prompts("parity", n=8, points=40, count=200)
    acc = (torch.where(bb.gf2(batch.xs, batch.ys) > 0, 1.0, -1.0) == batch.ys).float()
    assert acc[:, -5:].mean() > 0.99 and acc[:, :2].mean() < 0.75


def with_repeats(xs, ys, g):
    """Copy random earlier examples to later positions so the guarantee is exercised often."""
    xs, ys = xs.clone(), ys.clone()
    b, n, _ = xs.shape
    for k in range(n // 2, n):
        src = torch.randint(0, k, (b,), generator=g)
        xs[:, k], ys[:, k] = xs[torch.arange(b), src], ys[torch.arange(b), src]
    return xs, ys


@pytest.mark.parametrize("cls,learner", [("conjunction", bb.signed_elimination),
                                         ("teach_conjunction", bb.elimination)])
def test_elimination_textbook_guarantee(cls, learner):
    _, batch = prompts(cls, n=8, points=30, count=300)
    xs, ys = with_repeats(batch.xs, batch.ys, torch.Generator().manual_seed(1))
    pred = learner(xs, ys) > 0
    # The hypothesis keeps every literal of the target: no false positives on target data ...
    assert not (pred & (ys < 0)).any()
    # ... and a positive example, once seen, is never mispredicted again (any data).
    for data_cls in (cls, "majority"):
        _, other = prompts(data_cls, n=8, points=30, count=300, seed=2)
        xs, ys = with_repeats(other.xs, other.ys, torch.Generator().manual_seed(3))
        pred = learner(xs, ys) > 0
        seen_positive = torch.zeros_like(pred)
        for k in range(30):
            earlier = (xs[:, :k] == xs[:, k:k + 1]).all(-1) & (ys[:, :k] > 0)
            seen_positive[:, k] = earlier.any(-1)
        assert pred[seen_positive].all()


@pytest.mark.parametrize("name", [*BOOLEAN_CLOSED_FORM])
def test_baselines_are_causal_and_shaped(name):
    cfg, batch = prompts("disjunction", n=5, points=12, count=16)
    learner = make_baselines((name,), cfg, EvalConfig())[name]
    full = learner(batch.xs, batch.ys)
    assert full.shape == batch.ys.shape and torch.isfinite(full).all()
    xs, ys = batch.xs.clone(), batch.ys.clone()
    xs[:, 8:], ys[:, 7:] = -xs[:, 8:], -ys[:, 7:]  # the future of position 7
    assert torch.allclose(learner(xs, ys)[:, :8], full[:, :8])


def test_simple_baselines_by_hand():
    xs = torch.tensor([[[1.0, 1, 1], [1, 1, -1], [-1, -1, -1], [1, 1, 1]]])
    ys = torch.tensor([[1.0, 1, -1, 1]])
    assert bb.constant(xs, ys).tolist() == [[-1.0] * 4]
    assert bb.cosine_nn(xs, ys)[0, 3] == 1 and bb.cosine_nn(xs, ys)[0, 2] == 1  # [−1,−1,−1] ties → first
    avg = bb.averaging(xs, ys)  # k=2: mean(y x) = [1, 1, 0] · x_2 = −2
    assert avg[0, 0] == -1 and avg[0, 2] == pytest.approx(-2.0)
    assert bb.knn(xs, ys, k=1)[0, 3] == 1
    assert bb.elimination(xs, ys)[0, 2] < 0 and bb.elimination(xs, ys)[0, 3] > 0


def test_mlp_on_prompt_learns_and_skips_unfitted_positions():
    _, batch = prompts("sparse_parity", n=4, points=40, count=64)
    preds = bb.mlp(batch.xs, batch.ys, positions=[39], steps=150)
    acc = (torch.where(preds[:, 39] > 0, 1.0, -1.0) == batch.ys[:, 39]).float().mean()
    assert acc > 0.75 and torch.all(preds[:, :39] == 0)


def test_registry_is_family_aware():
    cfg, _ = prompts("conjunction")
    names = ("zero", "least_squares", "ridge", "bayes", "averaging", "knn", "lasso", "gd", "gf2", "cosine_nn")
    learners = make_baselines(names, cfg, EvalConfig())
    assert set(learners) == {"bayes", "averaging", "knn", "gf2", "cosine_nn"}  # regression-only names skipped
    with pytest.raises(ValueError, match="does not apply to Boolean tasks"):
        make_baselines(("least_squares",), cfg, EvalConfig())
    reg = make_baselines(("bayes", "averaging"), TaskConfig.of(d=3, n_points=5), EvalConfig())
    assert reg["bayes"](torch.randn(2, 5, 3), torch.randn(2, 5)).shape == (2, 5)  # regression untouched
    assert set(BOOLEAN_CLOSED_FORM) <= set(BASELINE_NAMES)


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_recurrent_families_are_causal_and_train(family):
    cfg = load_experiment("experiments/boolean.toml", "quick",
                          [f"model.family={family}", "model.n_embd=16", "task.d=4", "task.n_points=9"])
    torch.manual_seed(0)
    model = MODEL_FAMILIES[family](cfg)
    batch = sample_task(cfg.task, 8, torch.Generator().manual_seed(0))
    out = model(batch.xs, batch.ys)
    assert out.shape == (8, 9)
    xs, ys = batch.xs.clone(), batch.ys.clone()
    xs[:, 6:], ys[:, 5:] = -xs[:, 6:], -ys[:, 5:]
    assert torch.allclose(model(xs, ys)[:, :6], out[:, :6], atol=1e-6)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = training_loss(model, batch.xs, batch.ys, loss="bce")
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
