"""The ``fused`` executor: the whole fleet's per-model work as few calls as is exact.

- Linear models (:mod:`.fused_linear`): m predictions on a batch are one product,
  their refits one multi-target fit per estimator and parameters.
- The others (:mod:`.fused_rows`): a row-wise model (:mod:`mlupdate.rowwise`)
  predicts a block of batches per call; every model's metrics come from one
  residual array per batch; refits stack the rows once and run on a thread per core.
- On K workers (``n_jobs``; ``backend="dask"`` for a cluster), the fleet is split
  into K column shards balanced by measured cost (:mod:`.fused_shards`); each
  batch is sent once to each worker, with its shard's targets.

Counts stay per model and batch, so the plan still equals the run;
``UpdateReport.fusion`` says what was fused and how each other model ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

from threadpoolctl import threadpool_limits

from ..errors import UsageError
from ..multifit import FUSED_FITS, fit_columns
from ..report import ModelResult
from ..strategies import RetrainStrategy
from ..task import ModelWork, SharedData, run_model
from .base import Executor
from .fused_linear import AFFINE_STEPS, linear_form, why_not_linear
from .fused_pass import FusedPass
from .fused_shards import DaskWorker, ShardRun, balance, process_workers, shard_costs
from .joblib import capped_n_jobs, check_n_jobs

__all__ = [
    "AFFINE_STEPS",
    "FUSED_BACKENDS",
    "FUSED_FITS",
    "FusedExecutor",
    "fit_columns",
    "linear_form",
    "why_not_linear",
]

#: Where the shards of ``n_jobs > 1`` run: worker processes of this machine, or a Dask cluster.
FUSED_BACKENDS = ("loky", "dask")


class FusedExecutor(Executor):
    """``fused``: the fleet as one fused pass over the batches, in this process or in K shards.

    Parameters
    ----------
    n_jobs : int, default=1
        Shards, one per worker: ``1`` runs in this process; ``k > 1`` (at most
        one per usable core, unless on a scheduler) or ``-1`` (all cores) split
        the fleet into column shards on worker processes. ``0`` is refused.
    backend : {"loky", "dask"}, default="loky"
        Where the shards run: worker processes of this machine, or a Dask cluster
        (``scheduler``, or a ``LocalCluster`` of ``n_jobs`` workers, 2 for ``-1``).
    blas_threads : int or None
        See :class:`Executor`; also the threads that refit the models that are not linear.
    scheduler : None, str or distributed.Client
        With ``backend="dask"``: see :class:`~mlupdate.executors.dask.DaskExecutor`.
    """

    name = "fused"

    def __init__(
        self, n_jobs: int = 1, backend: str = "loky", blas_threads: int | None = None, scheduler: Any = None
    ) -> None:
        super().__init__(blas_threads)
        if backend not in FUSED_BACKENDS:
            raise UsageError(f"fused backend {backend!r} is not allowed; use one of {', '.join(FUSED_BACKENDS)}")
        if scheduler is not None and backend != "dask":
            raise UsageError(f"a scheduler goes with backend 'dask', not {backend!r}")
        self.backend, self.scheduler = backend, scheduler
        n_jobs = check_n_jobs(n_jobs)
        self.n_jobs = n_jobs if backend == "dask" and scheduler is not None else capped_n_jobs(n_jobs)
        self._workers: list[Any] | None = None

    @property
    def n_workers(self) -> int:
        if self.n_jobs > 0:
            return self.n_jobs
        if self.backend == "dask":
            return 2
        import joblib

        return max(1, joblib.effective_n_jobs(self.n_jobs))

    def describe(self) -> dict[str, Any]:
        out = {**super().describe(), "n_jobs": self.n_jobs}
        return {**out, "backend": self.backend} if self.n_workers > 1 else out

    @property
    def reuses_workers(self) -> bool:
        """Shards on this machine's processes: started once (:meth:`warm_up`), kept for later runs."""
        return self.n_workers > 1 and self.backend == "loky"

    def warm_up(self) -> None:
        if self.reuses_workers:
            process_workers(self.n_workers)

    def session(self) -> AbstractContextManager[Any]:
        """With shards: the workers for the run (a Dask cluster is started for it and stopped after)."""
        return self._started() if self.n_workers > 1 else super().session()

    @contextmanager
    def _started(self) -> Iterator[None]:
        with ExitStack() as stack:
            if self.backend == "dask":
                from .dask import dask_client

                client = stack.enter_context(dask_client(self.scheduler, self.n_workers))
                client.wait_for_workers(1)
                addresses = sorted(client.scheduler_info()["workers"])
                self._workers = [DaskWorker(client, a) for a in (addresses * self.n_workers)[: self.n_workers]]
            else:
                self._workers = process_workers(self.n_workers)
            try:
                yield
            finally:
                self._workers = None

    def map(self, fn, items, shared=None) -> Iterator[Any]:
        if fn is not run_model or not isinstance(shared, SharedData):
            with threadpool_limits(limits=self.blas_threads):
                yield from (fn(item, shared) for item in items)
            return
        works = list(items)
        pre = shared.batches_pre if shared.batches_pre is not None else [None] * len(shared.batches)
        yield from self._run(
            works,
            shared,
            shared.batches,
            pre,
            "batch-major" if shared.batches_pre else "model-major",
            len(shared.batches),
            rerun=fn,
        )

    def streams(self, strategy: RetrainStrategy) -> bool:
        """A per-model strategy that refits (``full``, ``triggered``) or retrains nothing (``none``)
        streams: its retrain needs only what the fused pass gathers."""
        return strategy.per_model and (strategy.refit or not strategy.retrains)

    def map_stream(self, fn, items, shared, batches, order) -> Iterator[ModelResult]:
        """:meth:`map` over batches taken one at a time from an iterator and not kept.

        A failure of the linear models' fused path fails them (the stream cannot
        be read again to run them alone).
        """
        works = list(items)
        yield from self._run(works, shared, batches, _nones(), order, getattr(batches, "total", None) or 1)

    def _run(
        self,
        works: list[ModelWork],
        shared: SharedData,
        batches: Iterable,
        pre: Iterable,
        order: str,
        n_batches: int,
        rerun=None,
    ) -> list[ModelResult]:
        if self.n_workers > 1 and len(works) > 1:
            return self._sharded(works, shared, batches, pre, order, n_batches)
        with threadpool_limits(limits=self.blas_threads):
            fused = FusedPass(works, shared, order, self.blas_threads)
            for batch, X in zip(batches, pre, strict=False):
                fused.add(batch, X)
            results = fused.results()
            if rerun is not None and fused.error is not None:  # the batches are at hand: run those models alone
                results = self._alone(results, fused, rerun, shared)
            return results

    @staticmethod
    def _alone(results: list[ModelResult], fused: FusedPass, fn, shared: SharedData) -> list[ModelResult]:
        stage, message = fused.error
        reason = f"the fused path failed in {stage} ({message}); ran alone"
        linear = {w.model.index: w for w in fused.linear.works}
        out = []
        for res in results:
            if res.index in linear:
                res = fn(linear[res.index], shared)
                res.fallback = reason
            out.append(res)
        return out

    def _sharded(self, works, shared, batches, pre, order, n_batches) -> list[ModelResult]:
        strategy = works[0].strategy
        linear = [why_not_linear(w.model.estimator) is None for w in works]
        shards = balance(shard_costs(works, strategy, n_batches), linear, min(self.n_workers, len(works)))
        if self._workers is None:
            with self._started():
                return self._sharded(works, shared, batches, pre, order, n_batches)
        run = ShardRun(works, shared, order, shards, self._workers[: len(shards)], self.blas_threads)
        return run.run(batches, pre)


def _nones() -> Iterator[None]:
    while True:
        yield None
