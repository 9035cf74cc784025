"""The cost model: unit costs from the plan's counts, predictions, the held-out check, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.asv_results import GRID_PARAMS, unit_cost_samples, write_results

from mlupdate.bench.scaling.costs import design, fit_costs, plan_counts
from mlupdate.bench.scaling.predict import SeriesCosts, cost_models, predict_plans
from mlupdate.bench.suite.catalog import workload_of
from mlupdate.bench.suite.workloads import Workload
from mlupdate.cli import main
from mlupdate.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "benchmarks"
GRID = (1, 2, 4, 8, 16)
#: Unit costs of the same order as this machine's (mixed fleet, 200 rows, 1000 history rows).
COSTS = {"predict": 1e-3, "fit": 5e-3}
T0 = 0.01


def _grid_workloads():
    return [Workload(m, n) for m in GRID for n in GRID]


def _true(w: Workload) -> float:
    counts = plan_counts(w)
    return T0 + sum(u * counts[k] for k, u in COSTS.items())


def test_proportional_counts_are_one_term_and_combinations_are_explained():
    terms, explained = design([plan_counts(w) for w in _grid_workloads()])
    assert [t.label for t in terms] == ["predict+preprocess+rows_predicted+evaluate", "fit+score"]
    assert terms[0].what == "model-batch visit" and terms[1].what == "fit"
    assert explained == {"rows_trained": ["t0", "predict", "fit"]}  # m*H + r*m*n on a fixed H, r
    shared = design([plan_counts(Workload(m, n, strategy="shared", estimators="ridge")) for m in GRID for n in GRID])[0]
    assert "fit" not in {t.key for t in shared}  # one fit per update: part of t0


@pytest.mark.parametrize("seed", range(5))
def test_known_unit_costs_recovered(seed):
    ws = _grid_workloads()
    samples = unit_cost_samples(ws, COSTS, T0, noise=0.05, outliers=0.03, seed=seed)
    model = fit_costs("synthetic", ws, [float(np.median(s)) for s in samples], n_boot=100, seed=seed)
    got = dict(zip(["t0", *(t.key for t in model.terms)], model.theta, strict=True))
    for key, truth in [("t0", T0), *COSTS.items()]:
        assert got[key] == pytest.approx(truth, rel=0.10), key
    point, low, high = model.predict(100, 100)
    truth = _true(Workload(100, 100))
    assert point == pytest.approx(truth, rel=0.10)
    assert low <= point <= high
    shares = model.shares(1000, 1000)
    assert shares["predict+preprocess+rows_predicted+evaluate"] > 0.99  # the m*n term takes over


def test_too_few_cells_is_an_error():
    ws = [Workload(k, k) for k in (1, 2, 4)]
    with pytest.raises(ValueError, match="3 cells are too few to fit t0 and 2 unit cost"):
        fit_costs("small", ws, [1.0, 2.0, 3.0])


@pytest.fixture
def results(tmp_path):
    """GrowthGrid (serial) results generated from known unit costs, and a fake benchmark."""
    ws = [Workload(m, n) for m in GRID for n in GRID]
    grid = {"growth.GrowthGrid.time_update": unit_cost_samples(ws, COSTS, T0, seed=7)}
    fake = {"fake.Fake.time_x": [[1.0], [2.0], [3.0]]}
    write_results(
        tmp_path,
        {
            "growth.GrowthGrid.time_update": (GRID_PARAMS[0], GRID_PARAMS[1](GRID)),
            "fake.Fake.time_x": (["n_models"], [["1", "2", "3"]]),
        },
        [("a" * 40, 1, {**grid, **fake})],
    )
    return tmp_path


def test_cost_models_fit_validate_and_skip_what_cannot_be_planned(results):
    warnings = []
    (sc,) = cost_models(results, benchmark_dir=SUITE, warn=warnings.append)
    assert sc.model.series == "growth.GrowthGrid.time_update(executor=serial)"
    (held,) = sc.held_out
    assert held["sizes"] == {"n_models": 16, "n_batches": 16}
    assert abs(held["cost_model_error"]) < 0.10 and "exponent_model_error" in held
    assert any("fake.Fake" in w for w in warnings)


def _cli(argv, capsys):
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_cli_predict_json(results, capsys):
    status, out, _ = _cli(
        [
            "scaling",
            "predict",
            "100x100",
            "--results",
            str(results),
            "--benchmarks",
            str(SUITE),
            "--series",
            "GrowthGrid",
            "--json",
        ],
        capsys,
    )
    assert status == 0
    (row,) = json.loads(out)
    assert set(row) == {"series", "size", "seconds", "low", "high"} and row["size"] == "100x100"
    assert row["seconds"] == pytest.approx(_true(Workload(100, 100)), rel=0.10)
    assert row["low"] <= row["seconds"] <= row["high"]


def test_cli_predict_text_defaults_to_the_seed_sizes(results, capsys):
    status, out, _ = _cli(["scaling", "predict", "--results", str(results), "--benchmarks", str(SUITE)], capsys)
    assert status == 0
    assert "10x10" in out and "100x100" in out and "1000x1000" in out
    assert "ms per model-batch visit" in out and "ms per fit" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--series", "fake"], "benchmark module 'fake' cannot be imported"),
        (["--series", "GrowthGrid", "--commit", "deadbeef"], "commit 'deadbeef' has no results"),
        (["10by10"], "'10by10' is not MxN"),
        (["0x10"], "'0' is not a whole number >= 1"),
        (["--series", "NoSuchSeries"], "no series in"),
    ],
)
def test_cli_predict_bad_input(results, capsys, args, message):
    status, out, err = _cli(
        ["scaling", "predict", *args, "--results", str(results), "--benchmarks", str(SUITE)], capsys
    )
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_cli_predict_too_few_cells(tmp_path, capsys):
    ws = [Workload(k, k) for k in (1, 2, 4)]  # k^2 visits and k fits: t0 and 2 unit costs need 4 cells
    write_results(
        tmp_path,
        {"growth.QuadraticDiagonal.time_update": (["k"], [["1", "2", "4"]])},
        [("b" * 40, 1, {"growth.QuadraticDiagonal.time_update": unit_cost_samples(ws, COSTS, T0)})],
    )
    argv = ["scaling", "predict", "--series", "Diagonal", "--results", str(tmp_path), "--benchmarks", str(SUITE)]
    status, _, err = _cli(argv, capsys)
    assert status == 2 and "has 3 cells, too few to fit (needs 4)" in err, err


def test_plan_predict_says_why_a_plan_cannot_be_predicted(results, capsys):
    argv = [
        "plan",
        "100x100",
        "--predict",
        "--strategy",
        "full",
        "triggered",
        "--results",
        str(results),
        "--benchmarks",
        str(SUITE),
    ]
    status, out, err = _cli(argv, capsys)
    assert status == 2 and out == ""
    (error,) = [
        line for line in err.splitlines() if line.startswith("mlupdate: error:")
    ]  # beside the fixture's warning
    assert "--predict: no serial series of strategy 'triggered' in order 'model-major' has been measured" in error


def test_plan_predict_column(results, capsys):
    status, out, _ = _cli(
        ["plan", "100x100", "--predict", "--strategy", "full", "--results", str(results), "--benchmarks", str(SUITE)],
        capsys,
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[1].split()[-1] == "predicted"
    full = next(line for line in lines if " full " in line)
    assert full.split()[-1] == "s" and float(full.split()[-2]) == pytest.approx(_true(Workload(100, 100)), rel=0.1)
    assert "unit costs of growth.GrowthGrid.time_update(executor=serial)" in out
    assert "note:" not in out  # the plan counts the rows of the workload that prices it
    where = ["--results", str(results), "--benchmarks", str(SUITE)]
    rows = json.loads(_cli(["plan", "100x100", "--predict", "--json", "--strategy", "full", *where], capsys)[1])
    measured = Workload(100, 100)
    assert (rows[0]["rows_predicted"], "note" in rows[0]["predicted"]) == (100 * 100 * measured.rows_per_batch, False)
    _, out, _ = _cli(["plan", "100x100", "--predict", "--strategy", "full", "--rows", "999", *where], capsys)
    assert (
        f"note: priced at the measured {measured.rows_per_batch} rows per batch" in out and "not the plan's 999" in out
    )


def test_a_workload_that_raises_is_reported_as_ours_with_its_cell(tmp_path):
    from mlupdate.bench.suite.catalog import NoWorkload, WorkloadFailed, workload_of
    from mlupdate.errors import UsageError

    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    (suite / "broken.py").write_text(
        "class Cell:\n"
        "    params = [[1, 2]]\n"
        "    param_names = ['k']\n"
        "    def workload(self, k):\n"
        "        if k == 2:\n"
        "            raise NotImplementedError('k=2 is not a combination of this benchmark')\n"
        "        return {}['missing']\n"
    )
    with pytest.raises(WorkloadFailed, match=r"broken\.Cell\('1',\)\.workload\(\) failed: KeyError: 'missing'") as info:
        workload_of("broken.Cell.time_update", ["1"], suite)
    assert not isinstance(info.value, UsageError)  # a bug of ours is never bad input
    with pytest.raises(NoWorkload, match="k=2 is not a combination"):
        workload_of("broken.Cell.time_update", ["2"], suite)


def test_a_unit_cost_the_data_cannot_separate_from_zero_is_said_so():
    ws = _grid_workloads()
    costs = {k: (0.0 if k == "fit" else u) for k, u in COSTS.items()}  # a fit costs nothing here
    samples = unit_cost_samples(ws, costs, T0, noise=0.05, outliers=0.0, seed=1)
    model = fit_costs("synthetic", ws, [float(np.median(s)) for s in samples], n_boot=100, seed=1)
    assert "fit" in {t.key for t in model.terms}
    fit = next(i for i, t in enumerate(model.terms, 1) if t.key == "fit")
    assert not model.resolved(fit) and "fit" in model.unresolved
    text = model.describe()
    assert "not resolved (<" in text and "e-1" not in text  # never 1e-19 with an interval over 20 decades
    assert next(t for t in model.to_dict()["terms"] if t["per"] == "fit")["resolved"] is False
    # a plan priced on these unit costs names the term it could not price (`plan --predict`)
    w = model.workload
    plan = Plan(8, 8, w.rows_per_batch, w.history_rows, w.order, w.strategy)
    (row,) = predict_plans([plan], [SeriesCosts(None, model, [])])
    assert "fit" in row["not_resolved"] and row["low"] <= row["seconds"] <= row["high"]


def test_a_benchmark_that_extends_another_s_grid_joins_its_series_and_is_never_held_out(tmp_path):
    """StrategyGrowthLongRuns' home is StrategyGrowth (``SERIES_HOMES``): per strategy one cost model
    over both grids (15 + 2 cells), whose held-out check keeps to StrategyGrowth's own corner."""
    growth, long = "strategies.StrategyGrowth.time_update", "strategies.StrategyGrowthLongRuns.time_update"
    strategies, models, batches = ["full", "shared"], [1, 2, 4, 8, 16], [1, 4, 16]

    def samples(name, ms, ns):
        grid = [(s, m, n) for s in strategies for m in ms for n in ns]
        ws = [workload_of(name, [repr(s), str(m), str(n)], SUITE) for s, m, n in grid]
        return unit_cost_samples(ws, COSTS, T0, outliers=0.0, seed=len(ms))

    names = ["strategy", "n_models", "n_batches"]
    write_results(
        tmp_path,
        {
            growth: (names, [[repr(s) for s in strategies], list(map(str, models)), list(map(str, batches))]),
            long: (names, [[repr(s) for s in strategies], ["2"], ["32", "64"]]),
        },
        [("a" * 40, 1, {growth: samples(growth, models, batches), long: samples(long, [2], [32, 64])})],
    )
    found = cost_models(tmp_path, benchmark_dir=SUITE)
    assert sorted(sc.model.series for sc in found) == [f"{growth}(strategy={s})" for s in strategies]
    for sc in found:
        assert len(sc.series.cells) == 17
        assert {c.benchmark for c in sc.series.cells} == {None, long}
        assert [h["sizes"] for h in sc.held_out] == [{"n_models": 16, "n_batches": 16}]
