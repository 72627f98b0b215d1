"""Reading experiment TOML files for the experiments with their own config dataclasses
(length generalization, chain of thought, bandits): presets, ``--set`` overrides, typed values.

The regression-style experiments use :mod:`icl_lab.config` (sections task/model/train/eval);
these experiments have free-form top-level keys, so they share this smaller reader instead.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def merge_tables(base: dict, overlay: dict) -> dict:
    """``base`` with ``overlay`` laid over it, nested tables merged key by key."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merge_tables(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def coerce_value(defaults: dict[str, Any], key: str, value: Any, where: str) -> Any:
    """``value`` converted to the type of ``defaults[key]`` (tuples accept "a,b" or lists);
    one-line ``ValueError`` naming ``where + key`` for an unknown key or a wrong type."""
    if key not in defaults:
        raise ValueError(f"unknown key {where}{key}: valid keys are {', '.join(defaults)}")
    default = defaults[key]
    if isinstance(default, tuple):
        items = value.split(",") if isinstance(value, str) else (
            list(value) if isinstance(value, (list, tuple)) else [value])
        try:
            return tuple(type(default[0])(v) if default else v for v in items)
        except ValueError:
            raise ValueError(f"invalid {where}{key}={value!r}: expected a list of "
                             f"{type(default[0]).__name__}") from None
    if isinstance(default, (bool, int, float, str)):
        ok = isinstance(value, type(default)) or (isinstance(default, float) and isinstance(value, int))
        if not ok or (isinstance(value, bool) and not isinstance(default, bool)):
            raise ValueError(f"invalid {where}{key}={value!r}: expected {type(default).__name__}")
        return type(default)(value)
    return value


def _apply_override(data: dict, text: str) -> None:
    if "=" not in text:
        raise ValueError(f"invalid override {text!r}: expected key=value, e.g. train.steps=500")
    key, value_text = (s.strip() for s in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {value_text}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text  # bare words, e.g. tasks=count,parity
    *parents, leaf = key.split(".")
    target = data
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ValueError(f"invalid override {text!r}: {part} is not a table")
    target[leaf] = value


def read_experiment_table(path: str | Path, preset: str | None = None, overrides: list[str] | tuple[str, ...] = ()
                          ) -> dict[str, Any]:
    """The experiment file's top level after ``[presets.<preset>]`` (default: its
    ``default_preset``) and then ``--set key=value`` overrides, with ``name`` (the file's stem
    unless given) and ``preset`` filled in. ``path`` may also be a bare name in experiments/."""
    path = Path(path)
    if not path.is_file() and (Path("experiments") / f"{path.name}.toml").is_file():
        path = Path("experiments") / f"{path.name}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"experiment file not found: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"cannot parse {path}: {exc}") from None
    presets = data.pop("presets", {})
    data.pop("description", None)
    default = data.pop("default_preset", "quick")
    preset = default if preset is None else preset
    if preset:
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r} in {path}: available are {', '.join(presets)}")
        data = merge_tables(data, presets[preset])
    data.setdefault("name", path.stem)
    data["preset"] = preset
    for text in overrides:
        _apply_override(data, text)
    return data
