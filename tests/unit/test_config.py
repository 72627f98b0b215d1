import json

import pytest

from icl_lab.core.errors import ConfigError, RunError
from icl_lab.core.runs import RunDir
from icl_lab.models.config import MODEL_SIZES
from icl_lab.pipelines.regression import ExperimentConfig, build_config, config_of_run
from icl_lab.pipelines.regression import load as load_experiment
from tests.conftest import EXPERIMENT


def test_presets_resolve_sizes_and_overrides():
    quick = load_experiment(EXPERIMENT, "quick")
    paper = load_experiment(EXPERIMENT, "paper")
    assert (quick.model.n_embd, quick.model.n_layer, quick.model.n_head) == MODEL_SIZES["tiny"]
    assert (paper.model.n_embd, paper.model.n_layer, paper.model.n_head) == MODEL_SIZES["standard"]
    assert paper.train.steps == 500_000 and paper.task.d == 20 and paper.train.batch_size == 64
    over = load_experiment(EXPERIMENT, "quick", ["task.d=5", "train.lr=0.5", "eval.baselines=ridge,knn"])
    assert over.task.d == 5 and over.train.lr == 0.5 and over.eval.baselines == ("ridge", "knn")


def test_round_trip_through_json(tmp_path):
    cfg = load_experiment(EXPERIMENT, "quick", ["task.noise_std=0.5"])
    RunDir(tmp_path / "r").prepare(cfg.to_dict())
    assert config_of_run(tmp_path / "r") == cfg


@pytest.mark.parametrize("override, words", [
    ("task.d=0", ["task.d", "0", ">= 1"]),
    ("task.name=nope", ["task.name", "nope", "linear_regression"]),
    ("task.bogus=1", ["task.bogus", "valid keys", "noise_std"]),
    ("train.lr=-1", ["train.lr", "-1"]),
    ("task.d=2.5", ["task.d", "integer"]),
    ("model.n_head=3", ["model.n_head", "divisor"]),
    ("task.n_points=500", ["task.n_points", "max_points"]),
    ("eval.baselines=ols", ["eval.baselines", "ols", "least_squares"]),
])
def test_invalid_values_name_field_value_and_allowed(override, words):
    with pytest.raises(ConfigError) as err:
        load_experiment(EXPERIMENT, "quick", [override])
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_unknown_preset_and_version(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset"):
        load_experiment(EXPERIMENT, "huge")
    raw = ExperimentConfig().to_dict()
    raw["config_version"] = 999
    with pytest.raises(ConfigError, match="another version"):
        build_config(raw)
    with pytest.raises(ConfigError, match="top-level"):
        build_config({"tsak": {}})
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text(json.dumps(raw)[:-5])
    with pytest.raises(RunError, match="cannot read"):
        config_of_run(tmp_path / "c")


def test_configs_are_frozen():
    cfg = ExperimentConfig()
    with pytest.raises(AttributeError):
        cfg.task.d = 3  # type: ignore[misc]
