"""Executors run one task per model: serially, or in parallel through joblib.

An executor maps a function over per-model work items and yields results as
they complete. Add one by subclassing :class:`Executor` and decorating it
with :func:`register_executor`; the update loop only uses :meth:`Executor.map`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar, TypeVar

import joblib
from joblib.parallel import BACKENDS, EXTERNAL_BACKENDS
from threadpoolctl import threadpool_limits

__all__ = ["EXECUTORS", "Executor", "ExecutorError", "get_executor", "register_executor"]

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS: dict[str, type[Executor]] = {}

#: Backends that run tasks in threads of this process (BLAS limits are
#: process-wide, so they are set once around the whole run).
THREAD_BACKENDS = ("threading", "sequential")


class ExecutorError(RuntimeError):
    """The executor lost work it had started (e.g. a worker process died)."""


def register_executor(cls: type[Executor]) -> type[Executor]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    EXECUTORS[cls.name] = cls
    return cls


def get_executor(name: str | Executor, **params: Any) -> Executor:
    """Return an executor instance from its registered name (or pass one through)."""
    if isinstance(name, Executor):
        return name
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; allowed: {', '.join(EXECUTORS)}")
    return EXECUTORS[name](**params)


def cpu_count() -> int:
    """Cores this process may use (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _with_blas_limit(fn: Callable[[T, Any], R], limit: int, item: T, shared: Any) -> R:
    """Run ``fn(item, shared)`` with BLAS/OpenMP pools capped at ``limit`` threads."""
    with threadpool_limits(limits=limit):
        return fn(item, shared)


class Executor(ABC):
    """Base class of executors.

    Parameters
    ----------
    blas_threads : int or None
        BLAS/OpenMP threads per worker. ``None``: cores // workers (at least
        1), so that workers x threads does not exceed the cores.
    """

    name: ClassVar[str]

    def __init__(self, blas_threads: int | None = None) -> None:
        if blas_threads is not None and (
            isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1
        ):
            raise ValueError(f"blas_threads={blas_threads!r} must be a whole number >= 1 or None")
        self._blas_threads = blas_threads

    @property
    @abstractmethod
    def n_workers(self) -> int:
        """How many tasks run at once."""

    @property
    def blas_threads(self) -> int:
        return self._blas_threads or max(1, cpu_count() // self.n_workers)

    def describe(self) -> dict[str, Any]:
        """What to record in a report: name, workers, thread limits."""
        return {"executor": self.name, "n_workers": self.n_workers, "blas_threads": self.blas_threads}

    def session(self) -> AbstractContextManager[Any]:
        """Context entered around a whole run (start/stop clusters, limits)."""
        return nullcontext()

    @abstractmethod
    def map(self, fn: Callable[[T, Any], R], items: Sequence[T], shared: Any = None) -> Iterator[R]:
        """Yield ``fn(item, shared)`` for every item, in completion order.

        ``shared`` is the same object for every call: executors send it to each
        worker once. ``fn`` must be importable (defined in :mod:`mlupdate`) for
        process-based executors. Raises :class:`ExecutorError` when work is lost.
        """


@register_executor
class SerialExecutor(Executor):
    """``serial``: one task after another in this process."""

    name = "serial"

    @property
    def n_workers(self) -> int:
        return 1

    def map(self, fn, items, shared=None):
        with threadpool_limits(limits=self.blas_threads):
            for item in items:
                yield fn(item, shared)


def _check_backend(backend: str) -> str:
    allowed = sorted(set(BACKENDS) | set(EXTERNAL_BACKENDS))
    if not isinstance(backend, str) or backend not in allowed:
        raise ValueError(f"unknown joblib backend {backend!r}; allowed: {', '.join(allowed)}")
    return backend


@register_executor
class JoblibExecutor(Executor):
    """``joblib``: tasks in parallel over models with :class:`joblib.Parallel`.

    Parameters
    ----------
    n_jobs : int, default=-1
        joblib semantics: ``-1`` all cores, ``-2`` all but one, ``k >= 1``
        exactly k workers. ``0`` is refused.
    backend : str, default="loky"
        Any joblib backend name: ``loky`` (processes), ``threading``,
        ``multiprocessing``, or ``dask`` once registered. Applied with
        :func:`joblib.parallel_config`.
    blas_threads : int or None
        See :class:`Executor`.
    scheduler : None, str or distributed.Client
        Only with ``backend="dask"``: a scheduler address (``tcp://HOST:PORT``)
        or a ``Client``; ``None`` starts a ``LocalCluster`` of ``n_jobs``
        workers (2 when ``n_jobs < 0``) for the run and closes it afterwards.
        The data every task reads is scattered to the workers once.
    """

    name = "joblib"

    def __init__(
        self, n_jobs: int = -1, backend: str = "loky", blas_threads: int | None = None, scheduler: Any = None
    ) -> None:
        super().__init__(blas_threads)
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
            raise ValueError(f"n_jobs={n_jobs!r} is not allowed; use -1 (all cores), -k (all but k-1) or k >= 1")
        self.n_jobs = n_jobs
        self.backend = _check_backend(backend)
        if scheduler is not None and backend != "dask":
            raise ValueError(f"a scheduler goes with backend 'dask', not {backend!r}")
        if backend == "dask":
            from .cluster import require_distributed

            require_distributed()
        self.scheduler = scheduler

    @property
    def n_workers(self) -> int:
        if self.backend == "dask":
            return self.n_jobs if self.n_jobs > 0 else 2
        with joblib.parallel_config(backend=self.backend):
            return max(1, joblib.effective_n_jobs(self.n_jobs))

    def describe(self) -> dict[str, Any]:
        info = {**super().describe(), "backend": self.backend, "n_jobs": self.n_jobs}
        if self.backend == "dask":
            info["scheduler"] = str(getattr(self.scheduler, "scheduler", self.scheduler) or "LocalCluster")
        return info

    def session(self) -> AbstractContextManager[Any]:
        if self.backend != "dask":
            return nullcontext()
        from .cluster import dask_client

        return dask_client(self.scheduler, self.n_workers)

    def _backend(self, shared: Any) -> Any:
        """The backend for ``parallel_config``; for dask, the shared data is scattered once."""
        if self.backend == "dask":
            from .cluster import dask_backend

            return dask_backend(scatter=[shared] if shared is not None else None)
        return self.backend

    def map(self, fn, items, shared=None):
        limit = self.blas_threads
        threads = self.backend in THREAD_BACKENDS
        outer = threadpool_limits(limits=limit) if threads else nullcontext()
        with outer, joblib.parallel_config(backend=self._backend(shared), n_jobs=self.n_jobs):
            try:
                parallel = joblib.Parallel(return_as="generator_unordered")
            except ValueError:  # e.g. multiprocessing: results all at once, at the end
                parallel = joblib.Parallel(return_as="list")
            if threads:
                calls = (joblib.delayed(fn)(item, shared) for item in items)
            else:
                calls = (joblib.delayed(_with_blas_limit)(fn, limit, item, shared) for item in items)
            try:
                yield from parallel(calls)
            except Exception as exc:  # tasks catch their own errors: this is infrastructure
                raise ExecutorError(f"a joblib worker died ({type(exc).__name__}): {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
