"""Scale-out: one fleet on serial, joblib/loky and joblib/dask, two workers each."""

from mlupdate.workloads import Workload

from .common import _OnDask

EXECUTORS = ["serial", "loky", "dask"]


class ScaleOut(_OnDask):
    """The same update (m = 8, n = 8, 1000 rows per batch, full retrain) per executor.

    ``loky`` and ``dask`` are joblib backends with n_jobs=2; ``dask`` runs on a
    LocalCluster of 2 single-threaded worker processes kept for the process,
    so the figure is the update, not the cluster start. Read the cells as
    ratios: dask/serial and dask/loky, from the same asv run.
    """

    params = [[8], EXECUTORS]
    param_names = ["n_models", "executor"]

    def workload(self, n_models, executor):
        if executor == "serial":
            return Workload(n_models, 8, rows_per_batch=1000)
        return Workload(n_models, 8, rows_per_batch=1000, executor="joblib", backend=executor)
