"""The ``joblib`` executor: tasks in parallel over models with :class:`joblib.Parallel`."""

from __future__ import annotations

import os
import warnings
from contextlib import nullcontext
from typing import Any

import joblib
from joblib.parallel import BACKENDS, EXTERNAL_BACKENDS
from threadpoolctl import threadpool_limits

from ..errors import ExecutorError, UsageError, first_line, unknown
from .base import BACKEND_EXECUTORS, Executor, _with_blas_limit, watch_parent

__all__ = ["THREAD_BACKENDS", "JoblibExecutor", "capped_n_jobs", "check_n_jobs"]

#: Backends that run tasks in threads of this process (BLAS limits are
#: process-wide, so they are set once around the whole run).
THREAD_BACKENDS = ("threading", "sequential")


def check_n_jobs(n_jobs: object) -> int:
    """``n_jobs`` as joblib takes it (``-1``, ``-k`` or ``k >= 1``); ``0`` and non-integers are refused."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise UsageError(f"n_jobs={n_jobs!r} is not allowed; use -1 (all cores), -k (all but k-1) or k >= 1")
    return n_jobs


def capped_n_jobs(n_jobs: int) -> int:
    """``n_jobs`` workers of this machine, at most one per usable core.

    More workers than cores only compete for them, and an unbounded count
    starts unbounded processes (1,000 loky workers filled 24 GB here), so a
    larger ``n_jobs`` is capped with a ``RuntimeWarning`` naming both numbers.
    Negative ``n_jobs`` (all cores, all but k-1) are within the cores already.
    """
    cores = joblib.cpu_count()
    if n_jobs > cores:
        warnings.warn(f"n_jobs={n_jobs} is more than the {cores} usable cores: using {cores}", RuntimeWarning, 2)
        return cores
    return n_jobs


def _check_backend(backend: str) -> str:
    allowed = sorted(set(BACKENDS) | set(EXTERNAL_BACKENDS))
    if not isinstance(backend, str) or backend not in allowed:
        raise unknown("joblib backend", backend, allowed)
    return backend


class JoblibExecutor(Executor):
    """``joblib``: tasks in parallel over models with :class:`joblib.Parallel`.

    Parameters
    ----------
    n_jobs : int, default=-1
        joblib semantics: ``-1`` all cores, ``-2`` all but one, ``k >= 1``
        exactly k workers, at most one per usable core (a larger k is capped,
        with a warning). ``0`` is refused.
    backend : str, default="loky"
        Any joblib backend name: ``loky`` (processes), ``threading`` or
        ``multiprocessing``, applied with :func:`joblib.parallel_config`. For
        ``dask``, ``get_executor("joblib", backend="dask")`` builds a
        :class:`~mlupdate.executors.dask.DaskExecutor`, which also takes ``scheduler``.
    blas_threads : int or None
        See :class:`Executor`.
    """

    name = "joblib"

    def __init__(
        self, n_jobs: int = -1, backend: str = "loky", blas_threads: int | None = None, scheduler: Any = None
    ) -> None:
        super().__init__(blas_threads)
        if scheduler is not None:
            raise UsageError(f"a scheduler goes with backend 'dask', not {backend!r}")
        self.backend = _check_backend(backend)
        self.n_jobs = capped_n_jobs(check_n_jobs(n_jobs)) if self.local else check_n_jobs(n_jobs)
        if type(self) is JoblibExecutor and backend in BACKEND_EXECUTORS:
            raise UsageError(
                f"backend {backend!r} has an executor of its own: get_executor('joblib', backend={backend!r})"
            )

    @property
    def local(self) -> bool:
        """Whether the workers run on this machine (their count is then capped at its cores)."""
        return True

    @property
    def n_workers(self) -> int:
        with joblib.parallel_config(backend=self.backend):
            return max(1, joblib.effective_n_jobs(self.n_jobs))

    @property
    def reuses_workers(self) -> bool:  # loky's reusable executor outlives the call that started it
        return self.backend == "loky"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "backend": self.backend, "n_jobs": self.n_jobs}

    def _backend(self, shared: Any) -> Any:
        """What ``parallel_config`` gets as the backend (a subclass may build an object)."""
        return self.backend

    def _pool_params(self) -> dict[str, Any]:
        """A pool this process starts ends with it: each worker watches its parent (:func:`watch_parent`)."""
        if self.backend in ("loky", "multiprocessing"):
            return {"initializer": watch_parent, "initargs": (os.getpid(),)}
        return {}

    def map(self, fn, items, shared=None):
        limit = self.blas_threads
        threads = self.backend in THREAD_BACKENDS
        outer = threadpool_limits(limits=limit) if threads else nullcontext()
        with outer, joblib.parallel_config(backend=self._backend(shared), n_jobs=self.n_jobs, **self._pool_params()):
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
                raise ExecutorError(f"a joblib worker died ({type(exc).__name__}): {first_line(exc)}") from exc
