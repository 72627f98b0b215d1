"""Samplers of the Bayesian-prism priors: moments and frequencies, and their config checks."""

import math
from pathlib import Path

import pytest
import torch

from icl_lab.core.errors import ConfigError
from icl_lab.pipelines.regression import load as load_experiment
from icl_lab.tasks import sample_task
from icl_lab.tasks.bayesian import FAMILY_NAMES, family_outputs, fourier_features, monomial_pairs
from icl_lab.tasks.config import TaskConfig

# A file whose [task] names only the shared keys, so `--set task.name=...` may pick any family.
GENERIC = Path(__file__).resolve().parent / "generic_task.toml"


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def within(count: int, n: int, p: float, z: float = 5.0) -> bool:
    """A binomial count within z standard deviations of n·p."""
    return abs(count - n * p) < z * math.sqrt(n * p * (1 - p))


def test_mixture_components_frequency_and_means():
    cfg = TaskConfig.of(name="gaussian_mixture_regression", d=4, n_points=3, mixture_weight=0.3)
    batch = sample_task(cfg, 20000, gen())
    comp, w = batch.params["component"], batch.params["w"]
    assert within(int((comp == 0).sum()), 20000, 0.3)
    assert abs(w[comp == 0, 0].mean() - 3) < 0.05 and abs(w[comp == 1, 0].mean() + 3) < 0.05
    assert abs(w[:, 1:].std() - 1) < 0.02  # τ = 1 off the mean direction
    assert torch.allclose(batch.ys, (batch.xs @ w.unsqueeze(-1)).squeeze(-1))


def test_fourier_mixture_frequencies_and_coefficients():
    cfg = TaskConfig.of(name="fourier_mixture", n_points=5, fourier_freq=4)
    assert cfg.d == 1  # Fourier series are one-dimensional whatever d says
    batch = sample_task(cfg, 8000, gen(1))
    big_k, coef = batch.params["max_freq"], batch.params["coefficients"]  # [B], [B, 9]
    for k in range(1, 5):
        assert within(int((big_k == k).sum()), 8000, 0.25)
    freq = torch.tensor([0, 1, 2, 3, 4, 1, 2, 3, 4])
    assert torch.all((coef != 0) == (freq[None] <= big_k[:, None]))  # a.s. non-zero up to K, zero above
    assert (batch.xs.abs() <= 5).all() and abs(batch.xs.mean()) < 0.1 and abs(batch.xs.var() - 25 / 3) < 0.2
    x = batch.xs[0, :, 0].double()
    manual = coef[0, 0] + sum(coef[0, k] * torch.cos(k * math.pi * x / 5) + coef[0, 4 + k] * torch.sin(k * math.pi * x / 5)
                              for k in range(1, 5))
    assert torch.allclose(batch.ys[0].double(), manual, atol=1e-5)
    assert fourier_features(batch.xs, 4, 5.0).shape == (8000, 5, 9)


