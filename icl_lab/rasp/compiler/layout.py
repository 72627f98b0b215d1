"""Stage 3 of the compiler: the residual-stream layout.

Dimension 0 (``one``) is 1 at every position, including BOS; dimension 1
(``bos``) is 1 at the BOS position only. Every SOp then gets its own subspace:
one dimension per value for a categorical node (one-hot), a single dimension
for a numerical node. (A selector width's scratch, where its head writes
``1 / (width + 1)`` for its MLP to invert, is a numerical node like any other.)

Invariant kept by every stage: all node subspaces are 0 at the BOS position,
so a head that falls back to BOS reads exactly what the compiler put there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from icl_lab.rasp.compiler.graph import ProgramGraph
from icl_lab.rasp.compiler.values import ValueSet
from icl_lab.rasp.language import RASPExpr, SOp

ONE, BOS = 0, 1


@dataclass
class ResidualLayout:
    """Where each node lives in the residual stream, and how to read it back."""

    labels: list[str]
    blocks: dict[SOp, slice]
    values: dict[SOp, ValueSet]
    names: dict[RASPExpr, str]

    one: int = ONE
    bos: int = BOS

    @property
    def width(self) -> int:
        """The residual dimension d_model."""
        return len(self.labels)

    def dims(self, node: SOp) -> np.ndarray:
        """The residual dimensions of ``node`` (in value order)."""
        block = self.blocks[node]
        return np.arange(block.start, block.stop)

    def encode(self, node: SOp, value: Any) -> np.ndarray:
        """The residual vector that holds ``value`` in ``node``'s subspace."""
        out = np.zeros(self.width)
        vs = self.values[node]
        if vs.numerical:
            out[self.blocks[node].start] = float(value)
        else:
            out[self.blocks[node].start + vs.index(value)] = 1.0
        return out

    def read(self, node: SOp, resid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``node`` from residual vectors ``[..., d]``.

        Returns ``(values, margin)``: categorical nodes give the argmax value (an
        object array) and the gap between the largest and second-largest
        coordinate (1 for an exact one-hot); numerical nodes give the float value
        and a margin of 1.
        """
        sub = resid[..., self.blocks[node]]
        vs = self.values[node]
        if vs.numerical:
            return sub[..., 0], np.ones(sub.shape[:-1])
        best = sub.argmax(-1)
        table = np.empty(vs.size, dtype=object)
        for i, v in enumerate(vs.values):
            table[i] = v
        if vs.size > 1:
            top2 = np.sort(sub, axis=-1)[..., -2:]
            margin = top2[..., 1] - top2[..., 0]
        else:
            margin = sub[..., 0]
        return table[best], margin

    def describe(self) -> str:
        """One line per subspace: dimensions, node, encoding and values."""
        lines = [f"residual stream: {self.width} dimensions",
                 f"  [{ONE}] one (1 at every position)", f"  [{BOS}] bos (1 at BOS only)"]
        for node, block in self.blocks.items():
            vs = self.values[node]
            span = f"{block.start}" if block.stop - block.start == 1 else \
                f"{block.start}-{block.stop - 1}"
            shown = ", ".join(map(repr, vs.values[:10]))
            shown += f", ... ({vs.size})" if vs.size > 10 else ""
            lines.append(f"  [{span}] {self.names[node]}: {vs.encoding.value} {{{shown}}}")
        return "\n".join(lines)


def build_layout(graph: ProgramGraph, values: dict[SOp, ValueSet]) -> ResidualLayout:
    """Stage 3: one subspace per SOp (in graph order), plus one and bos."""
    names = graph.unique_names()
    labels = ["one", "bos"]
    blocks: dict[SOp, slice] = {}
    for node in graph.sops:
        vs = values[node]
        start = len(labels)
        if vs.numerical:
            labels.append(names[node])
        else:
            labels += [f"{names[node]}:{v!r}" for v in vs.values]
        blocks[node] = slice(start, len(labels))
    return ResidualLayout(labels, blocks, values, names)
