"""The chain-of-thought experiment config: presets, overrides and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from icl_lab.core.errors import ConfigError
from icl_lab.pipelines.cot import PAPER_SIZES, CotExperimentConfig, load_config, parse_variant

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "chain_of_thought.toml"


def test_paper_preset_matches_papers_md_section_11():
    cfg = load_config(EXPERIMENT, "paper")
    assert (cfg.n_embd, cfg.n_head) == (256, 4)
    assert cfg.variants == ("cot3", "direct3", "direct4", "direct5")
    assert cfg.tasks == ("arithmetic", "equations", "lis", "edit_distance")
    for task, sizes in {"arithmetic": (4, 5, 6), "equations": (3, 4, 5), "lis": (50, 80, 100),
                        "edit_distance": (12, 16, 20)}.items():
        assert cfg.task_settings[task]["sizes"] == sizes
        assert tuple(PAPER_SIZES[task]["sizes"]) == sizes
    assert cfg.make_task("arithmetic").params.modulus == 11
    assert cfg.make_task("equations").params.modulus == 11


def test_quick_preset_is_small_and_overrides_apply():
    cfg = load_config(EXPERIMENT, "quick", ["train.steps=7", "equations.sizes=2,3", "arithmetic.modulus=5",
                                            "arithmetic.steps=9"])
    assert cfg.n_embd <= 128 and cfg.preset == "quick"
    assert cfg.train.steps == 7 and cfg.task_settings["equations"]["sizes"] == (2, 3)
    assert cfg.make_task("arithmetic").params.modulus == 5
    assert cfg.for_task("arithmetic")["steps"] == 9 and cfg.for_task("equations")["steps"] == 7
    assert CotExperimentConfig().task_settings["lis"]["sizes"] == [50, 80, 100]


@pytest.mark.parametrize("override, message", [
    (["variants=cot3,fast2"], "invalid variants entry 'fast2'"),
    (["tasks=sorting"], "invalid tasks entry 'sorting'"),
    (["arithmetic.prime=7"], "unknown key arithmetic.prime"),
    (["arithmetic.modulus=9"], "invalid arithmetic.modulus=9"),
    (["equations.sizes=12"], "invalid size 12 for task equations"),
    (["lis.value_range=1000"], "invalid lis.value_range=1000"),
    (["n_evals=3"], "unknown key n_evals"),
    (["train.stepz=3"], "unknown key train.stepz"),
    (["test_fraction=1.5"], "invalid test_fraction=1.5"),
    (["train.steps=many"], "invalid train.steps='many'"),
    (["steps"], "invalid override 'steps'"),
])
def test_bad_values_are_one_line_errors(override, message):
    with pytest.raises(ValueError, match=message) as info:
        load_config(EXPERIMENT, "quick", override)
    assert "\n" not in str(info.value)


def test_unknown_preset_and_missing_file():
    with pytest.raises(ValueError, match="unknown preset 'huge'.*available presets are paper, quick"):
        load_config(EXPERIMENT, "huge")
    with pytest.raises(ConfigError, match="experiment file not found"):
        load_config(ROOT / "experiments" / "no_such.toml")


def test_parse_variant():
    assert parse_variant("cot3") == ("cot", 3) and parse_variant("direct12") == ("direct", 12)
    for bad in ("cot", "direct0", "COT3"):
        with pytest.raises(ValueError, match="expected cot<layers> or direct<layers>"):
            parse_variant(bad)


def test_held_out_problems_never_appear_in_training_batches():
    import numpy as np

    from icl_lab.pipelines.cot import held_out_examples
    from icl_lab.tasks.cot import training_batch
    from icl_lab.tasks.cot_vocab import SEP, decode

    cfg = load_config(EXPERIMENT, "quick", ["arithmetic.modulus=5", "n_eval=300"])
    held_out = {tuple(e.problem) for e in held_out_examples(cfg, "arithmetic", 2)}
    task = cfg.make_task("arithmetic")
    seen = set()
    for step in range(40):
        batch = training_batch(task, 2, "cot", 32, np.random.default_rng([0, step]), cfg.test_fraction)
        for row in batch.tokens.tolist():
            tokens = decode(row)
            seen.add(tuple(tokens[1:tokens.index(SEP)]))
    assert len(held_out) > 100 and len(seen) > 500  # both sides are large enough to collide
    assert not held_out & seen
    # without the split, such samples would collide: the same generator draws test problems
    unsplit = {tuple(task.sample(2, np.random.default_rng([1, i])).problem) for i in range(1280)}
    assert held_out & unsplit


def test_a_train_override_reaches_every_task_unless_a_task_sets_its_own():
    quick = load_config(EXPERIMENT, "quick")
    assert quick.for_task("arithmetic")["steps"] != quick.train.steps  # the file's per-task value
    cfg = load_config(EXPERIMENT, "quick", ["train.steps=30"])
    assert all(cfg.for_task(t)["steps"] == 30 for t in cfg.tasks)
    cfg = load_config(EXPERIMENT, "quick", ["train.steps=30", "arithmetic.steps=7"])
    assert cfg.for_task("arithmetic")["steps"] == 7 and cfg.for_task("equations")["steps"] == 30
