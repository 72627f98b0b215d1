"""Token batches: whole sequences with a mask of the positions that are training targets.

Shared by the token task generators (chain of thought, algorithmic sequences) and the token
trainer, so it sits with the tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch


@dataclass
class TokenBatch:
    """``tokens`` [B, T] (long): whole sequences, right-padded; ``loss_mask`` [B, T] (bool):
    True where ``tokens[:, t]`` is a target (predicted from position t - 1);
    ``positions`` [B, T] (long) or None for 0..T-1."""

    tokens: torch.Tensor
    loss_mask: torch.Tensor
    positions: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> "TokenBatch":
        pos = None if self.positions is None else self.positions.to(device)
        return TokenBatch(self.tokens.to(device), self.loss_mask.to(device), pos)


def make_batch(examples: Sequence[tuple[Sequence[int], Sequence[int]]], pad_token: int,
               offsets: Sequence[int] | None = None) -> TokenBatch:
    """(prompt, answer) pairs -> a right-padded batch with the loss on answer tokens.

    ``offsets[i]`` shifts example i's positions (random offsets train every position)."""
    seqs = [list(p) + list(a) for p, a in examples]
    width = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), width), pad_token, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.bool)
    for i, ((prompt, _), seq) in enumerate(zip(examples, seqs)):
        tokens[i, : len(seq)] = torch.as_tensor(seq)
        mask[i, len(prompt): len(seq)] = True
    positions = None
    if offsets is not None:
        # Padding repeats the last real position: it is never attended to by a target,
        # and must not index past the context.
        last = torch.as_tensor([len(s) - 1 for s in seqs])[:, None]
        positions = torch.as_tensor(list(offsets), dtype=torch.long)[:, None] + torch.minimum(
            torch.arange(width)[None, :], last)
    return TokenBatch(tokens, mask, positions)
