"""Retrain strategies and loop orders: a commit that changes one moves only its series."""

from .common import Workload, _QualityMeasured, _Timed, _TimedOnly, _TrainingTimed

STRATEGIES = ["none", "full", "shared", "incremental", "triggered"]
ORDERS = ["model-major", "batch-major"]
#: Estimators each strategy applies to: ``incremental`` needs partial_fit
#: (SGD); the rest share one multi-output-capable estimator (Ridge).
ESTIMATORS = {"incremental": "sgd"}
#: The strategies whose growth exponents differ, on a grid the scaling fit can use.
GROWTH_STRATEGIES = ["full", "shared", "incremental"]


def strategy_workload(strategy, order, n_models, n_batches=8):
    """Half the targets drift, so ``triggered`` has something to do."""
    return Workload(
        n_models,
        n_batches,
        estimators=ESTIMATORS.get(strategy, "ridge"),
        order=order,
        strategy=strategy,
        drift=2.0,
    )


class StrategiesOrders(_Timed):
    """Time and peak memory per retrain strategy and loop order over n_models (n = 8)."""

    params = [STRATEGIES, ORDERS, [4, 16]]
    param_names = ["strategy", "order", "n_models"]

    def workload(self, strategy, order, n_models):
        return strategy_workload(strategy, order, n_models)


class StrategyQuality(_QualityMeasured):
    """Mean holdout error after the update, per strategy: faster must not mean worse."""

    params = [STRATEGIES]
    param_names = ["strategy"]

    def workload(self, strategy):
        return strategy_workload(strategy, "batch-major", 8)


class StrategyGrowth(_TimedOnly):
    """Which growth exponent each retrain strategy changes (serial, model-major).

    ``full`` retrains m models on the history plus the n new batches, ``shared``
    fits once for all models, ``incremental`` runs ``partial_fit`` on the new
    batches only. The grid is geometric in both sizes so that ``mlupdate scaling
    report`` fits ``t = c * m^a * n^b + d`` per strategy (15 cells each).
    """

    params = [GROWTH_STRATEGIES, [1, 2, 4, 8, 16], [1, 4, 16]]
    param_names = ["strategy", "n_models", "n_batches"]

    def workload(self, strategy, n_models, n_batches):
        return strategy_workload(strategy, "model-major", n_models, n_batches)


class StrategiesFused(_TimedOnly):
    """The strategy comparison's workloads (n = 8) on the ``fused`` executor.

    Beside ``StrategiesOrders``' serial cells: ``full`` retrains the ridge fleet
    as one fit, ``incremental`` (SGD) and ``shared`` keep their own retrain, and
    every strategy predicts and evaluates the fleet as one matrix per batch.
    """

    params = [STRATEGIES, ORDERS, [4, 16]]
    param_names = ["strategy", "order", "n_models"]

    def workload(self, strategy, order, n_models):
        return strategy_workload(strategy, order, n_models).with_(executor="fused")


class StrategyGrowthLongRuns(_TimedOnly):
    """StrategyGrowth's workloads over many batches (n = 32, 64), two models.

    A strategy that refits as batches arrive trains rows that grow with n², and StrategyGrowth's
    n of 1-16 cannot tell that term from a fit's own cost within a few rounds' noise: the price of
    such a change at 1000x1000 hangs on it. These cells belong to StrategyGrowth's series (its
    level, exponents and cost model: ``mlupdate.bench.stats.cells.SERIES_HOMES``).
    """

    params = [GROWTH_STRATEGIES, [2], [32, 64]]
    param_names = ["strategy", "n_models", "n_batches"]

    def workload(self, strategy, n_models, n_batches):
        return strategy_workload(strategy, "model-major", n_models, n_batches)


class StrategyGrowthTraining(_TrainingTimed):
    """The training stages alone of StrategyGrowth's refitting workloads: what a fit costs.

    A whole update's time holds a fit's cost among the visits' and the holdout scores': ``full``
    fits and scores once per model, so over StrategyGrowth's cells a fit and a score are one term,
    and a change that refits after every batch is priced with a fit that one side cannot tell from
    a score. Here asv's clock runs only while a model trains (``training_clock``), so the cost
    model has the fits and the rows trained alone to price (``mlupdate.bench.suite.timed``), on
    both sides of such a change. The rows per fit grow with n, which tells a fit from its rows.
    """

    params = [["full", "shared"], [1, 2, 4], [1, 4, 16, 64]]
    param_names = ["strategy", "n_models", "n_batches"]

    def workload(self, strategy, n_models, n_batches):
        return strategy_workload(strategy, "model-major", n_models, n_batches)
