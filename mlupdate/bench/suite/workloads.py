"""Named, seeded workloads: what one benchmark cell runs, built once per process.

A :class:`Workload` pins everything that decides the work (sizes, estimators,
order, strategy, executor, seed). The benchmarks state their workloads as
class attributes; :meth:`Workload.prepare` deploys the fleet and generates the
batches (never timed), :meth:`Prepared.run` is the measured update.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from ...batches import Batch
from ...executors import Executor, get_executor
from ...fleet import Fleet, make_estimators
from ...loop import update_fleet
from ...report import UpdateReport
from ...synthetic import SyntheticTask

__all__ = ["Prepared", "Workload"]


@dataclass(frozen=True)
class Workload:
    """One cell of a benchmark grid.

    Changing a field of a workload that a benchmark already records changes
    what its history means: add a new benchmark instead.
    """

    n_models: int
    n_batches: int
    rows_per_batch: int = 200
    n_features: int = 10
    history_rows: int = 1000
    estimators: str = "mixed"
    order: str = "model-major"
    strategy: str = "full"
    executor: str = "serial"
    n_jobs: int = 2
    backend: str = "loky"
    drift: float = 0.0
    drifting_fraction: float = 0.5
    seed: int = 0

    def with_(self, **changes: object) -> Workload:
        return replace(self, **changes)

    def task(self) -> SyntheticTask:
        drifting = list(range(0, self.n_models, max(1, round(1 / self.drifting_fraction)))) if self.drift else None
        return SyntheticTask(
            n_targets=self.n_models,
            n_features=self.n_features,
            rows_per_batch=self.rows_per_batch,
            history_rows=self.history_rows,
            drift=self.drift,
            drift_targets=drifting,
            seed=self.seed,
        )

    def make_executor(self) -> Executor:
        if self.executor == "joblib":
            return get_executor("joblib", n_jobs=self.n_jobs, backend=self.backend)
        return get_executor(self.executor)

    def prepare(self) -> Prepared:
        """Deploy the fleet and materialise the batches (cached per process)."""
        return _prepare(self)


@dataclass
class Prepared:
    """A deployed fleet, its batches and holdout, and the executor to run on."""

    workload: Workload
    fleet: Fleet
    batches: list[Batch]
    holdout: tuple[np.ndarray, np.ndarray]
    executor: Executor

    def on(self, executor: Executor) -> Prepared:
        """The same fleet and batches on another executor (e.g. one bound to a cluster)."""
        return replace(self, executor=executor)

    def warm_up(self) -> None:
        """Start the executor's workers and import the loop in them (not timed)."""
        self.executor.warm_up()

    def run(self) -> UpdateReport:
        """The measured update."""
        w = self.workload
        return update_fleet(
            self.fleet, self.batches, self.holdout, strategy=w.strategy, order=w.order, executor=self.executor
        )


@functools.lru_cache(maxsize=8)
def _prepare(w: Workload) -> Prepared:
    task = w.task()
    fleet = Fleet.deploy(task, make_estimators(w.n_models, w.estimators))
    return Prepared(w, fleet, list(task.stream(w.n_batches)), task.holdout(w.n_batches), w.make_executor())
