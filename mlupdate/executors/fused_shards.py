"""The fused executor on K workers: the fleet split into K column shards, one fused pass each.

The parent reads each batch once, preprocesses it once (batch-major), and
sends it to every worker once, with only that worker's target columns. Each
worker keeps its own :class:`~mlupdate.executors.fused_pass.FusedPass` between
calls: a worker process of its own (started with :func:`~.base.watch_parent`,
so that it ends with the command), or a Dask worker, tasks pinned to it.

Shards are balanced by measured cost (:func:`shard_costs`, :func:`balance`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np
from joblib.externals.loky.process_executor import ProcessPoolExecutor
from threadpoolctl import threadpool_limits

from ..batches import Batch
from ..errors import ExecutorError, first_line
from ..report import Failure, ModelResult, StageRecorder
from ..strategies import RetrainStrategy
from ..task import ModelWork, SharedData
from .base import watch_parent
from .fused_linear import column_of, why_not_linear
from .fused_pass import FusedPass

__all__ = ["BLOCK_BATCHES", "DaskWorker", "ShardRun", "balance", "process_workers", "shard_costs"]

#: Batches sent to the workers per message (bounded, so memory stays flat in n).
BLOCK_BATCHES = 8

_PASSES: dict[str, FusedPass] = {}  # a worker's passes, by run token


def _open(token: str, works: list[ModelWork], shared: SharedData, order: str, threads: int) -> None:
    _PASSES[token] = FusedPass(works, shared, order, threads)


def _add(token: str, block: list[tuple[Batch, np.ndarray | None]], threads: int) -> None:
    with threadpool_limits(limits=threads):
        for batch, X in block:
            _PASSES[token].add(batch, X)


def _finish(token: str, threads: int) -> list[ModelResult]:
    with threadpool_limits(limits=threads):
        return _PASSES.pop(token).results()


def shard_costs(works: Sequence[ModelWork], strategy: RetrainStrategy, n_batches: int) -> list[float]:
    """Each model's measured cost: its deploy predict time per batch times ``n_batches``, plus its
    deploy fit time when the strategy refits. A linear model's cost is its share of one fused
    product, so it is left at 0 here: :func:`balance` deals the linear models out evenly."""
    out = []
    for work in works:
        model = work.model
        if why_not_linear(model.estimator) is None:
            out.append(0.0)
        else:
            out.append(model.predict_seconds * n_batches + (model.fit_seconds if strategy.refit else 0.0))
    return out


def balance(costs: Sequence[float], linear: Sequence[bool], k: int) -> list[list[int]]:
    """``k`` shards of positions: the costly models by longest-first to the least loaded shard, the
    linear ones dealt out in contiguous runs of equal size (their targets then stay a view)."""
    shards: list[list[int]] = [[] for _ in range(k)]
    load = [0.0] * k
    for i in sorted((i for i in range(len(costs)) if not linear[i]), key=lambda i: -costs[i]):
        s = min(range(k), key=lambda s: (load[s], len(shards[s])))
        shards[s].append(i)
        load[s] += costs[i]
    lin = [i for i in range(len(costs)) if linear[i]]
    for s, part in enumerate(np.array_split(np.array(lin, dtype=int), k)):
        shards[s] += part.tolist()
    return [sorted(s) for s in shards if s]


class _ProcessWorker:
    """A worker process of its own: it keeps its pass between calls, and serves later runs
    (:func:`process_workers`) until it breaks or this process ends."""

    def __init__(self) -> None:
        # loky's executor: a fresh interpreter that does not re-run the parent's __main__ (spawn
        # would, and cannot from stdin or a notebook), and a worker's death raises at once
        self.pool = ProcessPoolExecutor(1, initializer=watch_parent, initargs=(os.getpid(),))

    def submit(self, fn: Callable, *args: Any) -> Future:
        return self.pool.submit(fn, *args)

    @property
    def broken(self) -> bool:
        return bool(getattr(getattr(self.pool, "_flags", None), "broken", False))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_process_workers: list[_ProcessWorker] = []


def process_workers(k: int) -> list[_ProcessWorker]:
    """``k`` worker processes of this machine, started on first use and kept for later runs (as
    loky keeps its reusable executor); a broken one is replaced. Each imports the package at once."""
    _process_workers[:] = [w for w in _process_workers if not w.broken]
    started = [_ProcessWorker() for _ in range(k - len(_process_workers))]
    for future in [w.submit(_ready) for w in started]:
        future.result()
    _process_workers.extend(started)
    return _process_workers[:k]


def _ready() -> bool:
    """A task that does nothing: the worker has imported the package (and scikit-learn) once it returns."""
    return True


def drop(token: str) -> None:
    """Forget a run's pass (a run that failed in between)."""
    _PASSES.pop(token, None)


