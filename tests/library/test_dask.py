"""The joblib executor on a real dask cluster (processes, loopback only)."""

import os
import subprocess
import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="install mlupdate[dask]")

from helpers.fleets import deploy, small_task  # noqa: E402

from mlupdate import update_fleet  # noqa: E402
from mlupdate.errors import ExecutorError  # noqa: E402
from mlupdate.executors import JoblibExecutor, get_executor  # noqa: E402
from mlupdate.executors.dask import local_cluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    import dask

    # A task that kills its worker fails at once instead of being retried on
    # every other worker.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        local_cluster(2) as cluster,
    ):
        yield cluster


@pytest.mark.parametrize("how", ["client", "address"])
def test_dask_equals_serial(cluster, how):
    task, fleet = deploy(4, "ridge", drift=3.0, drift_targets=[1])
    serial = update_fleet(fleet, task.stream(3), task.holdout(3), strategy="triggered")
    with distributed.Client(cluster) as client:
        scheduler = client if how == "client" else cluster.scheduler_address
        ex = get_executor("joblib", n_jobs=2, backend="dask", scheduler=scheduler)
        report = update_fleet(fleet, task.stream(3), task.holdout(3), strategy="triggered", executor=ex)
        assert report.ok, report.failures
        assert report.counts == serial.counts and report.retrained == serial.retrained
        assert serial.retrained[1] and not all(serial.retrained)
        assert report.before == serial.before and report.after == serial.after
        X = fleet.preprocessor.transform(task.holdout(3)[0])
        for a, b in zip(serial.estimators, report.estimators, strict=True):
            np.testing.assert_array_equal(a.predict(X), b.predict(X))
        assert report.config["backend"] == "dask"


def test_shared_data_is_sent_once_per_worker_not_per_task(cluster, monkeypatch):
    from mlupdate.task import SharedData

    pickled = []

    def counting_getstate(self):
        pickled.append(1)
        return self.__dict__

    monkeypatch.setattr(SharedData, "__getstate__", counting_getstate, raising=False)
    task, fleet = deploy(8, "ridge")
    with distributed.Client(cluster) as client:
        ex = get_executor("joblib", n_jobs=2, backend="dask", scheduler=client)
        report = update_fleet(fleet, task.stream(2), task.holdout(2), executor=ex)
    assert report.ok
    assert 1 <= len(pickled) <= 2 < fleet.n_models  # scattered (broadcast to 2 workers), not sent with each task


def test_local_cluster_started_and_closed_by_the_cli():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlupdate",
            "run",
            "-m",
            "3",
            "-n",
            "2",
            "--rows",
            "50",
            "--history-rows",
            "200",
            "--executor",
            "joblib",
            "--backend",
            "dask",
            "--n-jobs",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"scheduler": "LocalCluster"' in proc.stdout and '"backend": "dask"' in proc.stdout


def test_unreachable_scheduler_is_a_clear_bounded_error(monkeypatch):
    monkeypatch.setattr("mlupdate.executors.dask.CONNECT_TIMEOUT", 2.0)
    task, fleet = deploy(2)
    ex = get_executor("joblib", backend="dask", scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ExecutorError, match=r"could not reach the dask scheduler at tcp://127.0.0.1:9 within 2 s"):
        update_fleet(fleet, task.stream(1), task.holdout(1), executor=ex)


def test_scheduler_without_dask_backend_is_refused():
    with pytest.raises(ValueError, match="a scheduler goes with backend 'dask'"):
        JoblibExecutor(backend="loky", scheduler="tcp://127.0.0.1:8786")


def test_the_dask_executor_is_chosen_by_get_executor_not_by_the_constructor():
    with pytest.raises(ValueError, match=r"backend 'dask' has an executor of its own: get_executor"):
        JoblibExecutor(backend="dask")


