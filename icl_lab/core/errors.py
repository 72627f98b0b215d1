"""The lab's own error types. The CLI turns exactly these into ``error: …`` and exit 2;
anything else is a bug and keeps its traceback."""

from __future__ import annotations

from typing import Any


class LabError(Exception):
    """Base of every error the lab raises for bad input or unusable files."""


class ConfigError(LabError, ValueError):
    """A configuration value, key or experiment file is invalid; the message is for humans."""


class RunError(LabError, RuntimeError):
    """A run directory cannot be used as asked; the message says what to do instead."""


class CheckpointError(LabError, RuntimeError):
    """A checkpoint is missing, corrupt, truncated or from an incompatible model."""


def check(cond: bool, field_name: str, value: Any, allowed: str) -> None:
    """Raise ``ConfigError("invalid FIELD=VALUE: expected ALLOWED")`` unless ``cond``."""
    if not cond:
        raise ConfigError(f"invalid {field_name}={value!r}: expected {allowed}")
