"""The one experiment-file reader: TOML -> preset overlay -> ``--set`` overrides -> plain data,
and the typed conversion of plain tables into frozen config dataclasses.

An experiment file (``experiments/<name>.toml``) has top-level keys and tables, a ``kind``
naming the pipeline that runs it (default ``"regression"``), an optional
``default_preset`` and named overlays ``[presets.<name>...]`` merged key by key over the
top level. ``--set a.b.c=value`` overrides are applied last; values are read as TOML
(``3``, ``1e-3``, ``true``, ``[1, 2]``) and fall back to a bare string (``count,parity``).
Every problem ends in a one-line :class:`ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from icl_lab.core.errors import ConfigError, check

DEFAULT_KIND = "regression"
# The experiment files shipped with the lab: icl_lab/experiments in an installed wheel
# (pyproject maps the top-level experiments/ folder there), experiments/ in a source checkout.
_PACKAGE = Path(__file__).resolve().parent.parent
BUNDLED_EXPERIMENTS = next((p for p in (_PACKAGE / "experiments", _PACKAGE.parent / "experiments") if p.is_dir()),
                           _PACKAGE.parent / "experiments")


def find_experiment(path: str | Path) -> Path:
    """The experiment file ``path`` names: an existing file, else ``experiments/NAME.toml`` in the
    working directory, else the lab's bundled ``experiments/NAME.toml``."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        raise ConfigError(f"experiment file expected, got a directory: {path}")
    if not path.suffix or path.suffix == ".toml":
        stem = path.stem if path.suffix else path.name
        for folder in (Path("experiments"), BUNDLED_EXPERIMENTS):
            candidate = folder / f"{stem}.toml"
            if candidate.is_file():
                return candidate
    raise ConfigError(f"experiment file not found: {path}")


def bundled_experiments() -> list[Path]:
    """The experiment files shipped with the lab, sorted by name."""
    return sorted(BUNDLED_EXPERIMENTS.glob("*.toml"))


def merge_tables(base: dict, overlay: dict) -> dict:
    """``base`` with ``overlay`` laid over it, nested tables merged key by key."""
    out = dict(base)
    for key, value in overlay.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge_tables(out[key], value) if both else value
    return out


def parse_value(text: str) -> Any:
    """A ``--set`` value read as TOML; a bare word stays a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict, text: str) -> None:
    """Set ``data[a][b][c] = value`` for the override ``a.b.c=value`` (tables created as needed)."""
    if "=" not in text or not text.split("=", 1)[0].strip():
        raise ConfigError(f"invalid override {text!r}: expected key=value, e.g. train.steps=500")
    key, value_text = (s.strip() for s in text.split("=", 1))
    *parents, leaf = key.split(".")
    target = data
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"invalid override {text!r}: {part} is not a table")
    target[leaf] = parse_value(value_text)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def read_experiment(path: str | Path, preset: str | None = None,
                    overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The experiment file's top level after ``[presets.<preset>]`` (default: the file's
    ``default_preset``, else ``quick``) and the ``--set`` overrides, with ``kind``, ``name``
    (the file's stem unless given) and ``preset`` filled in. ``path`` may be a bare name."""
    path = find_experiment(path)
    data = read_toml(path)
    presets = data.pop("presets", {})
    check(isinstance(presets, dict) and all(isinstance(v, dict) for v in presets.values()),
          "presets", presets, "tables [presets.NAME]")
    data.pop("description", None)  # documentation only
    default = data.pop("default_preset", "quick" if presets else "")
    preset = default if preset is None else preset
    if preset:
        data = merge_tables(data, _preset_overlay(presets, preset, path))
    data.setdefault("kind", DEFAULT_KIND)
    data.setdefault("name", path.stem)
    data["preset"] = preset
    for text in overrides:
        apply_override(data, text)
    for key in ("name", "preset"):  # both become parts of run-directory names
        check_safe_name(key, data[key], allow_empty=key == "preset")
    return data


SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]{0,199}")


def check_safe_name(key: str, value: Any, allow_empty: bool = False) -> None:
    """A name that becomes part of a path: letters, digits and ``._+=-``, no ``..``, no separator,
    at most 200 characters (so a name from a file never points outside the runs folder)."""
    if allow_empty and value == "":
        return
    ok = isinstance(value, str) and SAFE_NAME.fullmatch(value) is not None and ".." not in value
    check(ok, key, value, "a plain name: letters, digits and . _ + = - (no path separators or '..', "
          "at most 200 characters)")


