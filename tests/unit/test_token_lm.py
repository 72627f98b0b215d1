"""TokenLM and greedy generation: the KV-cache path equals recomputing everything."""

import pytest
import torch

from icl_lab.models.token_lm import (
    TokenLM,
    TokenLMConfig,
    _forward_cached,
    attention_mask,
    generate,
    left_pad,
)
from icl_lab.models.transformer import KVCache

STOP = 3


def _model(seed: int = 0, **kw) -> TokenLM:
    torch.manual_seed(seed)
    cfg = TokenLMConfig(**{"vocab_size": 12, "context_len": 40, "n_embd": 32, "n_layer": 2,
                           "n_head": 4, **kw})
    model = TokenLM(cfg)
    # Larger weights than GPT-2 init so that greedy outputs vary from token to token.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(8)
    return model.double().eval()


PROMPTS = [[1, 5, 6, 7], [1, 2], [4, 5, 6, 7, 8, 9, 10], [11]]


@pytest.mark.parametrize("seed", range(4))
def test_cached_generation_equals_uncached(seed):
    model = _model(seed)
    with_cache = generate(model, PROMPTS, 15, STOP, use_cache=True)
    without = generate(model, PROMPTS, 15, STOP, use_cache=False)
    assert with_cache == without
    assert len({tuple(r) for r in with_cache}) > 1  # not a degenerate constant model


def test_batched_generation_equals_one_prompt_at_a_time():
    model = _model(1)
    batched = generate(model, PROMPTS, 12, None)
    for prompt, row in zip(PROMPTS, batched):
        assert generate(model, [prompt], 12, None) == [row]
        assert len(row) == 12  # no stop token: the full budget


def test_generation_stops_at_stop_token_and_reports_it():
    model = _model(2)
    free = generate(model, PROMPTS, 15, None)
    stop = free[0][4]  # a token row 0 emits at step 5
    out = generate(model, PROMPTS, 15, stop)
    for f, o in zip(free, out):
        if stop in f:
            assert o == f[: f.index(stop) + 1]
        else:
            assert o == f


def test_cached_logits_equal_full_forward():
    model = _model(3).float()
    tokens, valid = left_pad(PROMPTS, 0)
    positions = (valid.long().cumsum(1) - 1).clamp(min=0)
    full = model(tokens, positions, attention_mask(valid, tokens.shape[1]))
    cache = KVCache(len(model.backbone.blocks))
    prefill = _forward_cached(model, tokens[:, :-2], positions[:, :-2], valid[:, :-2], cache)
    step1 = _forward_cached(model, tokens[:, -2:-1], positions[:, -2:-1], valid[:, :-1], cache)
    step2 = _forward_cached(model, tokens[:, -1:], positions[:, -1:], valid, cache)
    cached = torch.cat((prefill, step1, step2), 1)
    assert torch.allclose(cached[valid], full[valid], atol=1e-5)


def test_unpadded_forward_matches_default_causal_path():
    model = _model(4)
    tokens = torch.randint(0, 12, (3, 9))
    assert torch.allclose(model(tokens), model(tokens, torch.arange(9),
                                               attention_mask(torch.ones(3, 9, dtype=torch.bool), 9)))


def test_position_offset_changes_positions_used():
    model = _model(5)
    assert generate(model, PROMPTS, 6, None, position_offset=0) != generate(
        model, PROMPTS, 6, None, position_offset=20)


def test_errors_are_clear():
    model = _model(6)
    with pytest.raises(ValueError, match="context_len=40"):
        generate(model, PROMPTS, 35, STOP)
    with pytest.raises(ValueError, match="token ids"):
        model(torch.tensor([[0, 12]]))
    with pytest.raises(ValueError, match="n_head"):
        TokenLMConfig(vocab_size=5, context_len=8, n_embd=30, n_head=4)


def test_hooks_expose_attention_patterns():
    model = _model(7)
    with model.hooks(["blocks.1.attn.hook_pattern"]) as cache:
        model(torch.randint(0, 12, (2, 5)))
    pattern = cache["blocks.1.attn.hook_pattern"]
    assert pattern.shape == (2, 4, 5, 5)
    assert torch.allclose(pattern.sum(-1), torch.ones(2, 4, 5, dtype=pattern.dtype))
    assert pattern.triu(1).abs().max() == 0  # causal
