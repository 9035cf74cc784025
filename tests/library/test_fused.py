"""The fused executor: equal to serial for every strategy and order, fallback reported, counts = plan."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.fleets import deploy

from mlupdate import STRATEGIES, update_fleet
from mlupdate.cli import main
from mlupdate.executors.fused import fit_columns
from mlupdate.metrics import evaluate, evaluate_columns

ESTIMATORS = {"incremental": ["sgd"], "shared": ["ridge"]}


def _cases():
    for strategy in STRATEGIES:
        for kind in ESTIMATORS.get(strategy, ["ridge", "sgd", "mixed"]):
            for order in ("model-major", "batch-major"):
                yield strategy, kind, order


@pytest.mark.parametrize(("strategy", "kind", "order"), list(_cases()))
def test_fused_equals_serial(strategy, kind, order):
    task, fleet = deploy(6, kind, drift=2.0, drift_targets=[0, 2, 4])
    runs = [
        update_fleet(fleet, task.stream(4), task.holdout(4), strategy=strategy, order=order, executor=ex)
        for ex in ("serial", "fused")
    ]
    serial, fused = runs
    for a, b in ((serial.before, fused.before), (serial.after, fused.after)):
        for x, y in zip(a, b, strict=True):
            assert x.keys() == y.keys()
            for k in x:
                assert y[k] == pytest.approx(x[k], rel=1e-9, abs=1e-9)
    X_pre = fleet.preprocessor.transform(task.holdout(4)[0])
    for e1, e2 in zip(serial.estimators, fused.estimators, strict=True):
        np.testing.assert_allclose(e2.predict(X_pre), e1.predict(X_pre), rtol=1e-8, atol=1e-10)
    assert fused.counts == serial.counts  # per model and batch, as the plan counts them
    assert serial.retrained == fused.retrained
    if strategy != "triggered":
        assert fused.counts == fused.planned
    assert fused.ok and fused.fusion["fused_calls"] > 0


def test_fallback_is_reported_with_its_reason():
    task, fleet = deploy(4, "mixed")
    report = update_fleet(fleet, task.stream(2), task.holdout(2), executor="fused")
    assert report.fusion["fused_models"] == [0, 2]  # the Ridge models
    assert report.fusion["fallback"] == {
        "model 1 (DecisionTreeRegressor)": "DecisionTreeRegressor is not linear (no coef_/intercept_); predicted over blocks of batches",
        "model 3 (DecisionTreeRegressor)": "DecisionTreeRegressor is not linear (no coef_/intercept_); predicted over blocks of batches",
    }
    assert report.counts == report.planned


def test_full_retrain_of_a_ridge_group_is_one_fit_per_model_count():
    task, fleet = deploy(8, "ridge")
    report = update_fleet(fleet, task.stream(3), task.holdout(3), executor="fused", order="batch-major")
    assert report.counts["fit"] == 8 == report.planned["fit"]
    # 1 predict for the block of 3 batches, 3 evaluates, 1 fit and 1 score, for 8 models at once
    assert report.fusion["fused_calls"] == 1 + 3 + 2


def test_multi_target_ridge_equals_per_model_fits():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 7)), rng.normal(size=(300, 5))
    fused = fit_columns(Ridge(alpha=1.0), X, Y)
    for j, est in enumerate(fused):
        alone = Ridge(alpha=1.0).fit(X, Y[:, j])
        np.testing.assert_allclose(est.coef_, alone.coef_, rtol=1e-8)
        assert est.intercept_ == pytest.approx(alone.intercept_, rel=1e-8)


def test_vectorised_metrics_equal_the_per_model_ones():
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(200, 6))
    P = Y + rng.normal(scale=0.4, size=Y.shape)
    cols = evaluate_columns(Y, P)
    for j in range(Y.shape[1]):
        for k, v in evaluate(Y[:, j], P[:, j]).items():
            assert cols[k][j] == pytest.approx(v, rel=1e-9, abs=1e-12)


def test_cli_runs_fused_and_refuses_bad_shard_options(capsys):
    assert (
        main(["run", "-m", "4", "-n", "2", "--rows", "50", "--history-rows", "200", "--executor", "fused", "--json"])
        == 0
    )
    capsys.readouterr()
    for args, message in [
        (["--n-jobs", "0"], "n_jobs=0 is not allowed; use -1 (all cores), -k (all but k-1) or k >= 1"),
        (["--n-jobs", "two"], "--n-jobs"),
        (["--backend", "threading"], "fused backend 'threading' is not allowed; use one of loky, dask"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler applies to"),
    ]:
        assert main(["run", "-m", "2", "-n", "1", "--executor", "fused", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (args, err)
    assert main(["run", "-m", "2", "-n", "1", "--executor", "serial", "--n-jobs", "2"]) == 2
    assert "--n-jobs/--backend apply to --executor joblib or fused, not 'serial'" in capsys.readouterr().err


def test_deploy_fits_a_ridge_group_once_with_the_per_model_coefficients(capsys, monkeypatch):
    from helpers.fleets import small_task
    from sklearn.base import clone

    import mlupdate.fleet
    from mlupdate import Fleet, make_estimators
    from mlupdate.report import StageRecorder

    calls = StageRecorder()
    original = mlupdate.fleet.fit_columns
    monkeypatch.setattr(mlupdate.fleet, "fit_columns", lambda *a: calls.call("fit", original, *a))
    fleet = Fleet.deploy(small_task(6), make_estimators(6, "mixed"), progress=True)
    assert calls.counts["fit"] == 1 + 3  # the 3 Ridges in one fit, each tree alone
    assert "deploy" in capsys.readouterr().err  # the progress bar
    for model, est in zip(fleet.models, make_estimators(6, "mixed"), strict=True):
        alone = clone(est).fit(fleet.X_history_pre, fleet.Y_history[:, model.index])
        if hasattr(alone, "coef_"):
            np.testing.assert_allclose(model.estimator.coef_, alone.coef_, rtol=1e-8)


@pytest.mark.parametrize("template", ["ridge", "linear"])
def test_fit_over_blocks_equals_per_model_fits_on_the_stacked_rows(template):
    from sklearn.linear_model import LinearRegression, Ridge

    from mlupdate.multifit import fit_blocks

    est = Ridge(alpha=0.5) if template == "ridge" else LinearRegression()
    rng = np.random.default_rng(2)
    blocks = [(rng.normal(size=(rows, 6)) + 3.0, rng.normal(size=(rows, 4))) for rows in (50, 20, 20)]
    X, Y = np.vstack([b[0] for b in blocks]), np.vstack([b[1] for b in blocks])
    for j, fitted in enumerate(fit_blocks(est, blocks)):
        alone = type(est)(**est.get_params()).fit(X, Y[:, j])
        np.testing.assert_allclose(fitted.coef_, alone.coef_, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(fitted.predict(X), alone.predict(X), rtol=1e-8)


@pytest.mark.parametrize("kind", ["ridge", "mixed"])
def test_the_fused_executor_reads_a_stream_once_and_keeps_no_batch_beyond_its_block(kind, monkeypatch):
    import gc
    import weakref

    import mlupdate.executors.fused_pass as fused_pass

    task, fleet = deploy(6, kind, drift=2.0, drift_targets=[0, 2, 4])
    monkeypatch.setattr(fused_pass, "BLOCK_CELLS", 3 * task.rows_per_batch * 6)  # blocks of 3 batches
    alive_behind = []  # per batch: how many earlier batches' targets were still referenced

    def once():
        refs = []
        for batch in task.stream(8):
            gc.collect()
            alive_behind.append(sum(r() is not None for r in refs[:-1]))
            refs.append(weakref.ref(batch.y))
            yield batch

    streamed = update_fleet(fleet, once(), task.holdout(8), order="batch-major", executor="fused")
    serial = update_fleet(fleet, task.stream(8), task.holdout(8), order="batch-major", executor="serial")
    # each batch's targets (m columns) are gone once its block is done: a copy of a tree's column is kept
    assert alive_behind == (([0, 0, 1] * 3)[:8] if kind == "ridge" else [0] * 8)
    assert streamed.counts == serial.counts == streamed.planned
    for a, b in zip(serial.after, streamed.after, strict=True):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-9)
    assert streamed.config["n_batches"] == 8


def test_a_bad_batch_in_a_stream_stops_the_update_with_the_usual_error():
    from mlupdate import Batch

    task, fleet = deploy(3, "ridge")

    def with_a_bad_third():
        for batch in task.stream(4):
            yield batch if batch.index != 2 else Batch(2, batch.X[:, :-1], batch.y)

    with pytest.raises(ValueError, match="batch 2"):
        update_fleet(fleet, with_a_bad_third(), task.holdout(4), executor="fused")
    with pytest.raises(ValueError, match="no batches"):
        update_fleet(fleet, iter([]), task.holdout(4), executor="fused")


@pytest.mark.parametrize("strategy", ["full", "none", "triggered", "incremental", "shared"])
def test_affine_pipelines_are_folded_exactly_and_fuse(strategy):
    """A Pipeline of scalers and a linear model is one affine map: its folded coefficients predict as
    the pipeline does (1e-10), and it takes the fused path; the fused and fallback lists never overlap."""
    from sklearn.linear_model import Ridge, SGDRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    from mlupdate import Fleet, SyntheticTask
    from mlupdate.executors.fused import linear_form

    task = SyntheticTask(n_targets=4, n_features=5, rows_per_batch=60, history_rows=300, seed=2)
    linear = SGDRegressor(max_iter=50, tol=None, random_state=0) if strategy == "incremental" else Ridge()
    if strategy == "shared":
        estimators = [make_pipeline(StandardScaler(), Ridge()) for _ in range(4)]
    else:
        estimators = [
            make_pipeline(StandardScaler(), linear),
            make_pipeline(MinMaxScaler(), MaxAbsScaler(), linear),
            linear,
            make_pipeline(StandardScaler(), DecisionTreeRegressor(max_depth=3, random_state=0)),
        ]
    fleet = Fleet.deploy(task, estimators)
    X = fleet.X_history_pre
    for model in fleet.models[:3]:
        coef, intercept = linear_form(model.estimator)
        np.testing.assert_allclose(X @ coef + intercept, model.estimator.predict(X), rtol=0, atol=1e-10)
    if strategy == "incremental":  # pipelines have no partial_fit: the strategy refuses them before any work
        from mlupdate.errors import UsageError
        from mlupdate.strategies import check_estimators

        with pytest.raises(UsageError, match="needs partial_fit"):
            check_estimators("incremental", estimators)
        return
    serial = update_fleet(fleet, task.stream(3), task.holdout(3), strategy=strategy, executor="serial")
    fused = update_fleet(fleet, task.stream(3), task.holdout(3), strategy=strategy, executor="fused")
    for a, b in zip(serial.after, fused.after, strict=True):
        assert b["r2"] == pytest.approx(a["r2"], abs=1e-10)
    assert len(fused.fusion["fused_models"]) >= 3
    assert not set(fused.fusion["fallback"]) & {f"model {i} (Pipeline)" for i in fused.fusion["fused_models"]}
    assert set(fused.fusion["fallback"]) <= {"model 3 (Pipeline)"}


def test_the_text_report_lists_what_ran_alone_and_why(capsys):
    from mlupdate.cli import main

    assert main(["run", "-m", "4", "-n", "2", "--rows", "50", "--history-rows", "200", "--executor", "fused"]) == 0
    out = capsys.readouterr().out
    assert "fused: 2 model(s) in" in out
    assert "ran alone: model 1 (DecisionTreeRegressor): DecisionTreeRegressor is not linear" in out


def test_a_pipeline_group_is_one_scaler_fit_and_one_multi_target_fit():
    """Pipelines of scalers and one Ridge: the scalers fitted once on the shared X, the Ridges in one
    multi-target fit; each model predicts as its own pipeline fitted alone (1e-10)."""
    from sklearn.base import clone
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from mlupdate.multifit import fit_columns, fit_key

    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(200, 6)) * 5 + 2, rng.normal(size=(200, 4))
    template = make_pipeline(MinMaxScaler(), StandardScaler(), Ridge(alpha=0.5))
    assert fit_key(template) == fit_key(clone(template)) is not None
    assert fit_key(make_pipeline(StandardScaler(), Ridge(alpha=2.0))) != fit_key(
        make_pipeline(StandardScaler(), Ridge())
    )
    for j, fitted in enumerate(fit_columns(template, X, Y)):
        alone = clone(template).fit(X, Y[:, j])
        np.testing.assert_allclose(fitted.predict(X), alone.predict(X), rtol=0, atol=1e-10)
