"""Executors, registered by name: ``serial``, ``joblib`` (loky, threading, ..., and dask) and ``fused``.

Each executor is a file of this package; :mod:`.base` holds the contract
(:class:`Executor`) and the registry. The package's own executors are
registered here, explicitly; add yours with :func:`register_executor`.
"""

from .base import BACKEND_EXECUTORS, EXECUTORS, Executor, get_executor, register_backend_executor, register_executor
from .dask import DaskExecutor
from .fused import FusedExecutor
from .joblib import JoblibExecutor
from .serial import SerialExecutor

__all__ = [
    "BACKEND_EXECUTORS",
    "EXECUTORS",
    "DaskExecutor",
    "Executor",
    "FusedExecutor",
    "JoblibExecutor",
    "SerialExecutor",
    "get_executor",
    "register_backend_executor",
    "register_executor",
]

for _executor in (SerialExecutor, JoblibExecutor, FusedExecutor):
    register_executor(_executor)
register_backend_executor("dask")(DaskExecutor)
