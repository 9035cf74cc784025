"""Executors run one task per model: serially, or in parallel through joblib.

An executor maps a function over per-model work items and yields results as
they complete. Add one by subclassing :class:`Executor` and decorating it
with :func:`register_executor`; the update loop only uses :meth:`Executor.map`.

A joblib backend that needs more than a name (a cluster to connect to, data
to scatter) gets a :class:`JoblibExecutor` subclass of its own, registered
with :func:`register_backend_executor` by the module that knows the backend:
``JoblibExecutor(backend="dask")`` is a :class:`mlupdate.cluster.DaskExecutor`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar, TypeVar

import joblib
from joblib.parallel import BACKENDS, EXTERNAL_BACKENDS
from threadpoolctl import threadpool_limits

from .errors import ExecutorError, unknown

__all__ = [
    "BACKEND_EXECUTORS",
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "get_executor",
    "register_backend_executor",
    "register_executor",
]

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS: dict[str, type[Executor]] = {}
#: joblib backend name -> the JoblibExecutor subclass that runs it.
BACKEND_EXECUTORS: dict[str, type[JoblibExecutor]] = {}

#: Backends that run tasks in threads of this process (BLAS limits are
#: process-wide, so they are set once around the whole run).
THREAD_BACKENDS = ("threading", "sequential")


def register_executor(cls: type[Executor]) -> type[Executor]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    EXECUTORS[cls.name] = cls
    return cls


def get_executor(name: str | Executor, **params: Any) -> Executor:
    """Return an executor instance from its registered name (or pass one through)."""
    if isinstance(name, Executor):
        return name
    if name not in EXECUTORS:
        raise unknown("executor", name, EXECUTORS)
    return EXECUTORS[name](**params)


def register_backend_executor(backend: str):
    """Class decorator: ``JoblibExecutor(backend=backend)`` builds this subclass."""

    def register(cls: type[JoblibExecutor]) -> type[JoblibExecutor]:
        BACKEND_EXECUTORS[backend] = cls
        return cls

    return register


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
        return self._blas_threads or max(1, joblib.cpu_count() // self.n_workers)

    def describe(self) -> dict[str, Any]:
        """What to record in a report: name, workers, thread limits."""
        return {"executor": self.name, "n_workers": self.n_workers, "blas_threads": self.blas_threads}

    def session(self) -> AbstractContextManager[Any]:
        """Context entered around a whole run (start/stop clusters, limits)."""
        return nullcontext()

    def warm_up(self) -> None:
        """Start the workers and import the update loop in them (a no-op in this process).

        A pool started once serves later runs (loky's reusable executor), so a
        caller can pay its start-up while it does other work, e.g. deploying.
        """
        if self.n_workers > 1:
            list(self.map(_import_package, list(range(2 * self.n_workers))))

    def streams(self, strategy: Any) -> bool:
        """Whether :meth:`map_stream` can run an update with this retrain strategy."""
        return False

    def map_stream(
        self, fn: Callable[[T, Any], R], items: Sequence[T], shared: Any, batches: Iterable[Any], order: str
    ) -> Iterator[R]:
        """:meth:`map` with the batches read once from an iterator and not kept (memory bounded in n).

        Only called when :meth:`streams` says so; ``shared.batches`` is empty.
        """
        raise NotImplementedError(f"executor {self.name!r} does not stream batches")

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
        raise unknown("joblib backend", backend, allowed)
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
        ``multiprocessing``, or ``dask`` (a :class:`mlupdate.cluster.DaskExecutor`,
        which also takes ``scheduler``). Applied with :func:`joblib.parallel_config`.
    blas_threads : int or None
        See :class:`Executor`.
    """

    name = "joblib"

    def __new__(cls, *args: Any, **kwargs: Any) -> JoblibExecutor:
        backend = kwargs.get("backend", args[1] if len(args) > 1 else "loky")
        special = BACKEND_EXECUTORS.get(backend) if isinstance(backend, str) else None
        if cls is JoblibExecutor and special is not None:
            return super().__new__(special)
        return super().__new__(cls)

    def __init__(
        self, n_jobs: int = -1, backend: str = "loky", blas_threads: int | None = None, scheduler: Any = None
    ) -> None:
        super().__init__(blas_threads)
        if scheduler is not None and type(self) is JoblibExecutor:
            raise ValueError(f"a scheduler goes with backend 'dask', not {backend!r}")
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
            raise ValueError(f"n_jobs={n_jobs!r} is not allowed; use -1 (all cores), -k (all but k-1) or k >= 1")
        self.n_jobs = n_jobs
        self.backend = _check_backend(backend)

    @property
    def n_workers(self) -> int:
        with joblib.parallel_config(backend=self.backend):
            return max(1, joblib.effective_n_jobs(self.n_jobs))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "backend": self.backend, "n_jobs": self.n_jobs}

    def _backend(self, shared: Any) -> Any:
        """What ``parallel_config`` gets as the backend (a subclass may build an object)."""
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


def _import_package(item: int, shared: object) -> int:
    """A task that does nothing: unpickling it in a worker imports ``mlupdate``, and with it
    the loop and scikit-learn, so the first real task does not pay for the imports."""
    return item


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
