"""Hook points (TransformerLens style) and the one base every model of the lab derives from.

Naming rule: a hook's name is its module path with the ``backbone.`` prefix dropped, so the
same place has the same name in every model: ``blocks.{i}.hook_resid_pre``,
``blocks.{i}.hook_resid_mid``, ``blocks.{i}.hook_resid_post``, ``blocks.{i}.attn.hook_pattern``
(``[B, H, T, T]``), ``hook_final``. ``model.hooks(names)`` caches them inside a ``with``
block; ``model.run_with_cache(*inputs, names=...)`` returns ``(output, cache)``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn


class HookPoint(nn.Identity):
    """An identity module whose only job is to carry forward hooks at a named place."""

    @property
    def active(self) -> bool:
        return bool(self._forward_hooks)


def hook_name(module_path: str) -> str:
    """The public name of the hook point at ``module_path`` (the ``backbone.`` prefix dropped)."""
    return module_path.replace("backbone.", "")


class HookedModule(nn.Module):
    """A model whose :class:`HookPoint` submodules can be read by name."""

    def hook_points(self) -> dict[str, HookPoint]:
        """Every hook point under its public name."""
        return {hook_name(name): m for name, m in self.named_modules() if isinstance(m, HookPoint)}

    @contextmanager
    def hooks(self, names: list[str] | None = None) -> Iterator[dict[str, torch.Tensor]]:
        """Cache the (detached) outputs of the named hook points (all when ``names`` is None)
        while the block runs. An unknown name is an error, not an empty cache."""
        points = self.hook_points()
        unknown = sorted(set(names or ()) - set(points))
        if unknown:
            raise KeyError(f"unknown hook point {unknown[0]!r}: available are {', '.join(points)}")
        cache: dict[str, torch.Tensor] = {}
        handles = [point.register_forward_hook(lambda _m, _i, out, key=name: cache.__setitem__(key, out.detach()))
                   for name, point in points.items() if names is None or name in names]
        try:
            yield cache
        finally:
            for handle in handles:
                handle.remove()

    def run_with_cache(self, *inputs: Any, names: list[str] | None = None) -> tuple[Any, dict[str, torch.Tensor]]:
        """The model's output on ``inputs`` and the activations of the named hook points."""
        with self.hooks(names) as cache:
            out = self(*inputs)
        return out, dict(cache)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
