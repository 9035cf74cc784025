"""Scale-out: one fleet on serial, joblib/loky and joblib/dask, two workers each."""

from .common import Workload, _OnDask

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
    # asv's version of a benchmark is a hash of its code and its setups'. When the
    # instruments moved to mlupdate.bench, _OnDask.setup's imports moved with them
    # and nothing it measures changed: the version stays the one its results have.
    version = "c4309f313ad02f3804b5678c5dfa4c5d858401e3ddafbc42e9e17a6d495bd399"

    def workload(self, n_models, executor):
        if executor == "serial":
            return Workload(n_models, 8, rows_per_batch=1000)
        return Workload(n_models, 8, rows_per_batch=1000, executor="joblib", backend=executor)