def _preset_overlay(presets: dict[str, dict], name: str, path: Path, seen: tuple[str, ...] = ()) -> dict:
    """The overlay of preset ``name``; ``extends = "other"`` in a preset lays it over that one's."""
    if name not in presets:
        available = ", ".join(presets) if presets else "none (the file has no [presets] table)"
        raise ConfigError(f"unknown preset {name!r} in {path}: available presets are {available}")
    overlay = dict(presets[name])
    base = overlay.pop("extends", None)
    if base is None:
        return overlay
    if base in (*seen, name):
        raise ConfigError(f"invalid presets.{name}.extends={base!r} in {path}: presets extend each other in a loop")
    return merge_tables(_preset_overlay(presets, base, path, (*seen, name)), overlay)


# ----------------------------------------------------------------------------- typed tables


def coerce_field(name: str, value: Any, annotation: Any) -> Any:
    """``value`` checked against a dataclass field's type, converted where lossless.

    Floats must be finite; tuples accept lists or ``"a,b"`` strings."""
    text = str(annotation)
    if text.startswith("tuple"):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v] if value else []
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]  # --set seeds=3 means (3,)
        check(isinstance(value, (list, tuple)), name, value, "a list")
        item = text[text.index("[") + 1:].split(",")[0].strip(" ]") if "[" in text else "str"
        convert = {"int": int, "float": float}.get(item, str)
        try:
            return tuple(convert(v) for v in value)
        except (TypeError, ValueError):
            raise ConfigError(f"invalid {name}={value!r}: expected a list of {item}") from None
    if annotation is bool or text == "bool":
        check(isinstance(value, bool), name, value, "true or false")
        return value
    if annotation is int or text == "int":
        check(isinstance(value, int) and not isinstance(value, bool), name, value, "an integer")
        return value
    if annotation is float or text == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        check(ok and math.isfinite(value), name, value, "a finite number")
        return float(value)
    if annotation is str or text == "str":
        check(isinstance(value, str), name, value, "a string")
        return value
    return value


def _field_default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def build_dataclass(cls: type, raw: Any, section: str = "", extra_keys: tuple[str, ...] = (),
                    base: Any = None) -> Any:
    """``cls(**raw)`` with every value type-checked; unknown keys list the valid ones.

    Nested tables become nested dataclasses, built over the field's default instance (so a
    section keeps the defaults its owner chose); ``dict[str, SomeDataclass]`` fields take a
    table of tables. ``section`` prefixes names in messages (``train`` -> ``train.lr``)."""
    prefix = f"{section}." if section else ""
    check(isinstance(raw, dict), section or "config", raw, "a table of keys")
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        also = "".join(f" (and {k!r})" for k in extra_keys)
        raise ConfigError(f"unknown key {prefix}{unknown[0]}: valid keys are {', '.join(known)}{also}")
    values = {}
    for key, value in raw.items():
        hint, name = hints[key], f"{prefix}{key}"
        if dataclasses.is_dataclass(hint):
            default = _field_default(known[key])
            values[key] = build_dataclass(hint, value, name, base=default if dataclasses.is_dataclass(default) else None)
        elif get_origin(hint) is dict and dataclasses.is_dataclass(get_args(hint)[1]):
            check(isinstance(value, dict), name, value, f"tables [{name}.NAME]")
            values[key] = {n: build_dataclass(get_args(hint)[1], table, f"{name}.{n}") for n, table in value.items()}
        else:
            values[key] = coerce_field(name, value, hint)
    return dataclasses.replace(base, **values) if base is not None else cls(**values)


def coerce_value(defaults: dict[str, Any], key: str, value: Any, where: str) -> Any:
    """``value`` converted like :func:`coerce_field` to the type of ``defaults[key]`` (for
    free-form tables whose keys are known by their default values, e.g. a task's generator
    parameters); ``where`` prefixes the key in messages."""
    if key not in defaults:
        raise ConfigError(f"unknown key {where}{key}: valid keys are {', '.join(defaults)}")
    default = defaults[key]
    if isinstance(default, tuple):
        item = type(default[0]).__name__ if default else "str"
        return coerce_field(f"{where}{key}", value, f"tuple[{item}, ...]")
    if isinstance(default, (bool, int, float, str)):
        return coerce_field(f"{where}{key}", value, type(default))
    return value


def expect_kind(data: dict[str, Any], kind: str) -> dict[str, Any]:
    """``data``, whose ``kind`` must name ``kind`` (a read experiment file is handed to the
    pipeline of its own kind only)."""
    found = data.get("kind", kind)
    if found != kind:
        raise ConfigError(f"invalid kind={found!r}: this pipeline reads kind = {kind!r} files")
    return {**data, "kind": kind}
