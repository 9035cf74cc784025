"""Each commit's own counts: noted by the timed runs, stored beside the results, priced by compare."""

from __future__ import annotations

import dataclasses
import json
import math
import types
from pathlib import Path

import numpy as np
import pytest

from mlupdate.bench.compare.series import open_units
from mlupdate.bench.results.counts import (
    COUNTS_DIR_VAR,
    RecordedCounts,
    collect,
    fit_formula,
    read_counts,
    write_counts,
)
from mlupdate.bench.scaling.costs import fit_costs, plan_counts
from mlupdate.bench.scaling.prices import price_series
from mlupdate.bench.stats import CellRounds
from mlupdate.bench.suite.catalog import workload_of
from mlupdate.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
GROWTH = "strategies.StrategyGrowth.time_update"
GRID = [(m, n) for m in (1, 2, 4, 8, 16) for n in (1, 4, 16)]


@pytest.mark.parametrize("strategy", ["full", "shared", "incremental", "none"])
def test_every_plan_count_has_an_exact_formula_that_prices_other_sizes(strategy):
    counts = [Plan(m, n, 200, 1000, strategy=strategy).counts() for m, n in GRID]
    for key in counts[0]:
        formula = fit_formula(GRID, [c[key] for c in counts])
        assert formula is not None, key
        assert formula(1000, 1000) == Plan(1000, 1000, 200, 1000, strategy=strategy).counts()[key], key


def test_formulas_read_as_a_reviewer_writes_them():
    fits = fit_formula(GRID, [m * n for m, n in GRID])
    rows = fit_formula(GRID, [200 * m * n + 1000 * m for m, n in GRID])
    assert (fits.text(), rows.text()) == ("m·n", "200·m·n + 1000·m")
    assert fit_formula(GRID, [m**3 for m, n in GRID]) is None  # not a count of this loop: no formula, no guess
    assert fit_formula(GRID, [0] * len(GRID)).text() == "0"


def test_recorded_counts_round_trip_and_merge(tmp_path):
    result = tmp_path / "abcd1234-env.json"
    first = RecordedCounts("c" * 40, {'{"n_models": 1}': {"fit": 1}})
    assert write_counts(result, first) == tmp_path / "abcd1234-env.counts"
    write_counts(result, RecordedCounts("c" * 40, {'{"n_models": 2}': {"fit": 2}}))
    stored = read_counts(result)
    assert stored == RecordedCounts.from_json(stored.to_json())
    assert stored.counts == {'{"n_models": 1}': {"fit": 1}, '{"n_models": 2}': {"fit": 2}}
    assert read_counts(tmp_path / "other.json") is None
    with pytest.raises(ValueError, match="version 9 is not 1"):
        RecordedCounts.from_json({"version": 9, "commit": "x", "counts": {}})


def test_a_timed_benchmark_notes_its_first_runs_counts_once(tmp_path, monkeypatch):
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv(COUNTS_DIR_VAR, str(tmp_path))
    growth = importlib.import_module("benchmarks.growth")
    bench = growth.GrowthGrid()
    bench.setup(2, 3, "serial")
    for _ in range(3):  # asv's warm-up, then the timed samples
        bench.time_update(2, 3, "serial")
    (note,) = tmp_path.glob("*.json")
    recorded = collect(tmp_path, "c" * 40)
    assert recorded.of(bench.prepared.workload) == Plan(2, 3, 200, 1000).counts()
    assert "run" not in vars(bench.prepared)  # later calls go straight to the commit's own method
    (tmp_path / "half.json").write_text('{"workload": ')  # a process killed mid-note
    assert collect(tmp_path, "c" * 40).counts == recorded.counts
    assert "benchmarks.growth" in sys.modules and note.stat().st_size > 0


