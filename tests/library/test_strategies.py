"""Each retrain strategy does what it says."""

import numpy as np
import pytest
from helpers.fleets import deploy

from mlupdate import STRATEGIES, RetrainStrategy, get_executor, get_strategy, update_fleet
from mlupdate.fleet import OutputColumn


@pytest.mark.snapshot
def test_registry():
    assert set(STRATEGIES) == {"none", "full", "triggered", "incremental", "shared"}
    for name, cls in STRATEGIES.items():
        assert issubclass(cls, RetrainStrategy) and cls.name == name


class EvenModels(RetrainStrategy):
    """A strategy from outside the package: refit the even-numbered models only."""

    name = "even-models"
    refit = True
    data_dependent = True

    def planned(self, m, n, rows, history_rows):
        return STRATEGIES["full"]().planned(m, n, rows, history_rows)

    def wants_refit(self, model, new_r2):
        return model.index % 2 == 0


def test_a_strategy_registered_from_outside_gets_fusion_and_streaming(monkeypatch):
    monkeypatch.setitem(STRATEGIES, EvenModels.name, EvenModels)
    task, fleet = deploy(5, "ridge")
    fused = get_executor("fused")
    assert fused.streams(EvenModels())
    serial = update_fleet(fleet, task.stream(3), task.holdout(3), strategy="even-models")
    streamed = update_fleet(fleet, iter(list(task.stream(3))), task.holdout(3), strategy="even-models", executor=fused)
    assert serial.retrained == streamed.retrained == [True, False, True, False, True]
    assert streamed.fusion["fused_models"] == [0, 1, 2, 3, 4] and not streamed.fusion["fallback"]
    assert serial.counts["fit"] == 3 and streamed.counts["fit"] == 3 and streamed.counts["predict"] == 15
    for a, b in zip(serial.after, streamed.after, strict=True):
        assert a["r2"] == pytest.approx(b["r2"], rel=1e-9, abs=1e-12)


def test_a_strategy_that_does_not_declare_refit_runs_its_own_retrain_on_fused():
    task, fleet = deploy(3, "sgd")
    assert not get_executor("fused").streams(get_strategy("incremental"))
    report = update_fleet(fleet, task.stream(2), task.holdout(2), strategy="incremental", executor="fused")
    assert report.counts["partial_fit"] == 6 and report.retrained == [True] * 3


def test_full_refits_every_model_and_leaves_the_fleet_untouched():
    task, fleet = deploy(3)
    deployed = [m.estimator for m in fleet.models]
    report = update_fleet(fleet, task.stream(2), task.holdout(2), strategy="full")
    assert report.counts["fit"] == 3 and report.retrained == [True] * 3
    assert all(new is not old for new, old in zip(report.estimators, deployed, strict=True))
    assert [m.estimator for m in fleet.models] == deployed


def test_none_keeps_the_deployed_models():
    task, fleet = deploy(3)
    report = update_fleet(fleet, task.stream(2), task.holdout(2), strategy="none")
    assert report.counts["fit"] == report.counts["partial_fit"] == 0
    assert report.estimators == [m.estimator for m in fleet.models]


def test_shared_is_one_multi_output_fit():
    task, fleet = deploy(4, "ridge")
    report = update_fleet(fleet, task.stream(3), task.holdout(3), strategy="shared")
    assert report.counts["fit"] == 1
    assert all(isinstance(e, OutputColumn) for e in report.estimators)
    shared = {id(e.estimator) for e in report.estimators}
    assert len(shared) == 1
    assert report.estimators[0].estimator.coef_.shape[0] == 4
    # Same linear model per target as four separate full refits (Ridge is separable).
    full = update_fleet(fleet, task.stream(3), task.holdout(3), strategy="full")
    for a, b in zip(report.after, full.after, strict=True):
        assert a["r2"] == pytest.approx(b["r2"], abs=1e-9)


def test_incremental_uses_partial_fit_only():
    task, fleet = deploy(2, "sgd")
    report = update_fleet(fleet, task.stream(3), task.holdout(3), strategy="incremental")
    assert report.counts["fit"] == 0 and report.counts["partial_fit"] == 6
    for new, model in zip(report.estimators, fleet.models, strict=True):
        assert new is not model.estimator
        assert not np.array_equal(new.coef_, model.estimator.coef_)
        assert new.t_ > model.estimator.t_  # more SGD steps taken on top of the deployed fit


def test_triggered_retrains_exactly_the_drifted_models():
    drifted = [1, 4]
    task, fleet = deploy(6, "ridge", drift=3.0, drift_targets=drifted)
    report = update_fleet(fleet, task.stream(4), task.holdout(4), strategy="triggered")
    assert [i for i, r in enumerate(report.retrained) if r] == drifted
    assert report.counts["fit"] == len(drifted) <= report.planned["fit"]
    assert report.counts["rows_trained"] == len(drifted) * (300 + 4 * 60)
    for i in drifted:  # the refit recovered on the drifted targets
        assert report.after[i]["r2"] > report.before[i]["r2"]


def test_triggered_threshold_is_validated():
    with pytest.raises(ValueError, match="threshold=-1"):
        get_strategy("triggered", threshold=-1)


@pytest.mark.parametrize(
    ("strategy", "kind", "match"),
    [
        ("incremental", "mixed", "needs partial_fit.*Ridge"),
        ("shared", "mixed", "one estimator with one set of parameters"),
        ("shared", "sgd", r"needs multi-output support, which model 0 \(SGDRegressor\) lacks"),
    ],
)
def test_strategy_refused_before_any_work(strategy, kind, match):
    task, fleet = deploy(2, kind)
    calls = []

    def stream():
        calls.append(1)
        yield from task.stream(2)

    with pytest.raises(ValueError, match=match):
        update_fleet(fleet, stream(), task.holdout(2), strategy=strategy)
    assert calls == []  # not even one batch was read
