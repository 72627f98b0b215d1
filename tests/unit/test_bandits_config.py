"""experiments/bandits.toml: the paper preset matches Lee et al. 2023, arXiv:2306.14892; Lin et al. 2023, arXiv:2310.08566; Laskin et al. 2022, arXiv:2210.14215; overrides validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from icl_lab.pipelines.bandits import load_config

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "bandits.toml"


def test_paper_preset_has_the_papers_settings():
    cfg = load_config(EXPERIMENT, "paper")
    g, lin, ad = (cfg.settings[s] for s in ("dpt_gaussian", "dpt_linear", "ad_linucb"))
    assert (g.env.kind, g.env.n_arms, g.env.horizon, g.env.noise_std, g.env.mean_low, g.env.mean_high) == (
        "gaussian", 5, 500, 0.3, 0.0, 1.0)
    assert (lin.env.kind, lin.env.n_arms, lin.env.dim, lin.env.horizon, lin.env.fixed_arms) == (
        "linear", 10, 2, 200, True)
    assert lin.env.prior_theta_std == pytest.approx(2 ** -0.5)  # θ ~ N(0, I/d)
    assert (ad.method, ad.source, ad.env.dim, ad.env.n_arms, ad.env.noise_std, ad.env.horizon, ad.env.fixed_arms) == (
        "ad", "linucb:1,2", 5, 10, 1.5, 200, False)
    assert "bayes_optimal" in cfg.settings["bernoulli_k2"].learners
    quick = load_config(EXPERIMENT, "quick")
    assert quick.settings["dpt_gaussian"].env.horizon == 50 and quick.settings["dpt_gaussian"].env.n_arms == 5
    assert quick.cpu_threads == 1 and quick.model.n_layer == 3


def test_overrides_reach_nested_settings_and_bad_values_name_the_field():
    cfg = load_config(EXPERIMENT, "quick", ["settings.dpt_linear.env.dim=4", "run=dpt_linear", "train.lr=0.01"])
    assert cfg.settings["dpt_linear"].env.dim == 4 and cfg.run == ("dpt_linear",) and cfg.train.lr == 0.01
    with pytest.raises(ValueError, match="env.kind='poisson'"):
        load_config(EXPERIMENT, "quick", ["settings.dpt_linear.env.kind=poisson"])
    with pytest.raises(ValueError, match=r"settings.dpt_linear.env.n_arms=2.5: expected an integer"):
        load_config(EXPERIMENT, "quick", ["settings.dpt_linear.env.n_arms=2.5"])
    with pytest.raises(ValueError, match="unknown key colour: valid keys are name, preset, kind, run"):
        load_config(EXPERIMENT, "quick", ["colour=3"])
