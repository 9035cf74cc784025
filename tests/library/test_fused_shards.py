"""The fused executor on K workers: column shards balanced by cost, equal to one worker."""

from __future__ import annotations

import pytest
from helpers.fleets import small_task
from test_fused_rows import _real_fleet

from mlupdate import Fleet, make_estimators, update_fleet
from mlupdate.executors import get_executor
from mlupdate.executors.fused_shards import _ProcessWorker, balance


def test_balance_deals_the_costly_models_longest_first_and_the_linear_ones_evenly():
    costs = [5.0, 0.0, 4.0, 0.0, 3.0, 0.0, 3.0, 0.0, 1.0, 0.0]
    linear = [c == 0.0 for c in costs]
    shards = balance(costs, linear, 2)
    assert sorted(i for s in shards for i in s) == list(range(10))
    loads = [sum(costs[i] for i in s) for s in shards]
    assert loads == [8.0, 8.0]  # 5 + 3 and 4 + 3 + 1
    assert [sum(linear[i] for i in s) for s in shards] == [3, 2]  # 5 linear models, dealt out
    assert balance([0.0] * 6, [True] * 6, 3) == [[0, 1], [2, 3], [4, 5]]  # contiguous runs
    assert balance([1.0], [False], 2) == [[0]]  # no empty shard


def _same(one, many, rel=1e-12):
    assert many.ok and many.counts == one.counts
    assert many.retrained == one.retrained
    for x, y in ((one.before, many.before), (one.after, many.after)):
        for a, b in zip(x, y, strict=True):
            assert b == pytest.approx(a, rel=rel, abs=rel)
    # the same report, but for the fused calls: each shard's linear models make their own
    calls = "fused_calls"
    assert {k: v for k, v in many.fusion.items() if k != calls} == {k: v for k, v in one.fusion.items() if k != calls}
    assert many.fusion[calls] >= one.fusion[calls]
    shown = {"n_workers", "n_jobs", "backend", "blas_threads"}
    assert {k: v for k, v in many.config.items() if k not in shown} == {
        k: v for k, v in one.config.items() if k not in shown
    }


@pytest.mark.parametrize(("strategy", "order"), [("full", "batch-major"), ("none", "model-major")])
def test_shards_on_two_worker_processes_equal_one_worker(strategy, order):
    task = small_task(8, drift=2.0)
    fleet = Fleet.deploy(task, _real_fleet())
    runs = [
        update_fleet(
            fleet,
            task.stream(5),
            task.holdout(5),
            executor=get_executor("fused", n_jobs=k),
            order=order,
            strategy=strategy,
        )
        for k in (1, 2)
    ]
    _same(*runs)
    assert runs[1].config["n_workers"] == 2 and runs[1].config["backend"] == "loky"
    assert runs[1].counts == runs[1].planned


def test_shards_of_a_strategy_that_does_not_stream_equal_one_worker():
    task = small_task(6)
    fleet = Fleet.deploy(task, make_estimators(6, "sgd"))
    one, two = (
        update_fleet(
            fleet,
            task.stream(3),
            task.holdout(3),
            executor=get_executor("fused", n_jobs=k),
            strategy="incremental",
            order="batch-major",
        )
        for k in (1, 2)
    )
    _same(one, two)
    assert two.counts["partial_fit"] == 18 == two.planned["partial_fit"]


def test_each_batch_is_sent_once_to_each_worker_with_its_shards_targets_only(monkeypatch):
    sent: list[tuple[int, list[int], tuple]] = []
    submit = _ProcessWorker.submit

    def spy(self, fn, *args):
        if fn.__name__ == "_add":
            sent.extend((id(self), b.index, b.y.shape) for b, _ in args[1])
        return submit(self, fn, *args)

    monkeypatch.setattr(_ProcessWorker, "submit", spy)
    task = small_task(6)
    fleet = Fleet.deploy(task, make_estimators(6, "mixed"))
    report = update_fleet(
        fleet, task.stream(20), task.holdout(20), order="batch-major", executor=get_executor("fused", n_jobs=2)
    )
    assert report.ok and report.counts["preprocess"] == 20  # once per batch, in the parent
    workers = sorted({w for w, _, _ in sent})
    assert len(workers) == 2
    for worker in workers:
        assert sorted(i for w, i, _ in sent if w == worker) == list(range(20))  # each batch once
    assert sum(shape[1] for w, i, shape in sent if i == 0) == 6  # the targets split, not copied


@pytest.mark.slow
def test_shards_on_a_dask_cluster_equal_one_worker():
    pytest.importorskip("distributed")
    task = small_task(8, drift=2.0)
    fleet = Fleet.deploy(task, _real_fleet())
    one = update_fleet(fleet, task.stream(4), task.holdout(4), executor="fused", order="batch-major")
    dask = update_fleet(
        fleet,
        task.stream(4),
        task.holdout(4),
        order="batch-major",
        executor=get_executor("fused", n_jobs=2, backend="dask"),
    )
    _same(one, dask)
    assert dask.config["backend"] == "dask"
