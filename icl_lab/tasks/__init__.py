"""Task families. Importing this package registers every family in :data:`TASKS`."""

from icl_lab.tasks.base import TASKS, Batch, TaskFamily, curriculum, register, sample_task

from icl_lab.tasks import regression  # noqa: E402,F401  (registers the regression families)
from icl_lab.tasks import boolean  # noqa: E402,F401  (registers the Boolean family)
from icl_lab.tasks import bayesian  # noqa: E402,F401  (registers the Bayesian-prism priors)

__all__ = ["TASKS", "Batch", "TaskFamily", "curriculum", "register", "sample_task"]
