"""The fused executor's models that are not linear: stacked predictions, one metric pass, counts."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from helpers.fleets import small_task
from sklearn.base import BaseEstimator, RegressorMixin

from mlupdate import Fleet, update_fleet
from mlupdate.metrics import evaluate, evaluate_columns
from mlupdate.rowwise import (
    ROWWISE_ESTIMATORS,
    ROWWISE_TRANSFORMERS,
    is_rowwise,
    is_rowwise_transformer,
    register_rowwise,
)

LISTED = [(module, name) for module, names in ROWWISE_ESTIMATORS.items() for name in names]
#: Parameters some listed estimators need to fit a small problem quickly and meaningfully.
PARAMS = {
    "RadiusNeighborsRegressor": {"radius": 5.0},
    "SGDRegressor": {"max_iter": 50, "tol": None, "random_state": 0},
    "TheilSenRegressor": {"max_subpopulation": 200, "random_state": 0},
    "RandomForestRegressor": {"n_estimators": 10, "random_state": 0},
    "ExtraTreesRegressor": {"n_estimators": 10, "random_state": 0},
    "GradientBoostingRegressor": {"n_estimators": 20, "random_state": 0},
    "HistGradientBoostingRegressor": {"max_iter": 20, "random_state": 0},
    "AdaBoostRegressor": {"n_estimators": 10, "random_state": 0},
    "PoissonRegressor": {},
    "GammaRegressor": {},
}
EXACT_MODULES = ("sklearn.tree", "sklearn.ensemble", "sklearn.dummy")


def _data(seed: int = 0, rows: int = 300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5))
    y = np.exp(0.3 * X[:, 0]) + 0.2 * np.sin(X[:, 1]) + 0.05 * np.abs(rng.normal(size=rows))  # > 0: Gamma fits it
    return X, y


def _build(module: str, name: str):
    return getattr(importlib.import_module(module), name)(**PARAMS.get(name, {}))


@pytest.mark.parametrize(("module", "name"), LISTED, ids=[n for _, n in LISTED])
def test_every_listed_estimator_predicts_stacked_batches_as_one_call_per_batch(module, name):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of a small fit say nothing about rows
        est = _build(module, name).fit(X, y)
    assert is_rowwise(est)
    batches = [np.random.default_rng(10 + j).normal(size=(37 + j, 5)) for j in range(6)]
    stacked = est.predict(np.vstack(batches))
    per_batch = np.concatenate([est.predict(b) for b in batches])
    if module in EXACT_MODULES:
        assert np.array_equal(stacked, per_batch)
    else:
        np.testing.assert_allclose(stacked, per_batch, rtol=1e-12, atol=1e-12)


def test_pipelines_of_listed_steps_are_row_wise_and_others_are_not():
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer, StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    X, y = _data()
    pipe = make_pipeline(StandardScaler(), SplineTransformer(), DecisionTreeRegressor(max_depth=4)).fit(X, y)
    assert is_rowwise(pipe) and is_rowwise_transformer(pipe[:-1])
    batches = [X[:50], X[50:120], X[120:]]
    assert np.array_equal(pipe.predict(np.vstack(batches)), np.concatenate([pipe.predict(b) for b in batches]))
    assert not is_rowwise(make_pipeline(KMeans(n_clusters=2), DecisionTreeRegressor()))
    assert not is_rowwise_transformer(ColumnTransformer([("s", StandardScaler(), [0])]))
    assert all(
        is_rowwise_transformer(getattr(importlib.import_module(m), n)())
        for m, names in ROWWISE_TRANSFORMERS.items()
        for n in names
    )


class Counted(RegressorMixin, BaseEstimator):
    """A user's own estimator: the mean of the first feature's sign, each predict call counted."""

    calls = 0

    def fit(self, X, y):
        self.offset_ = float(np.mean(y))
        return self

    def predict(self, X):
        type(self).calls += 1
        return self.offset_ + 0.1 * np.sign(X[:, 0])


class Declared(Counted):
    calls = 0


register_rowwise(Declared)


def _fleet(estimators, **kw):
    task = small_task(len(estimators), **kw)
    return task, Fleet.deploy(task, estimators)


def test_a_declared_estimator_predicts_a_block_per_call_and_an_undeclared_one_a_batch_per_call():
    task, fleet = _fleet([Counted(), Declared()])
    Counted.calls = Declared.calls = 0
    report = update_fleet(fleet, task.stream(6), task.holdout(6), executor="fused", order="batch-major")
    assert Counted.calls == 6 + 1  # a call per batch, then the holdout score
    assert Declared.calls == 1 + 1  # the 6 batches in one block
    assert report.counts["predict"] == 12 == report.planned["predict"]
    fallback = report.fusion["fallback"]
    assert fallback["model 0 (Counted)"].endswith("not row-wise (mlupdate.rowwise): one batch per call")
    assert fallback["model 1 (Declared)"].endswith("predicted over blocks of batches")
    with pytest.raises(TypeError, match="takes a class"):
        register_rowwise(Declared())


def _real_fleet():
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    return [
        Ridge(),
        DecisionTreeRegressor(max_depth=5, random_state=0),
        RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0),
        HistGradientBoostingRegressor(max_iter=10, random_state=0),
        KNeighborsRegressor(5),
        make_pipeline(StandardScaler(), DecisionTreeRegressor(max_depth=3, random_state=0)),
        Counted(),
        make_pipeline(StandardScaler(), Ridge(alpha=2.0)),
    ]


@pytest.mark.parametrize("strategy", ["full", "none", "triggered"])
@pytest.mark.parametrize("order", ["batch-major", "model-major"])
def test_a_real_mixed_fleet_on_fused_equals_serial_in_every_metric_and_count(strategy, order):
    task, fleet = _fleet(_real_fleet(), drift=2.0)
    runs = {
        ex: update_fleet(fleet, task.stream(5), task.holdout(5), executor=ex, order=order, strategy=strategy)
        for ex in ("serial", "fused")
    }
    serial, fused = runs["serial"], runs["fused"]
    assert fused.ok and fused.counts == serial.counts
    if strategy != "triggered":  # a bound, for triggered
        assert fused.counts == fused.planned
    assert fused.retrained == serial.retrained
    for x, y in ((serial.before, fused.before), (serial.after, fused.after)):
        for a, b in zip(x, y, strict=True):
            assert b == pytest.approx(a, rel=1e-9, abs=1e-9)
    assert set(fused.fusion["fused_models"]) == {0, 7}
    assert len(fused.fusion["fallback"]) == 6


def test_one_metric_pass_equals_the_metrics_definitions():
    rng = np.random.default_rng(4)
    Y, P = rng.normal(size=(80, 7)), rng.normal(size=(80, 7))
    P[:, 3] = Y[:, 3]  # a perfect prediction
    Y[:, 5] = 2.0  # a constant target
    columns = evaluate_columns(Y, P)
    for j in range(7):
        one = evaluate(Y[:, j], P[:, j])
        for name in one:
            assert columns[name][j] == pytest.approx(one[name], rel=1e-9, abs=1e-12)


def test_a_model_that_fails_fails_alone_and_the_others_complete():
    class Breaks(Counted):
        broken = False  # deployed fine, broken afterwards

        def predict(self, X):
            if self.broken:
                raise ValueError("broken on purpose")
            return super().predict(X)

    task, fleet = _fleet([Counted(), Breaks(), Declared()])
    Breaks.broken = True
    report = update_fleet(fleet, task.stream(3), task.holdout(3), executor="fused", order="batch-major")
    assert [f.model for f in report.failures] == [1]
    assert "broken on purpose" in report.failures[0].message and report.failures[0].stage == "predict"
    assert report.retrained == [True, False, True]