def test_joblib_dask_executor_is_the_cluster_modules(monkeypatch):
    from mlupdate import get_executor
    from mlupdate.executors.dask import DaskExecutor

    ex = get_executor("joblib", backend="dask", n_jobs=2)
    assert type(ex) is DaskExecutor and ex.n_workers == 2 and ex.describe()["scheduler"] == "LocalCluster"
    with pytest.warns(RuntimeWarning, match="usable cores"):  # a LocalCluster is on this machine: capped
        assert get_executor("joblib", backend="dask", n_jobs=1000).n_workers <= os.cpu_count()
    remote = get_executor("joblib", backend="dask", n_jobs=1000, scheduler="tcp://127.0.0.1:9")
    assert remote.n_jobs == 1000  # a scheduler's workers are not this machine's cores
    assert type(get_executor("joblib", backend="loky")) is JoblibExecutor


def test_untested_joblib_gets_joblibs_own_backend_and_a_warning(monkeypatch):
    import joblib
    from joblib._dask import DaskDistributedBackend

    from mlupdate.executors import dask as cluster

    cluster._lost_work_aware_backend.cache_clear()
    monkeypatch.setattr(joblib, "__version__", "1.7.0")
    try:
        with pytest.warns(RuntimeWarning, match=r"joblib 1\.7\.0 is not one the dask lost-worker patch was tested on"):
            assert cluster._lost_work_aware_backend() is DaskDistributedBackend
    finally:
        cluster._lost_work_aware_backend.cache_clear()
        monkeypatch.undo()
    patched = cluster._lost_work_aware_backend()  # joblib 1.6: the patched subclass
    assert patched is not DaskDistributedBackend and issubclass(patched, DaskDistributedBackend)


def _killing_fleet(m: int, **kill):
    import os

    from mlupdate import Fleet, make_estimators
    from mlupdate._faults import WorkerKillingRegressor

    task = small_task(m)
    estimators = make_estimators(m, "ridge")
    estimators[m - 1] = WorkerKillingRegressor(parent_pid=os.getpid(), **kill)
    fleet = Fleet.deploy(task, estimators)
    for model in fleet.models:  # tasks start slowest first: make the killer the last to start
        model.fit_seconds = 0.0 if model.index == m - 1 else 1.0
    return task, fleet


def _bounded(fn, seconds: float = 180.0):
    """Run ``fn`` in a thread; a hang fails the test instead of the whole run."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(fn).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


def test_lost_worker_is_a_clear_error_and_finished_models_stay(cluster):
    """allowed-failures=0: the task that killed its worker is lost at once."""
    m = 6
    task, fleet = _killing_fleet(m)
    with distributed.Client(cluster) as client:
        ex = get_executor("joblib", n_jobs=2, backend="dask", scheduler=client)
        report = _bounded(lambda: update_fleet(fleet, task.stream(2), task.holdout(2), executor=ex))
    lost = [f for f in report.failures if f.stage == "worker"]
    assert any(f.model == m - 1 for f in lost), report.failures
    for f in lost:
        assert "joblib worker died (KilledWorker)" in f.message and "tcp://127.0.0.1:" in f.message, f.message
    finished = [i for i, e in enumerate(report.estimators) if e is not None]
    assert m - 1 not in finished
    assert sorted(finished + [f.model for f in report.failures]) == list(range(m))
    for i in finished:
        assert report.after[i]["r2"] > 0.5


def test_worker_lost_once_is_retried_and_the_run_completes(tmp_path):
    """Dask's default allowed-failures (3): the task is rerun on a live worker."""
    import dask

    m = 4
    task, fleet = _killing_fleet(m, once_marker=str(tmp_path / "killed-once"))
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 3}),  # the module fixture sets 0
        local_cluster(2) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = get_executor("joblib", n_jobs=2, backend="dask", scheduler=client)
        report = _bounded(lambda: update_fleet(fleet, task.stream(2), task.holdout(2), executor=ex))
    assert (tmp_path / "killed-once").exists()  # a worker did die
    assert report.ok, report.failures
    assert all(e is not None for e in report.estimators)