def _cells(
    change: str, rng, rounds: int = 12, fit_cost: float = 1.0, noise: float = 0.02, score: float = 0.0, row: float = 0.0
) -> tuple[list[CellRounds], RecordedCounts, RecordedCounts]:
    """StrategyGrowth's full cells over ``rounds`` paired rounds, timed as a cost model says, with
    BASE's counts and HEAD's (``fit``: a refit after every batch, m -> m*n fits, each costing what it
    did); HEAD's fits cost ``fit_cost`` times BASE's. Each round's value scatters by ``noise`` (sd of
    its log) on each side on its own, as a process does."""
    cells, base, head = [], {}, {}
    for m, n in GRID:
        params = ("'full'", str(m), str(n))
        w = workload_of(GROWTH, list(params), ROOT / "benchmarks")
        cb = plan_counts(w)
        ch = {**cb, "fit": m * n} if change in ("fit", "strategy") else dict(cb)
        if change == "strategy":  # the held-out change: each refit on the history and the batches so far
            ch["rows_trained"] = 100 * m * n * n + 1100 * m * n
        times = [
            1e-3 + 2e-4 * c["predict"] + 3e-3 * k * c["fit"] + score * c["score"] + row * c["rows_trained"]
            for c, k in ((cb, 1.0), (ch, fit_cost))
        ]
        base_t, head_t = (t * np.exp(rng.normal(0, noise, rounds)) for t in times)
        cells.append(CellRounds(GROWTH, params, ("strategy", "n_models", "n_batches"), tuple(base_t), tuple(head_t)))
        key = json.dumps(dataclasses.asdict(w), sort_keys=True, default=str)
        base[key], head[key] = cb, ch
    return cells, RecordedCounts("b" * 40, base), RecordedCounts("h" * 40, head)


def _price(change: str, seed: int = 0, n_boot: int = 200, factor: float = 1.05, **kwargs):
    cells, base, head = _cells(change, np.random.default_rng(seed), **kwargs)
    workload = lambda c: workload_of(c.benchmark, list(c.params), ROOT / "benchmarks")  # noqa: E731
    (price,) = price_series(cells, workload, (base, head), factor, factor - 1, n_boot=n_boot)
    return price


def test_a_refit_per_batch_is_priced_with_heads_own_counts():
    price = _price("fit")
    assert [(c.count, c.base_formula, c.head_formula) for c in price.counts_changed] == [("fit", "m", "m·n")]
    expected = {"count": "fit", "size": "16x16", "base": 16, "head": 256, "base_formula": "m", "head_formula": "m·n"}
    assert price.counts_changed[0].to_dict() == expected
    fit = next(u for u in price.unit_costs if u.per == "fit")
    assert fit.verdict == "same" and fit.low <= 1 <= fit.high
    top = price.predicted[-1]
    assert top.size == "1000x1000" and top.ratio >= 10 and top.low >= 10
    assert "fit: m -> m·n" in price.summary() and "1000x1000" in price.summary()
    assert price.counts_from == ("recorded", "recorded")


def test_a_fit_is_compared_with_a_fit_net_of_the_holdout_score_and_the_rows_it_trains():
    """The held-out change as the machine times it: a model's holdout score (m of them on both sides)
    and every row trained cost time too. BASE's m fits are also its m scores; HEAD's m·n fits are
    not: the joint fit prices the score apart, so a fit that costs what it did reads `same`
    (priced with BASE's terms, it read 0.6-0.75x here, as the real change did), and a dearer fit
    reads slower (compare's factor and band, 10%)."""
    for seed in range(3):
        price = _price("strategy", seed, factor=1.1, score=2e-3, row=4e-7)
        units = {u.per: u for u in price.unit_costs}
        assert units["fit"].verdict == "same", units["fit"]
        assert units["model scored on holdout"].verdict == "shared (its counts did not change)"
        assert units["row trained"].verdict == "shared (only HEAD's counts price it apart)"
        assert units["fit"].base == pytest.approx(3e-3, rel=0.15) and units["fit"].head == pytest.approx(3e-3, rel=0.15)
    dearer = {u.per: u for u in _price("strategy", 0, factor=1.1, score=2e-3, row=4e-7, fit_cost=1.3).unit_costs}
    assert dearer["fit"].verdict == "slower", dearer["fit"]


def test_the_same_code_changes_no_count_and_no_unit_cost():
    for seed in range(3):
        price = _price("none", seed)
        assert price.counts_changed == []
        assert {u.verdict for u in price.unit_costs} == {"same"}
        for row in price.predicted:  # the ratio over the paired rounds holds no change
            assert row.low <= 1 <= row.high, row


