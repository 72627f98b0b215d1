"""Task families. Importing this package registers every family in :data:`TASKS`.

A family registered from outside the package (``register(name, ..., params=MyParams)``) is a
first-class citizen: experiment files name it in ``task.name`` and every pipeline of its kind
runs it. Each family owns its parameter dataclass (``TaskConfig.params``).
"""

from icl_lab.tasks import (
           bayesian,  # noqa: E402,F401  (registers the Bayesian-prism priors)
           boolean,  # noqa: E402,F401  (registers the Boolean family)
           regression,  # noqa: E402,F401  (registers the regression families)
)
from icl_lab.tasks.base import TASKS, Batch, NoParams, TaskFamily, curriculum, register, sample_task
from icl_lab.tasks.config import TaskConfig, build_task

__all__ = ["TASKS", "Batch", "NoParams", "TaskConfig", "TaskFamily", "build_task", "curriculum", "register",
           "sample_task"]
