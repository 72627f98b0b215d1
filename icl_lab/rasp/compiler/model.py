"""The compiled transformer: a thin variant of :class:`icl_lab.models.transformer.Decoder`.

Same structure and hook names as the lab's decoder (``blocks.{i}.hook_resid_pre``,
``blocks.{i}.hook_resid_mid``, ``blocks.{i}.hook_resid_post``,
``blocks.{i}.attn.hook_pattern`` ``[B, H, T, T]``, ``hook_final``), so notebooks
inspect compiled and trained models the same way. The differences are the
ones compiled weights need: no LayerNorm, ReLU MLPs of any width, heads of
any dimension (``n_head * d_head`` need not equal ``d_model``), no biases (the
residual's ``one`` dimension carries constants), no ``1/sqrt(d_head)``
scaling, and a causal or a full attention mask.

:class:`CompiledModel` wraps it with the token embedding (BOS = token id 0),
reading every node back from the residual stream, and generation.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from icl_lab.core.hooks import HookedModule, HookPoint
from icl_lab.rasp.evaluator import as_value_array, to_batch
from icl_lab.rasp.language import SOp


class CompiledAttention(nn.Module):
    """Multi-head attention with explicit softmax (the pattern is always computed)."""

    def __init__(self, d_model: int, n_head: int, d_head: int) -> None:
        super().__init__()
        self.n_head, self.d_head = n_head, d_head
        self.qkv = nn.Linear(d_model, 3 * n_head * d_head, bias=False)
        self.proj = nn.Linear(n_head * d_head, d_model, bias=False)
        self.hook_pattern = HookPoint()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_head, self.d_head).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)).masked_fill(~mask, float("-inf"))  # [B, H, T, T]
        pattern = self.hook_pattern(scores.softmax(-1))
        return self.proj((pattern @ v).transpose(1, 2).reshape(b, t, -1))


class CompiledBlock(nn.Module):
    """Attention then a ReLU MLP, both added to the residual stream (no LayerNorm)."""

    def __init__(self, d_model: int, n_head: int, d_head: int, d_mlp: int) -> None:
        super().__init__()
        self.attn = CompiledAttention(d_model, n_head, d_head)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_mlp, bias=False), nn.ReLU(),
                                 nn.Linear(d_mlp, d_model, bias=False))
        self.hook_resid_pre = HookPoint()
        self.hook_resid_mid = HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.hook_resid_pre(x)
        x = self.hook_resid_mid(x + self.attn(x, mask))
        return self.hook_resid_post(x + self.mlp(x))


class CompiledDecoder(nn.Module):
    """Embeddings [B, T, E] -> residual stream [B, T, E]; positions are added here."""

    def __init__(self, d_model: int, n_layer: int, n_head: int, d_head: int, d_mlp: int,
                 max_len: int, causal: bool) -> None:
        super().__init__()
        self.max_len, self.causal = max_len, causal
        self.wpe = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(CompiledBlock(d_model, n_head, d_head, d_mlp)
                                    for _ in range(n_layer))
        self.hook_final = HookPoint()

    def forward(self, emb: torch.Tensor, mask: torch.Tensor | None = None,
                positions: torch.Tensor | None = None) -> torch.Tensor:
        t = emb.shape[1]
        if t > self.max_len:
            raise ValueError(f"sequence of {t} tokens (BOS included) exceeds the compiled "
                             f"context of {self.max_len}")
        if mask is None:
            mask = torch.ones(t, t, dtype=torch.bool, device=emb.device)
            mask = mask.tril() if self.causal else mask
        pos = positions if positions is not None else torch.arange(t, device=emb.device)
        x = emb + self.wpe(pos)
        for block in self.blocks:
            x = block(x, mask)
        return self.hook_final(x)


class CompiledModel(HookedModule):
    """A compiled RASP program: token embedding + :class:`CompiledDecoder` + read-out.

    ``compiled.run(inputs)`` mirrors :func:`icl_lab.rasp.evaluate`;
    ``run_nodes`` reads every node; ``run_with_cache`` also returns hook
    activations; ``describe()`` lists layers, heads and the residual layout.
    Built by :func:`icl_lab.rasp.compiler.compile_program`.
    """

    def __init__(self, vocab: Sequence[Any], d_model: int, n_layer: int, n_head: int,
                 d_head: int, d_mlp: int, max_len: int, causal: bool, info: Any) -> None:
        super().__init__()
        self.vocab = list(vocab)
        self.token_ids = {tok: i + 1 for i, tok in enumerate(self.vocab)}  # 0 is BOS
        self.max_len, self.causal = max_len, causal
        self.embed = nn.Embedding(len(self.vocab) + 1, d_model)
        self.backbone = CompiledDecoder(d_model, n_layer, n_head, d_head, d_mlp, max_len + 1,
                                        causal)
        self.info = info  # a CompilationInfo (program, graph, layout, schedule, heads, mlps)

    @property
    def program(self) -> SOp:
        return self.info.graph.program

    @property
    def layout(self) -> Any:
        return self.info.layout

    def encode(self, inputs: Any) -> torch.Tensor:
        """Token ids ``[B, 1 + L]`` with BOS prepended; inputs as for ``evaluate``."""
        batch, _ = to_batch(inputs)
        if batch.shape[1] > self.max_len:
            raise ValueError(f"inputs of length {batch.shape[1]} exceed the compiled max_len "
                             f"{self.max_len}")
        try:
            ids = [[self.token_ids[tok] for tok in row] for row in batch.tolist()]
        except KeyError as err:
            raise ValueError(f"token {err.args[0]!r} is not in the compiled vocabulary "
                             f"{self.vocab}") from None
        ids = torch.tensor(ids, dtype=torch.long).reshape(batch.shape)
        return torch.cat([torch.zeros(ids.shape[0], 1, dtype=torch.long), ids], dim=1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (BOS first) -> final residual stream ``[B, T, d_model]``."""
        return self.backbone(self.embed(ids))

    def residual(self, inputs: Any) -> np.ndarray:
        """The final residual stream as numpy ``[B, 1 + L, d_model]`` (BOS first)."""
        with torch.no_grad():
            return self(self.encode(inputs)).cpu().double().numpy()

    def read_nodes(self, resid: np.ndarray, nodes: Sequence[SOp] | None = None,
                   ) -> dict[SOp, np.ndarray]:
        """Decode nodes (all SOps by default) from a residual ``[B, 1 + L, d]``; BOS dropped."""
        nodes = list(self.layout.blocks) if nodes is None else nodes
        out = {}
        for node in nodes:
            values, _ = self.layout.read(node, resid[:, 1:])
            out[node] = values if self.layout.values[node].numerical else \
                as_value_array(values.ravel().tolist()).reshape(values.shape)
        return out

    def run_nodes(self, inputs: Any) -> dict[SOp, np.ndarray]:
        """Every node's value ``[B, L]`` read from the residual stream."""
        return self.read_nodes(self.residual(inputs))

    def run(self, inputs: Any) -> np.ndarray:
        """The program's output on one sequence (``[L]``) or a batch (``[B, L]``)."""
        _, single = to_batch(inputs)
        out = self.read_nodes(self.residual(inputs), [self.program])[self.program]
        return out[0] if single else out

    def run_with_cache(self, inputs: Any, names: list[str] | None = None,  # type: ignore[override]
                       ) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """Program output ``[B, L]`` and hook activations (positions include BOS)."""
        with self.hooks(names) as cache, torch.no_grad():
            resid = self(self.encode(inputs)).double().numpy()
        return self.read_nodes(resid, [self.program])[self.program], dict(cache)

    def generate(self, prompt: Sequence[Any], max_new_tokens: int,
                 stop: Any = None) -> list[Any]:
        """Autoregressive decoding (causal models): append the output at the last position.

        Stops after ``stop`` is produced, at ``max_new_tokens``, at the context
        limit, or when the output is not a vocabulary token.
        """
        if not self.causal:
            raise ValueError("generate needs a causal model (compile with causal=True)")
        seq = list(prompt)
        for _ in range(max_new_tokens):
            if len(seq) >= self.max_len:
                break
            nxt = self.run(seq)[-1]
            nxt = nxt.item() if isinstance(nxt, np.generic) else nxt
            if nxt not in self.token_ids:
                break
            seq.append(nxt)
            if stop is not None and nxt == stop:
                break
        return seq
