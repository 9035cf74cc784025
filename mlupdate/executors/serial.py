"""The ``serial`` executor: one task after another in this process."""

from __future__ import annotations

from threadpoolctl import threadpool_limits

from .base import Executor

__all__ = ["SerialExecutor"]


class SerialExecutor(Executor):
    """``serial``: one task after another in this process.

    Parameters
    ----------
    blas_threads : int or None
        BLAS threads for the tasks (default: all cores).
    """

    name = "serial"

    @property
    def n_workers(self) -> int:
        return 1

    def map(self, fn, items, shared=None):
        with threadpool_limits(limits=self.blas_threads):
            for item in items:
                yield fn(item, shared)