def test_unit_cost_verdicts_hold_their_level_over_the_rounds_and_see_a_dearer_fit():
    """The ratio of two unit costs is judged over the paired rounds: on the same code with per-round
    noise as this machine's (sd 0.06 of a round's log), no unit reads faster or slower in 12 draws,
    however few degrees of freedom the cells leave each fit; fits 50% dearer read slower. (The
    ratios do not use the sides' bootstrap draws: a few of them keep the test short.)"""
    draws = [_price("none", seed, n_boot=10, noise=0.06) for seed in range(12)]
    verdicts = [u.verdict for price in draws for u in price.unit_costs]
    assert not {"faster", "slower"} & set(verdicts), verdicts
    dearer = next(u for u in _price("none", 0, n_boot=10, fit_cost=1.5).unit_costs if u.per == "fit")
    assert dearer.verdict == "slower" and dearer.low > 1.05, dearer
    # 2 rounds (a nightly step): one degree of freedom per cell, pooled over the series' cells by the
    # series model, so a unit cost is judged; a seed size's ratio, a jackknife over rounds, is not
    two = _price("none", 0, n_boot=10, rounds=2)
    few = next(u for u in two.unit_costs if u.per == "fit")
    assert few.low is not None and few.low < 1 < few.high and few.estimate.df >= 6, few
    assert f"a fit costs {few.verdict} (x{few.ratio:.3g} [" in two.summary()
    assert two.predicted[-1].low is None and "(no interval))" in two.summary()


def test_instruction_counts_are_priced_in_instructions():
    """``compare --mode instructions`` prices a series from counts, not seconds: its unit costs are
    instructions per visit and per fit, and its predictions are worded as instructions."""
    from mlupdate.cli.render import _seed_rows, _unit_rows

    cells, base, head = _cells("fit", np.random.default_rng(0))
    counted = [
        dataclasses.replace(c, base=tuple(1e9 * v for v in c.base), head=tuple(1e9 * v for v in c.head)) for c in cells
    ]
    (price,) = price_series(
        counted,
        lambda c: workload_of(c.benchmark, list(c.params), ROOT / "benchmarks"),
        (base, head),
        1.01,
        0.01,
        unit="instructions",
    )
    assert price.unit == "instructions" and price.to_dict()["unit"] == "instructions"
    assert "G instructions" in price.summary() and " ms" not in price.summary() and " s " not in price.summary()
    assert [(c.count, c.head_formula) for c in price.counts_changed] == [("fit", "m·n")]
    table = types.SimpleNamespace(prices=[price])
    assert all("instructions" in row[2] and "instructions" in row[3] for row in _seed_rows(table))
    assert all("instructions" in row[2] for row in _unit_rows(table) if row[2] != "-")


def test_counts_measured_once_get_unit_cost_verdicts_from_the_cells():
    """One round of exact counts has no rounds to spread over: a unit cost's ratio is judged from
    the cells (the cost model's misfit, here 0.1% per cell), so the fit reads same on a refit per
    batch that costs what it did, and slower where each fit costs 10% more."""

    def price(fit_cost: float):
        cells, base, head = _cells("fit", np.random.default_rng(0), rounds=1, fit_cost=fit_cost, noise=0.001)
        workload = lambda c: workload_of(c.benchmark, list(c.params), ROOT / "benchmarks")  # noqa: E731
        (found,) = price_series(cells, workload, (base, head), 1.01, 0.01, n_boot=50, unit="instructions", exact=True)
        return found

    same, dearer = price(1.0), price(1.1)
    fit = next(u for u in same.unit_costs if u.per == "fit")
    assert fit.verdict == "same" and 0.99 <= fit.low <= 1 <= fit.high <= 1.01, fit
    top = same.predicted[-1]
    assert top.low is not None and top.low <= top.ratio <= top.high and top.ratio >= 10
    fit = next(u for u in dearer.unit_costs if u.per == "fit")
    assert fit.verdict == "slower" and fit.low > 1.05, fit


