"""A failing model does not stop the others; a dead worker is reported."""

import os

import pytest
from helpers.fleets import small_task

from mlupdate import Fleet, make_estimators, update_fleet
from mlupdate._faults import FailingRegressor, WorkerKillingRegressor
from mlupdate.cli import main


def _fleet_with(bad_at: int, bad, m: int = 4):
    task = small_task(m)
    estimators = make_estimators(m, "ridge")
    estimators[bad_at] = bad
    return task, Fleet.deploy(task, estimators)


@pytest.mark.parametrize("executor", ["serial", "joblib"])
@pytest.mark.parametrize(("fail_in", "stage"), [("predict", "predict"), ("fit", "retrain")])
def test_failing_model_is_isolated(executor, fail_in, stage):
    task, fleet = _fleet_with(2, FailingRegressor(fail_in))
    report = update_fleet(fleet, task.stream(3), task.holdout(3), strategy="full", executor=executor)
    assert not report.ok
    [failure] = report.failures
    assert (failure.model, failure.stage) == (2, stage)
    assert "FailingRegressor" in failure.name and f"injected failure in {fail_in}" in failure.message
    assert [e is None for e in report.estimators] == [False, False, True, False]
    assert all(report.after[i]["r2"] > 0.5 for i in (0, 1, 3))
    # A failed call is still a call: fits attempted are 4 when fit fails, 3 when predict does.
    assert report.counts["fit"] == (4 if fail_in == "fit" else 3)


def test_cli_lists_failures_and_exits_1(monkeypatch, capsys):
    def estimators(m, kind):
        ests = make_estimators(m, "ridge")
        ests[1] = FailingRegressor("predict")
        return ests

    monkeypatch.setattr("mlupdate.cli.run.make_estimators", estimators)
    status = main(["run", "-m", "3", "-n", "2", "--rows", "50", "--history-rows", "200", "--features", "5"])
    captured = capsys.readouterr()
    assert status == 1
    assert "model 1 (FailingRegressor) failed in predict: RuntimeError: injected failure in predict" in captured.err
    assert "0 Ridge" in captured.out and "2 Ridge" in captured.out


def test_killed_worker_is_named_and_finished_models_kept():
    m = 6
    task = small_task(m)
    estimators = make_estimators(m, "ridge")
    estimators[5] = WorkerKillingRegressor(parent_pid=os.getpid())
    fleet = Fleet.deploy(task, estimators)
    for model in fleet.models:  # tasks start slowest first: make the killer the last to start
        model.fit_seconds = 0.0 if model.index == 5 else 1.0
    report = update_fleet(fleet, task.stream(2), task.holdout(2), executor="joblib", n_jobs=2, backend="loky")
    lost = [f for f in report.failures if f.stage == "worker"]
    assert any(f.model == 5 for f in lost)
    assert all("joblib worker died" in f.message and "TerminatedWorkerError" in f.message for f in lost)
    finished = [i for i, e in enumerate(report.estimators) if e is not None]
    assert finished and 5 not in finished
    assert sorted(finished + [f.model for f in report.failures]) == list(range(m))
    for i in finished:
        assert report.after[i]["r2"] > 0.5
