"""The mlupdate asv suite.

BLAS and OpenMP pools are pinned to one thread before anything else runs
(asv_runner imports numpy before the suite, so both the environment
variables, for processes started later, and threadpoolctl, for the pools
already loaded, are set). Executors then set their own per-worker limits.
"""

import os

BLAS_THREADS = 1
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = str(BLAS_THREADS)

from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(limits=BLAS_THREADS)
