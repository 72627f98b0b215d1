"""The decoder: causality for both encodings, context checks, hook points."""

import pytest
import torch

from icl_lab.models import ICLRegressor
from icl_lab.models.config import ModelConfig


@pytest.mark.parametrize("encoding", ["interleaved", "compact"])
def test_changing_example_j_leaves_earlier_predictions_unchanged(encoding):
    torch.manual_seed(0)
    model = ICLRegressor(ModelConfig(encoding=encoding, n_embd=32, n_layer=2, n_head=2, max_points=12), d=4).eval()
    xs, ys = torch.randn(3, 10, 4), torch.randn(3, 10)
    base = model(xs, ys)
    for j in (0, 4, 9):
        xs2, ys2 = xs.clone(), ys.clone()
        xs2[:, j] += 1.0
        ys2[:, j] -= 2.0
        out = model(xs2, ys2)
        assert torch.allclose(out[:, :j], base[:, :j], atol=1e-6)  # before j: untouched
        assert not torch.allclose(out[:, j], base[:, j])  # x_j itself is seen at position j
        ys3 = ys.clone()
        ys3[:, j] += 5.0
        out3 = model(xs, ys3)  # y_j only reaches positions after j
        assert torch.allclose(out3[:, :j + 1], base[:, :j + 1], atol=1e-6)
        if j < 9:
            assert not torch.allclose(out3[:, j + 1:], base[:, j + 1:])


def test_prompt_longer_than_context_is_refused():
    model = ICLRegressor(ModelConfig(n_embd=16, n_layer=1, n_head=2, max_points=5), d=3)
    with pytest.raises(ValueError, match="context holds"):
        model(torch.randn(1, 6, 3), torch.randn(1, 6))
    with pytest.raises(ValueError, match="d=3"):
        model(torch.randn(1, 4, 2), torch.randn(1, 4))


def test_hook_points_and_attention_pattern():
    torch.manual_seed(0)
    model = ICLRegressor(ModelConfig(n_embd=16, n_layer=2, n_head=2, max_points=8), d=3).eval()
    xs, ys = torch.randn(2, 5, 3), torch.randn(2, 5)
    preds, cache = model.run_with_cache(xs, ys)
    assert torch.allclose(preds, model(xs, ys), atol=1e-5)  # explicit softmax path == SDPA path
    for i in range(2):
        for point in ("hook_resid_pre", "hook_resid_mid", "hook_resid_post"):
            assert cache[f"blocks.{i}.{point}"].shape == (2, 10, 16)
        pattern = cache[f"blocks.{i}.attn.hook_pattern"]
        assert pattern.shape == (2, 2, 10, 10)
        assert torch.allclose(pattern.sum(-1), torch.ones(2, 2, 10))
        assert torch.all(pattern.triu(1) == 0)  # causal
    assert not any(m._forward_hooks for m in model.hook_points().values())  # hooks removed


def test_standard_size_parameter_count():
    model = ICLRegressor(ModelConfig(n_embd=256, n_layer=12, n_head=8), d=20)
    assert 9.4e6 < model.num_parameters() < 9.6e6  # Garg et al.: ~9.5M


@pytest.mark.parametrize("encoding", ["interleaved", "compact"])
def test_last_block_at_read_rows_equals_full_decoder(encoding):
    """The fast path (last block computed only where predictions are read) against the full
    decoder read afterwards: same predictions and same gradients."""
    torch.manual_seed(0)
    model = ICLRegressor(ModelConfig(encoding=encoding, n_embd=16, n_layer=2, n_head=2, max_points=9), d=4)
    with torch.no_grad():
        for p in model.parameters():  # far from the 0.02 init, so every layer matters
            p.add_(0.3 * torch.randn_like(p))
    xs, ys = torch.randn(3, 9, 4), torch.randn(3, 9)

    def full(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        hidden = model.backbone(model.encoder(xs, ys))  # every row
        return model.head(model.encoder.read_positions(hidden)).squeeze(-1)

    fast_out, full_out = model(xs, ys), full(xs, ys)
    torch.testing.assert_close(fast_out, full_out, atol=1e-5, rtol=1e-5)
    grads = []
    for out in (fast_out, full_out):
        model.zero_grad()
        (out.square().mean()).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