def test_a_side_without_recorded_counts_is_priced_with_the_plan_and_says_so():
    cells, base, _ = _cells("none", np.random.default_rng(0))
    (price,) = price_series(
        cells, lambda c: workload_of(c.benchmark, list(c.params), ROOT / "benchmarks"), (base, None), 1.05, 0.05
    )
    assert price.counts_from == ("recorded", "plan")
    assert "HEAD priced with the plan's counts" in price.summary()


def test_a_cost_model_from_recorded_counts_predicts_with_the_commits_formulas():
    workloads = [workload_of(GROWTH, ["'full'", str(m), str(n)], ROOT / "benchmarks") for m, n in GRID]
    counts = [{**plan_counts(w), "fit": w.n_models * w.n_batches} for w in workloads]
    times = [1e-3 + 2e-4 * c["predict"] + 3e-3 * c["rows_trained"] / 1000 for c in counts]
    model = fit_costs(GROWTH, workloads, times, n_boot=20, counts=counts)
    assert model.counted == "recorded" and model.formulas["fit"].text() == "m·n"
    assert model.counts(1000, 1000)["fit"] == 1_000_000  # the plan says 1000
    assert "counts recorded by the commit's own runs" in model.describe()
    planned = fit_costs(GROWTH, workloads, times, n_boot=20)
    assert planned.counted == "plan" and "counts from the plan" in planned.describe()
    assert math.isclose(model.predict(16, 16)[0], times[-1], rel_tol=0.05)


def test_a_step_prices_its_series_with_each_sides_counts_and_the_steps_page_says_so():
    from mlupdate.bench.nightly.step import judge_step
    from mlupdate.bench.site.steps_page import _commit_section

    cells, base, head = _cells("fit", np.random.default_rng(1))
    doc = judge_step(
        cells,
        0.05,
        lambda group: [workload_of(c.benchmark, list(c.params), ROOT / "benchmarks") for c in group],
        recorded=(base, head),
    )
    (price,) = doc["prices"]
    assert price["counts_changed"][0]["head_formula"] == "m·n" and price["counts_from"]["head"] == "recorded"
    assert price["predicted"][-1]["size"] == "1000x1000" and price["predicted"][-1]["ratio"] >= 10
    step = {"kind": "step", "base": "b" * 40, "head": "h" * 40, "rounds": 4, "seconds": 60.0, "threshold": 0.05}
    page = _commit_section({**step, **doc})
    assert "fit: m -&gt; m·n" in page and "1000x1000" in page
    # the chained history's unit costs too, from each side's own counts: HEAD's fits (m*n) are as many
    # as its visits, so neither unit has a ratio of its own; the plan's m fits read the fit x16 dearer
    assert [u for u in doc["units"] if u["moved"]] == [], doc["units"]


def test_a_grid_that_holds_a_size_fixed_gives_no_formula_to_extrapolate():
    from mlupdate.bench.scaling.costs import count_formulas

    workloads = [
        workload_of("strategies.StrategiesOrders.time_update", ["'full'", "'model-major'", str(m)], ROOT / "benchmarks")
        for m in (4, 16)
    ]
    assert count_formulas(workloads, [plan_counts(w) for w in workloads]) is None  # n = 8 throughout


def test_a_run_kept_before_its_first_call_can_be_called_again(tmp_path, monkeypatch):
    """ParallelEfficiency keeps ``prepared.run`` in a dict and calls it three times."""
    import importlib

    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv(COUNTS_DIR_VAR, str(tmp_path))
    common = importlib.import_module("benchmarks.common")
    prepared = common.Workload(2, 1).prepare()
    kept = prepared.run
    reports = [kept() for _ in range(3)]
    assert all(r.counts["fit"] == 2 for r in reports)
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_only_a_same_work_series_with_a_unit_cost_more_rounds_can_decide_holds_the_rounds():
    """compare's rounds go on for a series whose unit costs are undecided where both sides counted the
    same work and the rounds left could decide them (more rounds narrow the series model's ratios);
    not once no round is left, and not where the counts changed (a joint fit over both sides'
    cells, which more rounds do not separate)."""

    def held(change, rounds, noise, max_rounds=12):
        cells, base, head = _cells(change, np.random.default_rng(0), rounds=rounds, noise=noise)
        workload = lambda c: workload_of(c.benchmark, list(c.params), ROOT / "benchmarks")  # noqa: E731
        (price,) = price_series(cells, workload, (base, head), 1.05, 0.05, sizes=(), n_boot=50)
        return price, open_units([price], rounds, max_rounds, 1.05, 0.05)

    price, still = held("none", 4, 0.04)
    assert "undecided" in {u.verdict for u in price.unit_costs} and still == {price.series}
    assert price.predicted == []  # no sizes asked: none priced
    assert held("none", 4, 0.04, max_rounds=4)[1] == set()  # no round left to narrow it
    assert held("none", 4, 0.3)[1] == set()  # 12 rounds of this noise cannot fit it in the band
    price, still = held("none", 12, 0.02)
    assert {u.verdict for u in price.unit_costs} == {"same"} and still == set()
    price, still = held("fit", 4, 0.04)
    assert "undecided" in {u.verdict for u in price.unit_costs} and still == set()


