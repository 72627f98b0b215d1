"""Plots of compiled models: attention patterns of named heads on one input."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt  # the caller picks the backend (notebooks: inline)
import numpy as np

from icl_lab.rasp.compiler.model import CompiledModel
from icl_lab.rasp.language import SOp


def node_named(model: CompiledModel, name: str) -> SOp:
    """The compiled program's SOp called ``name``."""
    for node in model.layout.blocks:
        if node.name == name:
            return node
    raise KeyError(f"'{model.program.name}' has no node named {name!r}")


def head_location(model: CompiledModel, node: SOp) -> tuple[int, int]:
    """(layer, head slot) of the head computing ``node`` (an aggregate, or a selector
    width / length, whose head writes its scratch)."""
    scratch = model.info.graph.scratch.get(node, node)
    for layer, heads in enumerate(model.info.heads):
        for h, head in enumerate(heads):
            if head.node is scratch:
                return layer, h
    raise ValueError(f"no head computes '{node.name}' (maps have no head)")


def attention_pattern(model: CompiledModel, node: SOp | str, x: Sequence[Any]) -> np.ndarray:
    """The ``[T, T]`` attention pattern (BOS first) of ``node``'s head on input ``x``."""
    node = node_named(model, node) if isinstance(node, str) else node
    layer, h = head_location(model, node)
    _, cache = model.run_with_cache(list(x), [f"blocks.{layer}.attn.hook_pattern"])
    return cache[f"blocks.{layer}.attn.hook_pattern"][0, h].double().numpy()


def plot_pattern(model: CompiledModel, node: SOp | str, x: Sequence[Any],
                 ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Heat map of ``node``'s head on ``x``: rows are queries, columns keys, BOS first."""
    node = node_named(model, node) if isinstance(node, str) else node
    pattern = attention_pattern(model, node, x)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2))
    ax.imshow(pattern, vmin=0.0, vmax=1.0, cmap="Blues")
    labels = ["BOS"] + [str(t) for t in x]
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    layer, h = head_location(model, node)
    ax.set_title(title or f"{node.name} (layer {layer}, head {h})", fontsize=9)
    for (q, k), w in np.ndenumerate(pattern):
        if w > 0.05:
            ax.text(k, q, f"{w:.2f}".rstrip("0").rstrip("."), ha="center", va="center",
                    fontsize=6, color="white" if w > 0.6 else "black")
    return ax
