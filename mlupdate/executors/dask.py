"""The ``joblib`` executor on joblib's ``dask`` backend, and the clusters it runs on.

joblib's own dask backend does the scheduling; :class:`DaskExecutor` connects
to a scheduler (or starts a local cluster) for the length of a run and
scatters the data every task reads once. ``get_executor("joblib",
backend="dask")`` builds one.
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ..errors import ExecutorError, MissingDependency, UsageTypeError
from .joblib import JoblibExecutor

__all__ = [
    "CONNECT_TIMEOUT",
    "PATCHED_JOBLIB",
    "DaskExecutor",
    "dask_backend",
    "dask_client",
    "local_cluster",
    "require_distributed",
]

#: Seconds to wait for an existing scheduler before giving up.
CONNECT_TIMEOUT = 10.0


def require_distributed() -> Any:
    """Import ``distributed`` or say how to install it."""
    try:
        import distributed
    except ImportError:
        raise MissingDependency("the dask backend needs dask.distributed: pip install 'mlupdate[dask]'") from None
    return distributed


def local_cluster(n_workers: int = 2) -> Any:
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes on 127.0.0.1
    (no dashboard). Use it as a context manager, or close it."""
    distributed = require_distributed()
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )


@contextmanager
def dask_client(scheduler: Any = None, n_workers: int = 2, timeout: float | None = None) -> Iterator[Any]:
    """Yield a ``distributed.Client`` for a run.

    Parameters
    ----------
    scheduler : None, str or distributed.Client
        ``None``: start a ``LocalCluster`` of ``n_workers`` single-threaded
        worker processes on 127.0.0.1 and close it afterwards. A string: the
        address of a running scheduler (``tcp://HOST:PORT``), connected to
        within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`). A
        ``Client``: used as is, left open.
    """
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    distributed = require_distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler is None:
        with local_cluster(n_workers) as cluster, distributed.Client(cluster) as client:
            yield client
        return
    if not isinstance(scheduler, str):
        raise UsageTypeError(f"scheduler={scheduler!r} must be None, an address string or a distributed.Client")
    try:
        client = distributed.Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(f"could not reach the dask scheduler at {scheduler} within {timeout:g} s ({exc})") from None
    with client:
        yield client


#: joblib versions whose ``DaskDistributedBackend._collect`` the patch below replaces.
PATCHED_JOBLIB = ("1.6",)


def dask_backend(scatter: list[Any] | None = None) -> Any:
    """joblib's dask backend, for the client of the current run, with lost work reported.

    joblib 1.6's ``DaskDistributedBackend`` sets the exception of a task whose
    future errored (``KilledWorker``: every worker that ran it died) but never
    calls joblib's completion callback for it, so ``Parallel`` waits for that
    task forever. The subclass used here calls the callback with the exception:
    joblib records the task as failed and ``Parallel`` raises, as it does for loky.

    The patch replaces a private method, so it is applied only to the joblib
    versions in :data:`PATCHED_JOBLIB`; any other version gets joblib's own
    backend and a warning that a lost worker may stall the run.
    """
    return _lost_work_aware_backend()(scatter=scatter)


@functools.cache
def _lost_work_aware_backend() -> type:
    require_distributed()
    import joblib
    from joblib._dask import DaskDistributedBackend

    if not joblib.__version__.startswith(tuple(v + "." for v in PATCHED_JOBLIB)):
        warnings.warn(
            f"joblib {joblib.__version__} is not one the dask lost-worker patch was tested on "
            f"({', '.join(PATCHED_JOBLIB)}.x): using joblib's own dask backend, where a task whose "
            "workers all died may leave the run waiting",
            RuntimeWarning,
            stacklevel=3,
        )
        return DaskDistributedBackend

    class LostWorkAwareDaskBackend(DaskDistributedBackend):
        async def _collect(self) -> None:
            while self._continue:
                async for future, result in self.waiting_futures:
                    cf_future = self._results.pop(future)
                    callback = self._callbacks.pop(future)
                    if future.status == "error":
                        _, exc, _ = result
                        cf_future.set_exception(exc)
                        callback(exc)  # the fix: joblib marks the task failed instead of pending
                    else:
                        cf_future.set_result(result)
                        callback(result)
                await asyncio.sleep(0.01)

    return LostWorkAwareDaskBackend


class DaskExecutor(JoblibExecutor):
    """``joblib`` with ``backend="dask"``: tasks on a Dask cluster.

    Parameters
    ----------
    n_jobs : int, default=-1
        Workers of the ``LocalCluster`` started when ``scheduler`` is ``None``
        (2 when ``n_jobs < 0``, at most one per usable core); with a
        scheduler, joblib's ``n_jobs``.
    backend : str
        ``"dask"``.
    blas_threads : int or None
        See :class:`~mlupdate.executors.Executor`.
    scheduler : None, str or distributed.Client
        A scheduler address (``tcp://HOST:PORT``) or a ``Client``; ``None``
        starts a ``LocalCluster`` for the run and closes it afterwards.
    """

    def __init__(
        self, n_jobs: int = -1, backend: str = "dask", blas_threads: int | None = None, scheduler: Any = None
    ) -> None:
        require_distributed()
        self.scheduler = scheduler  # set first: whether the workers are local depends on it
        super().__init__(n_jobs, backend, blas_threads)  # the scheduler is this class's own parameter

    @property
    def local(self) -> bool:
        """A ``LocalCluster`` started for the run is on this machine; a scheduler's workers are not."""
        return self.scheduler is None

    @property
    def n_workers(self) -> int:
        return self.n_jobs if self.n_jobs > 0 else 2

    def describe(self) -> dict[str, Any]:
        scheduler = str(getattr(self.scheduler, "scheduler", self.scheduler) or "LocalCluster")
        return {**super().describe(), "scheduler": scheduler}

    def session(self) -> AbstractContextManager[Any]:
        return dask_client(self.scheduler, self.n_workers)

    def _backend(self, shared: Any) -> Any:
        return dask_backend(scatter=[shared] if shared is not None else None)