LONG = "strategies.StrategyGrowthLongRuns.time_update"


def _refit_per_batch(rng, long: bool, rounds: int = 4, noise: float = 0.06):
    """StrategyGrowth's full cells (and, with ``long``, StrategyGrowthLongRuns' 2x32 and 2x64) timed as
    ``1 ms + 2 ms per visit + 0.9 ms per fit + 0.44 µs per row trained`` (this machine's figures for
    ridge refits, ``tools/time_sizes.py``), BASE refitting once per model, HEAD after every batch
    (its rows grow as n²); and HEAD's true ratio at 1000x1000."""
    grid = [(GROWTH, m, n) for m, n in GRID] + ([(LONG, 2, 32), (LONG, 2, 64)] if long else [])
    cells, base, head = [], {}, {}

    def seconds(c):
        return 1e-3 + 2e-3 * c["predict"] + 0.9e-3 * c["fit"] + 0.44e-6 * c["rows_trained"]

    def counts(w, refits):
        plan = plan_counts(w)
        trained = sum(w.history_rows + i * w.rows_per_batch for i in range(1, w.n_batches + 1))
        return {**plan, "fit": w.n_models * w.n_batches, "rows_trained": w.n_models * trained} if refits else plan

    for benchmark, m, n in grid:
        cell = CellRounds(benchmark, ("'full'", str(m), str(n)), ("strategy", "n_models", "n_batches"), (), ())
        w = workload_of(benchmark, list(cell.params), ROOT / "benchmarks")
        cb, ch = counts(w, False), counts(w, True)
        bt, ht = (seconds(c) * np.exp(rng.normal(0, noise, rounds)) for c in (cb, ch))
        cells.append(dataclasses.replace(cell, base=tuple(bt), head=tuple(ht)))
        key = json.dumps(dataclasses.asdict(w), sort_keys=True, default=str)
        base[key], head[key] = cb, ch
    top = dataclasses.replace(w, n_models=1000, n_batches=1000)
    truth = seconds(counts(top, True)) / seconds(counts(top, False))
    return cells, (RecordedCounts("b" * 40, base), RecordedCounts("h" * 40, head)), truth


def test_many_batches_priced_with_the_growth_grid_pin_a_refit_per_batch_at_the_seed_s_size():
    """StrategyGrowthLongRuns' cells belong to StrategyGrowth's series (``SERIES_HOMES``), and
    with them the rows a refit per batch trains (n², which n <= 16 barely shows under a few rounds'
    noise) are priced: HEAD's 1000x1000 ratio keeps the truth inside and its interval narrows."""
    widths = {}
    for long in (False, True):
        widths[long] = []
        for seed in range(6):
            cells, recorded, truth = _refit_per_batch(np.random.default_rng(seed), long)
            workload = lambda c: workload_of(c.benchmark, list(c.params), ROOT / "benchmarks")  # noqa: E731
            (price,) = price_series(cells, workload, recorded, 1.1, 0.1, n_boot=50)
            assert price.series == "strategies.StrategyGrowth.time_update(strategy=full)"
            top = price.predicted[-1]
            assert top.size == "1000x1000" and top.low <= truth <= top.high, (long, seed, top, truth)
            widths[long].append(math.log(top.high / top.low))
    assert np.median(widths[True]) < 0.6 * np.median(widths[False]), widths