class DaskWorker:
    """One worker of a Dask cluster, every task of the run pinned to it, each after the one before."""

    def __init__(self, client: Any, address: str) -> None:
        self.client, self.address, self.last = client, address, None

    def submit(self, fn: Callable, *args: Any) -> Any:
        future = self.client.submit(
            _after, fn, self.last, *args, workers=[self.address], allow_other_workers=False, pure=False
        )
        self.last = future
        return _DaskResult(self.client, self.address, future)

    def close(self) -> None:
        self.last = None


def _after(fn: Callable, previous: Any, *args: Any) -> Any:
    """``fn(*args)``, run once the previous task of the same worker is done (``previous``)."""
    return fn(*args)


class _DaskResult:
    def __init__(self, client: Any, address: str, future: Any) -> None:
        self.client, self.address, self.future = client, address, future

    def result(self) -> Any:
        while True:
            try:
                return self.future.result(timeout=1.0)
            except TimeoutError:
                if self.address not in self.client.scheduler_info()["workers"]:
                    raise ExecutorError(f"the dask worker {self.address} was lost") from None


class ShardRun:
    """One update on ``k`` workers: open a pass per shard, send the batches, gather the results.

    ``workers``: objects with ``submit(fn, *args)`` (a future) and ``close()``.
    """

    def __init__(
        self,
        works: Sequence[ModelWork],
        shared: SharedData,
        order: str,
        shards: list[list[int]],
        workers: list[Any],
        threads: int,
    ) -> None:
        self.token, self.order, self.threads = uuid.uuid4().hex, order, threads
        self.shared, self.workers = shared, workers
        self.works = [[works[i] for i in shard] for shard in shards]
        self.cols = [[column_of(w) for w in shard] for shard in self.works]
        self.stages = StageRecorder()  # the batch-major preprocessing, in the parent
        self.pending: list[Any] = []
        for worker, shard, cols in zip(workers, self.works, self.cols, strict=True):
            local = [ModelWork(w.model, w.strategy, k) for k, w in enumerate(shard)]
            sub = SharedData(
                shared.preprocessor,
                [],
                None,
                shared.X_history,
                shared.Y_history[:, cols],
                shared.X_holdout_pre,
                shared.Y_holdout[:, cols],
            )
            self.pending.append(worker.submit(_open, self.token, local, sub, order, threads))

    def run(self, batches: Iterable[Batch], pre: Iterable[np.ndarray | None]) -> list[ModelResult]:
        """Send every batch (with its preprocessed rows, or None), then return every model's result.
        A worker that dies fails every model (stage ``worker``); any other error is raised, once the
        workers have forgotten the run."""
        try:
            return self._run(batches, pre)
        except ExecutorError as exc:
            return self.failed(str(exc))
        except BaseException:
            for worker in self.workers:
                try:
                    worker.submit(drop, self.token)
                except Exception:  # noqa: BLE001 - a worker already gone has nothing to forget
                    pass
            raise

    def _run(self, batches: Iterable[Batch], pre: Iterable[np.ndarray | None]) -> list[ModelResult]:
        block: list[tuple[Batch, np.ndarray | None]] = []
        for batch, X in zip(batches, pre, strict=False):
            if X is None and self.order == "batch-major":
                X = self.stages.call("preprocess", self.shared.preprocessor.transform, batch.X)
            block.append((batch, X))
            if len(block) == BLOCK_BATCHES:
                self._send(block)
                block = []
        if block:
            self._send(block)
        self._wait()
        finals = [worker.submit(_finish, self.token, self.threads) for worker in self.workers]
        out = [res for future in finals for res in self._result(future)]
        out[0].stages.merge(self.stages)
        return out

    def _send(self, block: list[tuple[Batch, np.ndarray | None]]) -> None:
        self._wait()  # at most one block in flight per worker
        for worker, cols in zip(self.workers, self.cols, strict=True):
            part = [(Batch(b.index, None if X is not None else b.X, b.y[:, cols]), X) for b, X in block]
            self.pending.append(worker.submit(_add, self.token, part, self.threads))

    def _wait(self) -> None:
        pending, self.pending = self.pending, []
        for future in pending:
            self._result(future)

    @staticmethod
    def _result(future: Any) -> Any:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise ExecutorError(f"a fused shard's worker died: {first_line(exc)}") from exc

    def failed(self, message: str) -> list[ModelResult]:
        """Every model lost, when a worker died."""
        return [
            ModelResult(index=w.model.index, failure=Failure(w.model.index, w.model.name, "worker", message))
            for shard in self.works
            for w in shard
        ]
