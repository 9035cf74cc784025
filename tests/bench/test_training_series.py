"""A series that times part of the update (``StrategyGrowthTraining``: its training stages alone) is
priced by the counts its time is made of, so a fit's unit cost is read on both sides of a change
that refits after every batch."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from mlupdate.bench.instructions.cells import not_counted
from mlupdate.bench.results.counts import RecordedCounts
from mlupdate.bench.scaling.costs import fit_costs, plan_counts
from mlupdate.bench.scaling.prices import price_series
from mlupdate.bench.stats import CellRounds
from mlupdate.bench.suite.catalog import workload_of
from mlupdate.bench.suite.timed import PART_TIMED, part_timed, timed_counts

ROOT = Path(__file__).resolve().parents[2]
TRAINING = "strategies.StrategyGrowthTraining.time_training"
GROWTH = "strategies.StrategyGrowth.time_update"
NAMES = ("strategy", "n_models", "n_batches")
GRID = [(m, n) for m in (1, 2, 4) for n in (1, 4, 16, 64)]


def _workload(cell: CellRounds):
    return workload_of(cell.benchmark, list(cell.params), ROOT / "benchmarks")


def _refit_counts(w) -> dict[str, int]:
    """The held-out change's counts: a refit after every batch, on the history and the batches so far."""
    trained = sum(w.history_rows + i * w.rows_per_batch for i in range(1, w.n_batches + 1))
    return {**plan_counts(w), "fit": w.n_models * w.n_batches, "rows_trained": w.n_models * trained}


def _training_cells(rng, fit_cost: float = 1.0, rounds: int = 12, noise: float = 0.04):
    """StrategyGrowthTraining's full cells timed as a training stage is (0.8 ms per fit, 0.4 µs per row
    trained: ``tools/measure_fit_cost.py``'s figures; a visit or a score takes no training time),
    BASE refitting once per model, HEAD after every batch with fits ``fit_cost`` times as dear."""
    cells, base, head = [], {}, {}
    for m, n in GRID:
        params = ("'full'", str(m), str(n))
        cell = CellRounds(TRAINING, params, NAMES, (), ())
        w = _workload(cell)
        cb, ch = plan_counts(w), _refit_counts(w)
        bt, ht = (
            (0.8e-3 * k * c["fit"] + 0.4e-6 * c["rows_trained"]) * np.exp(rng.normal(0, noise, rounds))
            for c, k in ((cb, 1.0), (ch, fit_cost))
        )
        cells.append(dataclasses.replace(cell, base=tuple(bt), head=tuple(ht)))
        key = json.dumps(dataclasses.asdict(w), sort_keys=True, default=str)
        base[key], head[key] = cb, ch
    return cells, (RecordedCounts("b" * 40, base), RecordedCounts("h" * 40, head))


def test_a_part_timed_series_keeps_only_the_counts_of_its_part():
    counts = plan_counts(workload_of(GROWTH, ["'full'", "4", "4"], ROOT / "benchmarks"))
    assert {"predict", "score", "fit", "rows_trained"} <= set(counts)
    assert timed_counts(f"{GROWTH}(strategy=full)", counts) == counts
    training = timed_counts(f"{TRAINING}(strategy=full)", counts)
    assert training == {k: counts[k] for k in ("fit", "partial_fit", "rows_trained") if k in counts}
    assert part_timed(TRAINING) == PART_TIMED[TRAINING] and part_timed(GROWTH) is None


def test_a_training_series_cost_model_has_the_training_terms_alone():
    cells, _ = _training_cells(np.random.default_rng(0), rounds=1)
    workloads = [_workload(c) for c in cells]
    model = fit_costs(f"{TRAINING}(strategy=full)", workloads, [c.base[0] for c in cells], n_boot=20)
    assert [t.what for t in model.terms] == ["fit", "row trained"]
    assert abs(model.theta[1] / 0.8e-3 - 1) < 0.15 and abs(model.theta[2] / 0.4e-6 - 1) < 0.15


def test_a_fit_reads_the_same_through_the_training_stages_and_a_dearer_fit_reads_slower():
    """Over a change that refits after every batch, the training series prices a fit on both sides
    (its counts, m -> m·n, and its rows are told apart by the rows per fit, which grow with n): a fit
    that costs what it did never reads slower or faster in 10% (compare's default band), reads
    `same` in most draws of 12 rounds (30 of 40 here at this noise, the others `undecided`; its 99%
    interval held 1 in all 40), and
    one 30% dearer reads `slower`."""
    verdicts = []
    for seed in range(20):
        cells, recorded = _training_cells(np.random.default_rng(seed))
        (price,) = price_series(cells, _workload, recorded, 1.1, 0.1, n_boot=50)
        assert price.series == f"{TRAINING}(strategy=full)"
        assert [c.count for c in price.counts_changed] == ["fit", "rows_trained"]
        assert (price.counts_changed[0].base_formula, price.counts_changed[0].head_formula) == ("m", "m·n")
        units = {u.per: u for u in price.unit_costs}
        assert set(units) == {"fit", "row trained"}  # no visit, no score: they take no training time
        assert units["fit"].low <= 1 <= units["fit"].high, units["fit"]
        assert "at 1000x1000 its training goes from" in price.summary()
        verdicts.append(units["fit"].verdict)
    assert set(verdicts) <= {"same", "undecided"} and verdicts.count("same") >= 10, verdicts
    cells, recorded = _training_cells(np.random.default_rng(0), fit_cost=1.3)
    (price,) = price_series(cells, _workload, recorded, 1.1, 0.1, n_boot=50)
    assert {u.per: u for u in price.unit_costs}["fit"].verdict == "slower"


def test_a_part_timed_benchmark_is_not_counted_under_callgrind():
    why = not_counted(TRAINING, ("'full'", "1", "1"), ROOT / "benchmarks")
    assert why is not None and "part of its call" in why
    assert not_counted(GROWTH, ("'full'", "1", "1"), ROOT / "benchmarks") is None
