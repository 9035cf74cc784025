"""The mlupdate asv suite.

BLAS and OpenMP pools are pinned to one thread before anything else runs
(asv_runner imports numpy before the suite, so both the environment
variables, for processes started later, and threadpoolctl, for the pools
already loaded, are set). Executors then set their own per-worker limits.

Every benchmark process maps all of its shared libraries right after asv's
forkserver forks it (:func:`map_file_pages`). asv's ``peakmem_`` is the
process's peak RSS, and its file-backed part otherwise depends on the state of
the page cache: the kernel maps the cached neighbours of each library page a
process touches, and how many there are depends on how the file got into the
cache. Measured here on the same code, every peakmem cell read 117M with the
libraries freshly written by pip and 104M after the cache had been dropped
and refilled by reading. With every page mapped, that part is the full size of
the mappings, the same in every run.
"""

import ctypes
import os

BLAS_THREADS = 1
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = str(BLAS_THREADS)

from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(limits=BLAS_THREADS)

MADV_POPULATE_READ = 22  # Linux >= 5.14


def map_file_pages() -> int:
    """Map every page of this process's file-backed mappings; return the bytes populated.

    Linux only (``/proc/self/maps`` and ``madvise(MADV_POPULATE_READ)``); a
    no-op elsewhere or where the kernel refuses.
    """
    try:
        maps = open("/proc/self/maps").read().splitlines()
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    total = 0
    for line in maps:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].startswith("/") or "r" not in fields[1]:
            continue  # anonymous, [heap], [stack], or unreadable
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if madvise(start, end - start, MADV_POPULATE_READ) == 0:
            total += end - start
    return total


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=map_file_pages)
