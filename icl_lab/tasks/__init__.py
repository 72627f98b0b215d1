"""Task families. Importing this package registers every family in :data:`TASKS`.

A family registered from outside the package (``register(TaskFamily(...))``) is a first-class
citizen: experiment files name it in ``task.name`` and every pipeline of its kind runs it.
"""

from icl_lab.core.errors import check
from icl_lab.tasks import (
    bayesian,  # noqa: E402,F401  (registers the Bayesian-prism priors)
    boolean,  # noqa: E402,F401  (registers the Boolean family)
    regression,  # noqa: E402,F401  (registers the regression families)
)
from icl_lab.tasks.base import TASKS, Batch, TaskFamily, curriculum, register, sample_task
from icl_lab.tasks.bayesian import FAMILY_NAMES  # noqa: E402
from icl_lab.tasks.boolean import BOOLEAN_CLASSES  # noqa: E402
from icl_lab.tasks.config import TaskConfig
from icl_lab.tasks.inputs import X_DISTRIBUTIONS  # noqa: E402


def check_task(cfg: TaskConfig) -> None:
    """The registry checks of a task section (run once at load): the family, its input
    distribution, Boolean class and mixture families exist, and sparsity fits in d."""
    check(cfg.name in TASKS, "task.name", cfg.name, f"one of {sorted(TASKS)}")
    if "sparsity" in TASKS[cfg.name].parameters:
        check(cfg.sparsity <= cfg.d, "task.sparsity", cfg.sparsity, f"an integer in [1, d={cfg.d}]")
    check(cfg.x_distribution in X_DISTRIBUTIONS, "task.x_distribution", cfg.x_distribution,
          f"one of {sorted(X_DISTRIBUTIONS)}")
    check(cfg.function_class in BOOLEAN_CLASSES, "task.function_class", cfg.function_class,
          f"one of {list(BOOLEAN_CLASSES)}")
    bad = [f for f in cfg.families if f not in FAMILY_NAMES]
    check(bool(cfg.families) and not bad and len(set(cfg.families)) == len(cfg.families),
          "task.families", list(cfg.families), f"distinct names from {list(FAMILY_NAMES)}")


__all__ = ["TASKS", "Batch", "TaskConfig", "TaskFamily", "check_task", "curriculum", "register", "sample_task"]
