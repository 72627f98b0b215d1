"""The token trainer: loss masks, schedule, durable runs and exact resume."""

import json

import numpy as np
import pytest
import torch

from icl_lab.core.runs import RunDir, RunError
from icl_lab.models.token_lm import TokenLMConfig
from icl_lab.tasks.algorithmic import make_task, training_batch
from icl_lab.tasks.token_batch import make_batch
from icl_lab.training.config import TrainConfig
from icl_lab.training.loop import lr_factor
from icl_lab.training.tokens import load_token_model, masked_loss, train_tokens

TASK = make_task("parity", 6)
MODEL = TokenLMConfig(TASK.vocab_size, 16, n_embd=16, n_layer=1, n_head=2)
TRAIN = TrainConfig.for_tokens(steps=6, batch_size=8, warmup_steps=2, log_every=1, checkpoint_every=2,
                         device="cpu")


def _batches(rng: np.random.Generator):
    return training_batch(TASK, TRAIN.batch_size, 4, MODEL.context_len, rng)


def test_make_batch_masks_answers_and_offsets_positions():
    batch = make_batch([([1, 5, 6], [7, 3]), ([1, 5], [8, 9, 3])], pad_token=0, offsets=[2, 0])
    assert batch.tokens.tolist() == [[1, 5, 6, 7, 3], [1, 5, 8, 9, 3]]
    assert batch.loss_mask.tolist() == [[False, False, False, True, True],
                                        [False, False, True, True, True]]
    assert batch.positions.tolist() == [[2, 3, 4, 5, 6], [0, 1, 2, 3, 4]]
    short = make_batch([([1], [3]), ([1, 5, 6], [3])], pad_token=0, offsets=[5, 0])
    assert short.positions[0].tolist() == [5, 6, 6, 6]  # padding repeats the last position
    assert short.loss_mask[0].tolist() == [False, True, False, False]


def test_loss_is_cross_entropy_on_answer_tokens_only():
    torch.manual_seed(0)
    from icl_lab.models.token_lm import TokenLM

    model = TokenLM(MODEL)
    batch = make_batch([([1, 7, 8, 2], [9, 3])], pad_token=0)
    loss, _ = masked_loss(model, batch)
    logits = model(batch.tokens[:, :-1])
    manual = torch.nn.functional.cross_entropy(logits[0, 3:5], batch.tokens[0, 4:6])  # answer targets
    assert torch.allclose(loss, manual)


def test_schedule_warms_up_then_decays_to_floor():
    cfg = TrainConfig.for_tokens(steps=100, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_factor(0, cfg) == pytest.approx(0.1)
    assert lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(10, cfg) == pytest.approx(1.0)
    assert lr_factor(100, cfg) == pytest.approx(0.1)


def _strip(records):
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "steps_per_s")} for r in records]


def test_resume_gives_identical_metrics(tmp_path):
    torch.set_num_threads(1)
    full = tmp_path / "full"
    train_tokens(MODEL, TRAIN, _batches, full, progress=False)

    part = tmp_path / "part"

    def stop_at_3(step):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_tokens(MODEL, TRAIN, _batches, part, on_step=stop_at_3, progress=False)
    assert RunDir(part).status() == {"state": "interrupted", "step": 3}
    with pytest.raises(RunError, match="--resume"):
        train_tokens(MODEL, TRAIN, _batches, part, progress=False)
    model = train_tokens(MODEL, TRAIN, _batches, part, resume=True, progress=False)

    a, b = RunDir(full).read_metrics(), RunDir(part).read_metrics()
    assert [r["step"] for r in b] == list(range(1, 7))
    assert _strip(a) == _strip(b)
    _, reloaded = load_token_model(part)
    _, reference = load_token_model(full)
    for p, q, r in zip(model.state_dict().values(), reloaded.state_dict().values(),
                       reference.state_dict().values()):
        assert torch.equal(p, q) and torch.equal(q, r)
    assert json.loads((part / "config.json").read_text())["train"]["steps"] == 6


def test_resume_refuses_a_different_config(tmp_path):
    train_tokens(MODEL, TrainConfig.for_tokens(steps=1, device="cpu"), _batches, tmp_path / "r", progress=False)
    with pytest.raises(RunError, match="differs"):
        train_tokens(MODEL, TrainConfig.for_tokens(steps=2, device="cpu"), _batches, tmp_path / "r",
                     resume=True, progress=False)


def test_invalid_train_config_names_the_field():
    with pytest.raises(ValueError, match="train.lr"):
        TrainConfig.for_tokens(lr=0)
