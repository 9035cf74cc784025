"""mlupdate: the real model-update loop, and what keeping a fleet fresh costs.

Typical use::

    from . import SyntheticTask, Fleet, update_fleet

    task = SyntheticTask(n_targets=8, rows_per_batch=2000, seed=0)
    fleet = Fleet.deploy(task)
    report = update_fleet(fleet, task.stream(16), task.holdout(16), strategy="full")
    assert report.counts == report.planned
"""

from .batches import Batch
from .errors import ExecutorError, UsageError
from .executors import EXECUTORS, Executor, get_executor, register_executor
from .fleet import DeployedModel, Fleet, make_estimators, make_preprocessor
from .loop import update_fleet
from .plan import ORDERS, Plan
from .report import Failure, UpdateReport
from .rowwise import register_rowwise
from .strategies import STRATEGIES, RetrainStrategy, get_strategy, register_strategy
from .synthetic import BatchStream, SyntheticTask

__version__ = "0.1.0"

__all__ = [
    "EXECUTORS",
    "ORDERS",
    "STRATEGIES",
    "Batch",
    "BatchStream",
    "DeployedModel",
    "Executor",
    "ExecutorError",
    "Failure",
    "Fleet",
    "Plan",
    "RetrainStrategy",
    "SyntheticTask",
    "UpdateReport",
    "UsageError",
    "get_executor",
    "get_strategy",
    "make_estimators",
    "make_preprocessor",
    "register_executor",
    "register_rowwise",
    "register_strategy",
    "update_fleet",
]
