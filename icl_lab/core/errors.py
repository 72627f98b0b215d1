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


MAX_ELEMENTS = 2**31  # 8 GiB of float32: the largest tensor a config may ask for


def check_fits(field_name: str, value: Any, elements: int, what: str) -> None:
    """Refuse (at load, before any allocation) a setting whose ``what`` would hold more than
    :data:`MAX_ELEMENTS` numbers."""
    if elements > MAX_ELEMENTS:
        raise ConfigError(f"invalid {field_name}={value!r}: {what} would hold {elements:.3g} numbers "
                          f"({elements * 4 / 2**30:.3g} GiB), more than {MAX_ELEMENTS * 4 / 2**30:.0f} GiB")


def check(cond: bool, field_name: str, value: Any, allowed: str) -> None:
    """Raise ``ConfigError("invalid FIELD=VALUE: expected ALLOWED")`` unless ``cond``."""
    if not cond:
        raise ConfigError(f"invalid {field_name}={value!r}: expected {allowed}")
