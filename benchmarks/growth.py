"""How the update's cost grows with models and batches."""

from mlupdate.workloads import Workload

from .common import Counted, Timed

MODELS = [1, 2, 4, 8, 16]
BATCHES = [1, 2, 4, 8, 16]


class GrowthGrid(Timed):
    """Time and peak memory over n_models x n_batches, serial and joblib.

    Default order (model-major) and strategy (full), mixed Ridge/tree fleet,
    200 rows x 10 features per batch, 1000 history rows.
    """

    params = [MODELS, BATCHES, ["serial", "joblib"]]
    param_names = ["n_models", "n_batches", "executor"]

    def workload(self, n_models, n_batches, executor):
        return Workload(n_models, n_batches, executor=executor)


class QuadraticDiagonal(Timed):
    """m = n = k: the quadratic growth as one line (x-axis k, log y-axis)."""

    params = [[1, 2, 4, 8, 16, 32]]
    param_names = ["k"]

    def workload(self, k):
        return Workload(k, k)


class GrowthCosts(Counted):
    """Deterministic operation counts of the growth grid cells (equal to the plan)."""

    params = [MODELS, BATCHES]
    param_names = ["n_models", "n_batches"]

    def workload(self, n_models, n_batches):
        return Workload(n_models, n_batches)
