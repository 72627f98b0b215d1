"""Where tensors live: CPU by default, CUDA when present and asked for (``auto``)."""

from __future__ import annotations

import torch

from icl_lab.core.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without CUDA is a ConfigError."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("invalid train.device='cuda': no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)
