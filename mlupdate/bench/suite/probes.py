"""Memory probes that see what asv's ``peakmem_`` cannot.

asv's ``peakmem_`` is the lifetime peak RSS of the benchmark process alone:
it includes imports and setup, and never sees joblib's worker processes.
:func:`tree_peak_rss` samples the whole process tree (psutil) while a
function runs; :func:`traced_heap_peak` reports the peak of Python and numpy
allocations (tracemalloc) during the call only.
"""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

from ...errors import MissingDependency

try:
    import psutil
except ImportError:  # pragma: no cover - the bench extra installs it
    raise MissingDependency("the memory probes need psutil: pip install 'mlupdate[bench]'") from None

__all__ = ["traced_heap_peak", "tree_peak_rss"]


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def tree_peak_rss(fn: Callable[[], Any], interval: float = 0.005) -> tuple[int, Any]:
    """Run ``fn()`` and return (peak summed RSS of this process and all its
    descendants, sampled every ``interval`` seconds, in bytes; fn's result)."""
    proc = psutil.Process()
    peak = _tree_rss(proc)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(interval):
            peak = max(peak, _tree_rss(proc))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    return max(peak, _tree_rss(proc)), result


def traced_heap_peak(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Run ``fn()`` under tracemalloc; return (peak traced bytes during the
    call, fn's result). numpy buffers are traced; worker processes are not."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak - base, result
