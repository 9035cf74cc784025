"""Your own fleet and data: DataFrames, a ColumnTransformer, a Pipeline model, fitted models, the docstring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from mlupdate import Fleet, update_fleet

TARGETS = ["north", "south", "east"]


def frame(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features with a categorical column, and three named targets that depend on it."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "price": rng.normal(10, 2, rows),
            "temp": rng.normal(15, 5, rows),
            "region": rng.choice(["a", "b", "c"], rows),
        }
    )
    effect = X["region"].map({"a": 0.0, "b": 2.0, "c": -1.0}).to_numpy()
    Y = pd.DataFrame(
        {
            name: (k + 1) * X["price"] - 0.3 * X["temp"] + effect + rng.normal(0, 0.5, rows)
            for k, name in enumerate(TARGETS)
        }
    )
    return X, Y


def column_transformer() -> ColumnTransformer:
    return ColumnTransformer([("num", StandardScaler(), ["price", "temp"]), ("cat", OneHotEncoder(), ["region"])])


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    X, Y = frame(300, 0)
    models = [Ridge(alpha=1.0), make_pipeline(PolynomialFeatures(2), Ridge()), DecisionTreeRegressor(max_depth=4)]
    return Fleet.from_data(X, Y, models, preprocessor=column_transformer(), validation=frame(100, 1))


def batches(n: int) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    return [frame(40, 10 + k) for k in range(n)]


def test_a_dataframe_fleet_keeps_its_names(fleet):
    assert fleet.feature_names == ["price", "temp", "region"]
    assert fleet.target_names == TARGETS
    assert isinstance(fleet.X_history_pre, np.ndarray) and fleet.X_history_pre.shape == (300, 5)  # one-hot made dense
    assert all(m.deploy_r2 > 0.8 for m in fleet.models)


@pytest.mark.parametrize("strategy", ["full", "triggered", "none"])
def test_dataframes_give_equal_results_on_every_executor(fleet, strategy):
    runs = {
        ex: update_fleet(
            fleet, batches(3), frame(80, 99), strategy=strategy, executor=ex, n_jobs=2 if ex == "joblib" else None
        )
        for ex in ("serial", "joblib", "fused")
    }
    serial = runs["serial"]
    assert serial.ok and (serial.counts == serial.planned or strategy == "triggered")
    for name, report in runs.items():
        assert report.ok, name
        assert report.counts == serial.counts, name
        for a, b in zip(serial.after, report.after, strict=True):
            assert b == pytest.approx(a, rel=1e-9, abs=1e-9), name
    assert runs["fused"].fusion["fused_models"] == [0]  # the Ridge; the Pipeline and the tree ran alone


def test_batches_may_be_arrays_with_the_fleets_columns_or_dataframes_in_any_column_order(fleet):
    X, Y = frame(40, 5)
    as_frames = update_fleet(fleet, [(X, Y)], frame(80, 99))
    shuffled = update_fleet(fleet, [(X[["region", "temp", "price"]], Y.to_numpy())], frame(80, 99))
    as_arrays = update_fleet(fleet, [(X.to_numpy(), Y.to_numpy())], frame(80, 99))
    for other in (shuffled, as_arrays):
        for a, b in zip(as_frames.after, other.after, strict=True):
            assert b == pytest.approx(a, rel=1e-12)
    with pytest.raises(ValueError, match="batch 0 has no column 'price', a feature the fleet was trained on"):
        update_fleet(fleet, [(X.drop(columns="price"), Y)], frame(80, 99))


def test_fitted_models_are_not_refitted():
    X, Y = frame(300, 0)
    pre = column_transformer().fit(X)
    models = [Ridge().fit(pre.transform(X), Y[name]) for name in TARGETS]
    fleet = Fleet.from_fitted(models, pre, X, Y)
    assert [m.estimator for m in fleet.models] == models  # the same objects
    report = update_fleet(fleet, batches(2), frame(80, 99), strategy="none")
    assert report.ok and report.counts["fit"] == 0
    with pytest.raises(ValueError, match=r"estimator 1 \(Ridge\) is not fitted; use Fleet.from_data"):
        Fleet.from_fitted([models[0], Ridge(), models[2]], pre, X, Y)
