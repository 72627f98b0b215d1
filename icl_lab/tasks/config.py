"""The task section of an experiment file: which prior over functions, and the prompt shape.

:class:`TaskConfig` holds what every family shares (name, input dimension ``d``, prompt length,
label noise, input distribution); the family's own parameters live in its own frozen
dataclass (``TaskConfig.params``), declared beside its sampler and registered with it
(``register(..., params=RegressionParams)``). In a file the ``[task]`` table stays flat
(``sparsity = 3`` next to ``d = 8``): :meth:`TaskConfig.of` routes each key to its owner and
refuses keys the family does not read. Reading ``cfg.sparsity`` forwards to the family's
parameters; :meth:`TaskConfig.with_values` makes a changed copy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from icl_lab.core.config_files import build_dataclass
from icl_lab.core.errors import ConfigError
from icl_lab.core.errors import check as _check
from icl_lab.tasks.base import TASKS
from icl_lab.tasks.inputs import X_DISTRIBUTIONS

COMMON = ("name", "d", "n_points", "noise_std", "x_distribution")


@dataclass(frozen=True)
class TaskConfig:
    """The prior over functions and the prompt shape. ``params``: the family's own parameter
    dataclass (None: its defaults)."""

    name: str = "linear_regression"
    d: int = 20  # input dimension
    n_points: int = 41  # examples per prompt
    noise_std: float = 0.0
    x_distribution: str = "gaussian"  # see tasks/inputs.py
    params: Any = None

    def __post_init__(self) -> None:
        _check(self.name in TASKS, "task.name", self.name, f"one of {sorted(TASKS)}")
        family = TASKS[self.name]
        if self.params is None:  # the family's defaults (a derived field, as in any frozen dataclass)
            object.__setattr__(self, "params", family.params())
        _check(isinstance(self.params, family.params), "task.params", type(self.params).__name__,
               f"a {family.params.__name__} for task {self.name!r}")
        _check(self.d >= 1, "task.d", self.d, "an integer >= 1")
        _check(self.n_points >= 1, "task.n_points", self.n_points, "an integer >= 1")
        _check(self.noise_std >= 0, "task.noise_std", self.noise_std, "a number >= 0")
        _check(self.x_distribution in X_DISTRIBUTIONS, "task.x_distribution", self.x_distribution,
               f"one of {sorted(X_DISTRIBUTIONS)}")
        check_with_task: Callable[[TaskConfig], None] | None = getattr(self.params, "check_with_task", None)
        if check_with_task is not None:  # the family's checks that involve d (e.g. sparsity <= d)
            check_with_task(self)

    def __getattr__(self, name: str) -> Any:
        """The family's parameters read as task attributes (``cfg.task.sparsity``)."""
        params = self.__dict__.get("params")
        if not name.startswith("__") and params is not None and name in _field_names(type(params)):
            return getattr(params, name)
        raise AttributeError(f"task {self.__dict__.get('name')!r} has no parameter {name!r}")

    @classmethod
    def of(cls, name: str = "linear_regression", **values: Any) -> "TaskConfig":
        """A task config from flat keys: the shared ones go to the task, the rest to the family's
        parameters; a key that neither reads is a one-line error naming the valid ones.
        A family with a fixed input dimension (``params.FIXED_D``) gets it when ``d`` is not given."""
        _check(name in TASKS, "task.name", name, f"one of {sorted(TASKS)}")
        params_type = TASKS[name].params
        common, own = _split(name, values)
        fixed_d = getattr(params_type, "FIXED_D", None)
        if fixed_d is not None:
            common.setdefault("d", fixed_d)
        return cls(name=name, **common, params=params_type(**own))

    def with_values(self, **changes: Any) -> "TaskConfig":
        """A copy with ``changes`` applied, each to the task or to the family's parameters."""
        common, own = _split(self.name, changes)
        return dataclasses.replace(self, **common, params=dataclasses.replace(self.params, **own))


def _field_names(params_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(params_type))


def _split(name: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    own_names = _field_names(TASKS[name].params)
    common = {k: v for k, v in values.items() if k in COMMON and k != "name"}
    own = {k: v for k, v in values.items() if k in own_names}
    unknown = sorted(set(values) - set(common) - set(own) - {"name"})
    if unknown:
        raise ConfigError(f"unknown key task.{unknown[0]} for task.name={name!r}: valid keys are "
                          f"{', '.join([*COMMON, *own_names])}")
    return common, own


def build_task(raw: Any) -> TaskConfig:
    """The task section of a file (flat keys) or of a run's config.json (``params`` nested),
    every value type-checked."""
    _check(isinstance(raw, dict), "task", raw, "a table of keys")
    raw = dict(raw)
    name = raw.pop("name", TaskConfig.name)
    _check(isinstance(name, str) and name in TASKS, "task.name", name, f"one of {sorted(TASKS)}")
    params_type = TASKS[name].params
    nested = raw.pop("params", None)
    if nested is not None:  # a saved config: {"params": {...}}
        _check(isinstance(nested, dict), "task.params", nested, "a table of keys")
        raw = {**raw, **nested}
    common, own = _split(name, raw)
    fixed_d = getattr(params_type, "FIXED_D", None)
    if fixed_d is not None:
        common.setdefault("d", fixed_d)
    shared = build_dataclass(_Shared, common, "task")
    return TaskConfig(name=name, **dataclasses.asdict(shared), params=build_dataclass(params_type, own, "task"))


@dataclass(frozen=True)
class _Shared:
    """The typed shared keys (for coercion only)."""

    d: int = TaskConfig.d
    n_points: int = TaskConfig.n_points
    noise_std: float = TaskConfig.noise_std
    x_distribution: str = TaskConfig.x_distribution
