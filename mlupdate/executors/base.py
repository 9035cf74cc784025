"""The executor contract and the registry of executors by name.

An executor maps a function over per-model work items and yields results as
they complete. Add one by subclassing :class:`Executor` and registering it
with :func:`register_executor`; the update loop only uses :meth:`Executor.map`
(and :meth:`Executor.map_stream` where :meth:`Executor.streams` says so).

A joblib backend that needs more than a name (a cluster to connect to, data
to scatter) gets a subclass of the ``joblib`` executor, registered with
:func:`register_backend_executor`: ``get_executor("joblib", backend="dask")``
builds a :class:`mlupdate.executors.dask.DaskExecutor`.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, ClassVar, TypeVar

import joblib
from threadpoolctl import threadpool_limits

from ..errors import UsageError, unknown

__all__ = [
    "BACKEND_EXECUTORS",
    "EXECUTORS",
    "Executor",
    "get_executor",
    "register_backend_executor",
    "register_executor",
]

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS: dict[str, type[Executor]] = {}
#: joblib backend name -> the subclass of the ``joblib`` executor that runs it.
BACKEND_EXECUTORS: dict[str, type[Executor]] = {}


def register_executor(cls: type[Executor]) -> type[Executor]:
    """Make ``cls`` available under ``cls.name`` (usable as a class decorator)."""
    EXECUTORS[cls.name] = cls
    return cls


def register_backend_executor(backend: str) -> Callable[[type[Executor]], type[Executor]]:
    """``register_backend_executor(backend)(cls)``: ``get_executor(cls.name, backend=backend)`` builds ``cls``."""

    def register(cls: type[Executor]) -> type[Executor]:
        BACKEND_EXECUTORS[backend] = cls
        return cls

    return register


def get_executor(name: str | Executor, **params: Any) -> Executor:
    """An executor instance from its registered name and parameters (an instance passes through).

    ``backend`` chooses the class too: a backend registered with
    :func:`register_backend_executor` gets its own subclass of the named executor.
    """
    if isinstance(name, Executor):
        return name
    if not isinstance(name, str) or name not in EXECUTORS:
        raise unknown("executor", name, EXECUTORS)
    cls = EXECUTORS[name]
    special = BACKEND_EXECUTORS.get(params["backend"]) if isinstance(params.get("backend"), str) else None
    if special is not None and issubclass(special, cls):
        cls = special
    return cls(**params)


#: Environment variables that cap the BLAS/OpenMP pools of a process.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def environment_threads() -> int | None:
    """The smallest thread limit the environment sets (``OMP_NUM_THREADS`` ...), or None."""
    limits = []
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            limits.append(int(value))
    return min(limits) if limits else None


_watching: list[int] = []  # the parent pid this worker process watches, once it does


def watch_parent(parent: int, poll: float = 0.5) -> None:
    """End this worker process when ``parent``, the process that started it, is gone (killed,
    even by SIGKILL): a pool's initializer.

    A pool's worker processes do not notice their parent's death while they wait for work or
    compute: a killed ``mlupdate run`` would leave them running until loky's idle timeout, or for
    good while they compute. A daemon thread checks every ``poll`` seconds and ends the process
    once it has been re-parented. Started once per process.
    """
    if _watching:
        return
    _watching.append(parent)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, name="mlupdate-parent-watch", daemon=True).start()


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
            raise UsageError(f"blas_threads={blas_threads!r} must be a whole number >= 1 or None")
        self._blas_threads = blas_threads

    @property
    @abstractmethod
    def n_workers(self) -> int:
        """How many tasks run at once."""

    @property
    def blas_threads(self) -> int:
        """Threads per worker: the ``blas_threads`` given, else cores // workers, never above a
        limit the environment sets (``OMP_NUM_THREADS`` and its kin), which the pools obey."""
        share = max(1, joblib.cpu_count() // self.n_workers)
        return self._blas_threads or min(share, environment_threads() or share)

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

    @property
    def reuses_workers(self) -> bool:
        """Whether the workers started by :meth:`warm_up` outlive it and serve the next run."""
        return False

    @contextmanager
    def warming(self) -> Iterator[None]:
        """Start the workers in a thread while the block runs (e.g. while a fleet deploys).

        Only for an executor whose workers outlive :meth:`warm_up`; otherwise a no-op.
        """
        if not self.reuses_workers or self.n_workers < 2:
            yield
            return
        thread = threading.Thread(target=self.warm_up, daemon=True)
        thread.start()
        try:
            yield
        finally:
            thread.join()

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
        process-based executors. Raises :class:`~mlupdate.errors.ExecutorError`
        when work is lost.
        """


def _import_package(item: int, shared: object) -> int:
    """A task that does nothing: unpickling it in a worker imports ``mlupdate``, and with it
    the loop and scikit-learn, so the first real task does not pay for the imports."""
    return item
