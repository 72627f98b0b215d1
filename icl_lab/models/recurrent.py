"""LSTM and GRU in-context learners with the decoder's (xs, ys) -> per-position outputs contract.

The prompt is encoded exactly as for the transformer (``model.encoding``: interleaved
x_1, y_1, x_2, … tokens, or one compact token per example) and read by a stacked
recurrent network; predictions are read at the x positions. A recurrence only looks
backwards, so output k depends on x_1..x_k and y_1..y_{k-1}: causal by construction.
Bhattamishra et al. (2024) compare such recurrent learners with transformers in context.
"""

from __future__ import annotations

import torch
from torch import nn

from icl_lab.core.hooks import HookedModule
from icl_lab.models.config import ModelConfig
from icl_lab.models.transformer import ENCODERS

CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentICL(HookedModule):
    """(xs [B, N, D], ys [B, N]) -> outputs [B, N] (logits for BCE tasks), via an LSTM or GRU.

    ``n_embd`` is the hidden width, ``n_layer`` the number of stacked recurrent layers;
    ``n_head`` and ``max_points`` do not apply (a recurrence has no context limit).
    """

    def __init__(self, cfg: ModelConfig, d: int, cell: str = "lstm"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown recurrent cell {cell!r}: expected one of {', '.join(CELLS)}")
        self.cfg, self.d, self.cell = cfg, d, cell
        self.encoder = ENCODERS[cfg.encoding](d, cfg.n_embd)
        self.rnn = CELLS[cell](cfg.n_embd, cfg.n_embd, num_layers=cfg.n_layer, batch_first=True,
                               dropout=cfg.dropout if cfg.n_layer > 1 else 0.0)
        self.ln_f = nn.LayerNorm(cfg.n_embd)  # keeps the read-out scale stable as states grow
        self.head = nn.Linear(cfg.n_embd, 1)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        if xs.shape[-1] != self.d:
            raise ValueError(f"prompt has d={xs.shape[-1]} but the model was built for d={self.d}")
        hidden, _ = self.rnn(self.encoder(xs, ys))
        return self.head(self.ln_f(self.encoder.read_positions(hidden))).squeeze(-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