def test_monomial_set_is_fixed_by_its_seed():
    a, b, c = monomial_pairs(6, 10, 0), monomial_pairs(6, 10, 0), monomial_pairs(6, 10, 1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (a[:, 0] <= a[:, 1]).all() and len({tuple(p) for p in a.tolist()}) == 10
    cfg = TaskConfig.of(name="monomial_regression", d=6, n_points=4, n_monomials=10)
    batch = sample_task(cfg, 3, gen(2))
    x, w = batch.xs[0], batch.params["w"][0]
    manual = sum(w[s] * x[:, i] * x[:, j] for s, (i, j) in enumerate(a.tolist()))
    assert torch.allclose(batch.ys[0], manual, atol=1e-5)


def test_family_mixture_frequencies_and_unit_variance_per_family():
    cfg = TaskConfig.of(name="family_mixture", d=5, n_points=8, hidden=40)
    batch = sample_task(cfg, 12000, gen(3))
    fam = batch.params["family"]
    outs = family_outputs(batch.params, batch.xs)
    for f, name in enumerate(FAMILY_NAMES):
        assert within(int((fam == f).sum()), 12000, 0.25)
        sel = fam == f
        assert torch.allclose(batch.ys[sel], outs[name][sel])
        per_prompt = (outs[name] ** 2).mean(1).double()  # every family scaled to Var(y) = 1
        assert abs(per_prompt.mean() - 1) < 5 * per_prompt.std() / math.sqrt(12000), name
    assert ((batch.params["w_sparse"] != 0).sum(1) == 3).all()


def test_family_subset_and_bad_values_give_one_line_errors():
    cfg = TaskConfig.of(name="family_mixture", d=4, families=("sparse_linear", "sinusoid"))
    assert set(sample_task(cfg, 50, gen()).params["family"].tolist()) == {0, 1}
    gmm, fourier, mixture = (["task.name=gaussian_mixture_regression"], ["task.name=fourier_series"],
                             ["task.name=family_mixture"])
    for overrides, words in [(gmm + ["task.mixture_weight=1.5"], ["task.mixture_weight", "1.5", "(0, 1)"]),
                             (gmm + ["task.mixture_mean=-1"], ["task.mixture_mean", "-1", ">= 0"]),
                             (fourier + ["task.fourier_freq=0"], ["task.fourier_freq", "0", "[1, 64]"]),
                             (fourier + ["task.fourier_half_period=0"], ["task.fourier_half_period", "> 0"]),
                             (fourier + ["task.d=3"], ["task.d=3", "expected 1 for fourier_series"]),
                             (mixture + ["task.families=[\"linear\",\"cubic\"]"], ["task.families", "cubic", "sinusoid"]),
                             (mixture + ["task.families=[]"], ["task.families", "distinct names"]),
                             (["task.mixture_weight=0.3"], ["unknown key task.mixture_weight", "'linear_regression'",
                                                            "valid keys are", "pool_size"])]:
        with pytest.raises(ConfigError) as err:
            load_experiment(GENERIC, "quick", overrides)
        assert "\n" not in str(err.value) and all(w in str(err.value) for w in words), str(err.value)
    with pytest.raises(ConfigError, match=r"task.n_monomials=11: expected an integer in \[1, d\(d\+1\)/2=10\]"):
        TaskConfig.of(name="monomial_regression", d=4, n_monomials=11)


def test_new_fields_round_trip_through_json(tmp_path):
    from icl_lab.core.runs import RunDir
    from icl_lab.pipelines.regression import config_of_run

    cfg = load_experiment(GENERIC, "quick", ["task.name=family_mixture", "task.families=linear,sinusoid",
                                             "task.d=5"])
    RunDir(tmp_path / "c").prepare(cfg.to_dict())
    assert config_of_run(tmp_path / "c") == cfg and cfg.task.families == ("linear", "sinusoid")
    fourier = load_experiment(GENERIC, "quick", ["task.name=fourier_mixture", "task.d=1"])
    RunDir(tmp_path / "f").prepare(fourier.to_dict())
    assert config_of_run(tmp_path / "f") == fourier and fourier.task.d == 1


def test_baselines_that_cannot_run_on_the_task_fail_at_load_time():
    from icl_lab.baselines.registry import default_baselines

    for sets, words in [(["task.name=family_mixture", "eval.baselines=bayes"], ["eval.baselines", "relu_net"]),
                        (["eval.baselines=feature_ols"], ["feature_ols", "feature basis"]),
                        (["eval.baselines=dmmse"], ["dmmse", "task.pool_size"])]:
        with pytest.raises(ConfigError) as err:
            load_experiment(GENERIC, "quick", sets)
        assert "\n" not in str(err.value) and all(w in str(err.value) for w in words), str(err.value)
    cfg = load_experiment(GENERIC, "quick", ["task.name=family_mixture", "task.families=linear,sparse_linear"])
    assert {"bayes", "dense_bayes", "sparse_bayes"} <= set(default_baselines(cfg.task, cfg.eval))
    cfg = load_experiment(GENERIC, "quick", ["task.name=family_mixture"])
    assert "bayes" not in default_baselines(cfg.task, cfg.eval)
