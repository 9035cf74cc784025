"""Executors: the registry, and identical results serial vs joblib."""

import numpy as np
import pytest
from helpers.fleets import deploy

from mlupdate import EXECUTORS, Executor, get_executor, update_fleet
from mlupdate.executors import JoblibExecutor


@pytest.mark.snapshot
def test_registry_has_serial_and_joblib():
    assert {"serial", "joblib"} <= set(EXECUTORS)
    for name, cls in EXECUTORS.items():
        assert issubclass(cls, Executor) and cls.name == name


@pytest.mark.parametrize("name", sorted(EXECUTORS))
def test_every_executor_maps_all_items(name):
    ex = get_executor(name)
    assert sorted(ex.map(pow, [1, 2, 3], 2)) == [1, 4, 9]
    info = ex.describe()
    assert info["executor"] == name and info["blas_threads"] >= 1


def test_blas_threads_share_the_cores():
    ex = JoblibExecutor(n_jobs=2)
    assert ex.n_workers == 2
    assert ex.n_workers * ex.blas_threads <= max(2, __import__("os").cpu_count())
    assert JoblibExecutor(n_jobs=1, blas_threads=3).blas_threads == 3


def _fitted_params(est):
    if hasattr(est, "coef_"):
        return np.append(est.coef_, est.intercept_)
    return est.tree_.value.ravel()


@pytest.mark.parametrize("strategy", ["full", "triggered"])
@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_serial_equals_joblib(backend, strategy):
    task, fleet = deploy(4, drift=2.0, drift_targets=[0, 3])
    serial = update_fleet(fleet, task.stream(3), task.holdout(3), strategy=strategy)
    par = update_fleet(
        fleet, task.stream(3), task.holdout(3), strategy=strategy, executor="joblib", n_jobs=2, backend=backend
    )
    assert par.ok and serial.ok
    assert par.config["backend"] == backend and par.config["n_workers"] == 2
    assert par.counts == serial.counts
    assert par.before == serial.before and par.after == serial.after
    assert par.retrained == serial.retrained
    X_hold = fleet.preprocessor.transform(task.holdout(3)[0])
    for a, b in zip(serial.estimators, par.estimators, strict=True):
        assert type(a) is type(b)
        np.testing.assert_array_equal(_fitted_params(a), _fitted_params(b))
        np.testing.assert_array_equal(a.predict(X_hold), b.predict(X_hold))


def test_more_workers_than_cores_are_capped_with_a_warning():
    import joblib

    cores = joblib.cpu_count()
    with pytest.warns(RuntimeWarning, match=rf"n_jobs=100000 is more than the {cores} usable cores: using {cores}"):
        ex = get_executor("joblib", n_jobs=100_000)
    assert ex.n_jobs == cores and ex.n_workers == cores
    assert get_executor("joblib", n_jobs=-1).n_jobs == -1  # all cores: within them already
