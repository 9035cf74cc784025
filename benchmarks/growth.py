"""How the update's cost grows with models and batches."""

from .common import Workload, _Counted, _Timed, _TimedOnly

MODELS = [1, 2, 4, 8, 16]
BATCHES = [1, 2, 4, 8, 16]
JOBLIB_CELLS = {(m, n) for m in (2, 4, 8, 16) for n in (1, 4, 16)}


class GrowthGrid(_Timed):
    """Time and peak memory over n_models x n_batches, serial and joblib.

    Default order (model-major) and strategy (full), mixed Ridge/tree fleet,
    200 rows x 10 features per batch, 1000 history rows; joblib is loky with
    n_jobs=2, its pool started in setup. Every asv process of a joblib cell
    pays ~2 s of loky worker start-up, so joblib runs on a coarser sub-grid
    (``JOBLIB_CELLS``: n_models 2..16 x n_batches 1, 4, 16; the rest n/a).
    ``peakmem_update`` is skipped for joblib: asv's peakmem never sees the
    workers (see ``memory.ProcessTreeMemory.track_tree_peak_rss``).
    """

    params = [MODELS, BATCHES, ["serial", "joblib"]]
    param_names = ["n_models", "n_batches", "executor"]

    def workload(self, n_models, n_batches, executor):
        return Workload(n_models, n_batches, executor=executor)

    def time_update(self, *params):
        self.prepared.run()

    time_update.skip_params = [(m, n, "joblib") for m in MODELS for n in BATCHES if (m, n) not in JOBLIB_CELLS]

    def peakmem_update(self, *params):
        self.prepared.run()

    peakmem_update.skip_params = [(m, n, "joblib") for m in MODELS for n in BATCHES]


class QuadraticDiagonal(_Timed):
    """m = n = k: the quadratic growth as one line (x-axis k, log y-axis)."""

    params = [[1, 2, 4, 8, 16, 32]]
    param_names = ["k"]

    def workload(self, k):
        return Workload(k, k)


class GrowthCosts(_Counted):
    """Deterministic operation counts of the growth grid cells (equal to the plan)."""

    params = [[1, 4, 16], [1, 4, 16]]
    param_names = ["n_models", "n_batches"]

    def workload(self, n_models, n_batches):
        return Workload(n_models, n_batches)


class FusedGrowth(_Timed):
    """The fused executor on a ridge fleet: m geometric up to 1024, n up to 64.

    Batch-major order and the ``full`` retrain: per batch one preprocess, one
    matrix product for every model and one call of each metric; the retrain is
    one multi-target Ridge fit. The scaling page fits its exponents and unit
    costs like the per-model grids'.
    """

    params = [[1, 4, 16, 64, 256, 1024], [1, 4, 16, 64]]
    param_names = ["n_models", "n_batches"]

    def workload(self, n_models, n_batches):
        return Workload(n_models, n_batches, estimators="ridge", order="batch-major", executor="fused")


class MixedFusedGrowth(_TimedOnly):
    """The mixed fleet (Ridge and depth-6 trees) on fused: m geometric up to 1024, n up to 64.

    Batch-major order and the ``none`` strategy: what the fused executor changes, the m*n
    visits. The Ridge models are one product per block of batches; each tree predicts a
    block of batches in one call; every model's metrics come from one residual array. A
    ``full`` retrain would add m/2 scikit-learn tree fits, the same call on every executor
    (GrowthGrid and QuadraticDiagonal time them), and at m = 1024 minutes per cell.
    ``time_update`` only, on a sparser grid than FusedGrowth's: deploying 512 trees takes
    about 7 s in every asv process of an m = 1024 cell.
    """

    params = [[1, 16, 256, 1024], [1, 8, 64]]
    param_names = ["n_models", "n_batches"]

    def workload(self, n_models, n_batches):
        return Workload(n_models, n_batches, order="batch-major", strategy="none", executor="fused")


class FusedShards(_TimedOnly):
    """:class:`MixedFusedGrowth`'s update with the fleet in 2 column shards on 2 worker processes.

    The shards are balanced by each model's measured deploy cost; each batch is
    preprocessed once and sent once to each worker, with its shard's targets. The
    workers start in setup. Read against MixedFusedGrowth's cells of the same size (m 16 and 256).
    """

    params = [[16, 64, 256], [8, 64]]
    param_names = ["n_models", "n_batches"]

    def workload(self, n_models, n_batches):
        return Workload(n_models, n_batches, order="batch-major", strategy="none", executor="fused")

    def setup(self, *params) -> None:
        try:
            from mlupdate.executors import get_executor

            executor = get_executor("fused", n_jobs=2)
        except (ImportError, TypeError):  # a commit whose fused executor has no shards
            raise NotImplementedError("this commit's fused executor runs in one process only") from None
        self.prepared = self.workload(*params).prepare().on(executor)
        self.prepared.warm_up()
