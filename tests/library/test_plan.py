"""Plans: expected counts before running, and runs that match them."""

import pytest
from helpers.fleets import deploy

from mlupdate import Plan, update_fleet

KIND_FOR = {"full": "mixed", "none": "mixed", "triggered": "mixed", "shared": "ridge", "incremental": "sgd"}


@pytest.mark.parametrize(
    ("m", "n", "summary", "shared_summary"),
    [
        (10, 10, "100 + 10", "100 + 1"),
        (100, 100, "10,000 + 100", "10,000 + 1"),
        (1000, 1000, "1,000,000 + 1,000", "1,000,000 + 1"),
    ],
)
def test_plan_summary_matches_readme(m, n, summary, shared_summary):
    assert Plan(m, n, strategy="full").summary() == summary
    assert Plan(m, n, strategy="shared").summary() == shared_summary


@pytest.mark.parametrize(("m", "n"), [(1, 1), (3, 5), (7, 2)])
@pytest.mark.parametrize("order", ["model-major", "batch-major"])
def test_plan_counts(m, n, order):
    c = Plan(m, n, rows_per_batch=10, history_rows=100, order=order, strategy="full").counts()
    assert c["preprocess"] == (m * n if order == "model-major" else n)
    assert c["predict"] == c["evaluate"] == m * n
    assert c["fit"] == m and c["partial_fit"] == 0
    assert c["rows_predicted"] == m * n * 10
    assert c["rows_trained"] == m * (100 + n * 10)
    inc = Plan(m, n, 10, 100, order, "incremental").counts()
    assert (inc["fit"], inc["partial_fit"], inc["rows_trained"]) == (0, m * n, m * n * 10)
    shared = Plan(m, n, 10, 100, order, "shared").counts()
    assert (shared["fit"], shared["rows_trained"]) == (1, 100 + n * 10)
    assert shared["preprocess"] == (m * n + n if order == "model-major" else n)


@pytest.mark.parametrize("strategy", ["full", "none", "shared", "incremental"])
@pytest.mark.parametrize("order", ["model-major", "batch-major"])
@pytest.mark.parametrize(("m", "n"), [(1, 3), (3, 2)])
def test_run_counts_equal_plan(strategy, order, m, n):
    task, fleet = deploy(m, KIND_FOR[strategy])
    report = update_fleet(fleet, task.stream(n), task.holdout(n), strategy=strategy, order=order)
    assert report.ok, report.failures
    assert report.counts == report.planned
    assert report.planned == Plan(m, n, 60, 300, order, strategy).counts()
    assert all(report.seconds[s] > 0 for s in ("predict", "evaluate", "preprocess"))


def test_orders_give_same_predictions_and_metrics():
    task, fleet = deploy(3)
    a = update_fleet(fleet, task.stream(4), task.holdout(4), order="model-major")
    b = update_fleet(fleet, task.stream(4), task.holdout(4), order="batch-major")
    assert a.before == b.before and a.after == b.after
    assert a.counts["preprocess"] == 12 and b.counts["preprocess"] == 4


def test_plan_table_columns_never_run_together(capsys):
    from mlupdate.cli import main

    assert main(["plan", "1000x1000", "10x10", "--strategy", "incremental", "full"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    head, rows = lines[0], lines[1:]
    assert len({len(line) for line in lines}) == 1  # one width: columns sized from the values
    incremental = rows[0].split()
    assert incremental[:2] == ["1000x1000", "incremental"]
    assert incremental[-3:] == ["0", "1,000,000", "1,000,000,000"]  # fit, partial_fit, rows trained apart
    assert head.split()[-2:] == ["rows", "trained"]
