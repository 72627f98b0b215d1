"""Stage 7 of the compiler: load the head and MLP matrices into a :class:`CompiledModel`.

Embeddings: token id 0 is BOS (``one`` + ``bos``); token ``i + 1`` is
``vocab[i]`` (``one`` + its value in every tokens node and in every map folded
into the token table). Position 0 (BOS) adds nothing; position ``p >= 1`` adds
index ``p - 1`` to every indices node, the maps folded into the position
table, and each constant's value. Heads of a layer are packed into
``n_head`` slots of ``d_head`` dimensions (zero-padded; unused slots have
zero weights and write nothing), MLP hidden units side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from icl_lab.rasp.compiler.attention import HeadWeights
from icl_lab.rasp.compiler.graph import ProgramGraph
from icl_lab.rasp.compiler.layout import ResidualLayout
from icl_lab.rasp.compiler.mlp import MLPWeights
from icl_lab.rasp.compiler.model import CompiledModel
from icl_lab.rasp.compiler.schedule import Schedule
from icl_lab.rasp.language import Full, Indices, SOp, Tokens


@dataclass
class CompilationInfo:
    """Everything the stages produced, kept on the model for inspection."""

    graph: ProgramGraph
    layout: ResidualLayout
    schedule: Schedule
    heads: list[list[HeadWeights]]  # per layer, in head-slot order
    mlps: list[list[MLPWeights]]  # per layer, in hidden-unit order
    vocab: list[Any]
    max_len: int
    causal: bool


def _folded(info: CompilationInfo, node: SOp, token: Any = None, position: int = 0) -> np.ndarray:
    """A folded map's value for one token (or position), encoded; 0 where the map fails."""
    plan = info.schedule.map_plans[node]
    leaves = [token if isinstance(a, Tokens) else position if isinstance(a, Indices) else a.value
              for a in plan.args]
    try:
        return info.layout.encode(node, plan.fn(info.graph)(*leaves))
    except Exception:  # noqa: BLE001 - the interpreter fails on such inputs too
        return np.zeros(info.layout.width)


def _embeddings(info: CompilationInfo) -> tuple[np.ndarray, np.ndarray]:
    layout = info.layout
    wte = np.zeros((len(info.vocab) + 1, layout.width))
    wpe = np.zeros((info.max_len + 1, layout.width))
    wte[:, layout.one] = 1.0
    wte[0, layout.bos] = 1.0
    for node in info.graph.sops:
        if isinstance(node, Tokens):
            for i, tok in enumerate(info.vocab):
                wte[i + 1] += layout.encode(node, tok)
        elif isinstance(node, Indices):
            for p in range(1, info.max_len + 1):
                wpe[p] += layout.encode(node, p - 1)
        elif isinstance(node, Full):
            wpe[1:] += layout.encode(node, node.value)
        elif info.schedule.embedded.get(node) == "tokens":
            for i, tok in enumerate(info.vocab):
                wte[i + 1] += _folded(info, node, token=tok)
        elif node in info.schedule.embedded:  # positions, or a constant
            for p in range(1, info.max_len + 1):
                wpe[p] += _folded(info, node, position=p - 1)
    return wte, wpe


def _pad(m: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows, m.shape[1]))
    out[:m.shape[0]] = m
    return out


def assemble(info: CompilationInfo, dtype: torch.dtype = torch.float64) -> CompiledModel:
    """Stage 7: a :class:`CompiledModel` holding the compiled weights."""
    layout = info.layout
    d = layout.width
    n_layer = len(info.heads)
    n_head = max([len(h) for h in info.heads] + [1])
    d_head = max([max(h.w_q.shape[0], h.w_v.shape[0]) for hs in info.heads for h in hs] + [1])
    d_mlp = max([sum(m.hidden for m in ms) for ms in info.mlps] + [1])
    model = CompiledModel(info.vocab, d, n_layer, n_head, d_head, d_mlp, info.max_len,
                          info.causal, info)
    wte, wpe = _embeddings(info)
    with torch.no_grad():
        model.embed.weight.copy_(torch.from_numpy(wte))
        model.backbone.wpe.weight.copy_(torch.from_numpy(wpe))
        for block, heads, mlps in zip(model.backbone.blocks, info.heads, info.mlps):
            qkv = np.zeros((3, n_head, d_head, d))
            proj = np.zeros((d, n_head, d_head))
            for h, head in enumerate(heads):
                qkv[0, h] = _pad(head.w_q, d_head)
                qkv[1, h] = _pad(head.w_k, d_head)
                qkv[2, h] = _pad(head.w_v, d_head)
                proj[:, h] = _pad(head.w_o.T, d_head).T
            block.attn.qkv.weight.copy_(torch.from_numpy(qkv.reshape(-1, d)))
            block.attn.proj.weight.copy_(torch.from_numpy(proj.reshape(d, -1)))
            w_in = _pad(np.concatenate([m.w_in for m in mlps]) if mlps else np.zeros((0, d)), d_mlp)
            w_out = _pad(np.concatenate([m.w_out.T for m in mlps]) if mlps else np.zeros((0, d)),
                         d_mlp).T
            block.mlp[0].weight.copy_(torch.from_numpy(w_in))
            block.mlp[2].weight.copy_(torch.from_numpy(w_out))
    return model.to(dtype).eval()


def hidden_ranges(mlps: Sequence[MLPWeights]) -> list[tuple[int, int]]:
    """The hidden-unit range of each MLP part of a layer (for listings)."""
    out, start = [], 0
    for m in mlps:
        out.append((start, start + m.hidden))
        start += m.hidden
    return out
