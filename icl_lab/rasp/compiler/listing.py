"""Inspection: a readable listing of a compiled model.

Shows the model's size, then per layer every attention head (the node it
computes, what it selects, its score levels) and every MLP part (the node,
its arguments, its hidden-unit range), then the residual-stream layout.
Hook names in the listing are the ones ``run_with_cache`` returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from icl_lab.rasp.compiler.assemble import hidden_ranges

if TYPE_CHECKING:
    from icl_lab.rasp.compiler.model import CompiledModel


def summary(model: CompiledModel) -> dict[str, int]:
    """Sizes: layers, heads (used), d_model, n_head, d_head, d_mlp, parameters."""
    info = model.info
    attn = model.backbone.blocks[0].attn if model.backbone.blocks else None
    return {
        "layers": len(info.heads),
        "heads": sum(len(h) for h in info.heads),
        "d_model": info.layout.width,
        "n_head": attn.n_head if attn else 0,
        "d_head": attn.d_head if attn else 0,
        "d_mlp": model.backbone.blocks[0].mlp[0].out_features if model.backbone.blocks else 0,
        "parameters": model.num_parameters(),
    }


def describe_model(model: CompiledModel) -> str:
    """The full listing (see the module docstring)."""
    info = model.info
    s = summary(model)
    mode = "causal" if info.causal else "bidirectional"
    lines = [f"compiled '{info.graph.program.name}' ({mode}): {s['layers']} layers, "
             f"{s['heads']} heads (slots of {s['n_head']} x {s['d_head']} dims per layer), "
             f"MLP width {s['d_mlp']}, d_model {s['d_model']}, {s['parameters']:,} parameters",
             f"input: BOS (token id 0, position 0) then tokens of {info.vocab}, "
             f"length 1..{info.max_len}"]
    names = info.layout.names
    embedded = info.schedule.embedded
    if embedded:
        lines.append("embeddings (maps folded into the token / position tables)")
        for node, table in embedded.items():
            plan = info.schedule.map_plans[node]
            lines.append(f"  {table}: '{names[node]}' = {node.describe()} of "
                         f"{', '.join(names[a] for a in plan.args)}")
    for layer, (heads, mlps) in enumerate(zip(info.heads, info.mlps)):
        lines.append(f"layer {layer}")
        lines.append(f"  attention (blocks.{layer}.attn.hook_pattern)")
        if not heads:
            lines.append("    (no heads)")
        for h, head in enumerate(heads):
            if head.plan.joint:
                joint = ", ".join(names[n] for n in head.plan.inputs())
                lines.append(f"    (joint keys/queries: {joint})")
            lines.append(f"    head {h}: {head.text}")
            other = 0.0 if head.kind == "width" else 2 * head.bos_score - head.select_score
            lines.append(f"      scores: selected {head.select_score:g}, BOS {head.bos_score:g}, "
                         f"other <= {other:g}")
        lines.append(f"  mlp ({sum(m.hidden for m in mlps)} hidden units)")
        for (start, stop), part in zip(hidden_ranges(mlps), mlps):
            lines.append(f"    units {start}-{stop - 1}: {part.text}")
    lines.append(info.layout.describe())
    return "\n".join(lines)
