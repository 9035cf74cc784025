"""Memory that asv's peakmem_ cannot see, and the parallel speedup."""

from .common import Workload, _Measured, _SpeedupMeasured


class ProcessTreeMemory(_Measured):
    """Whole-tree peak RSS (parent + joblib workers) and traced heap peak of the loop."""

    params = [[16], ["serial", "joblib"]]
    param_names = ["n_models", "executor"]

    def workload(self, n_models, executor):
        return Workload(n_models, 8, executor=executor)


class ParallelEfficiency(_SpeedupMeasured):
    """joblib (loky, n_jobs=2) against serial on the same fleet, in one process."""

    params = [[8]]
    param_names = ["n_models"]

    def workload(self, n_models):
        return Workload(n_models, 8, executor="joblib", rows_per_batch=1000)
