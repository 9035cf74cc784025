"""The one statistical core: the balanced design, the series model, the verdict rule, bias by seat."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlupdate.bench.runner.design import Design, RoundPlan
from mlupdate.bench.stats import (
    CellData,
    CellRounds,
    Estimate,
    SeatedRound,
    cell_data,
    cell_variances,
    fit_series_models,
    fit_unit_ratios,
    is_confirmed_change,
    seat_effects,
    verdict_of,
)

NAMES = ("n_models", "n_batches", "executor")
GRID = (1, 4, 16)


@pytest.mark.parametrize("seed", range(20))
def test_every_even_number_of_rounds_is_balanced_in_core_and_start(seed):
    design = Design(seed)
    plans = [design.plan(r) for r in range(12)]
    for n in range(2, 13, 2):
        assert sum(p.swap for p in plans[:n]) == n // 2
        assert sum(p.first for p in plans[:n]) == n // 2
    for block in range(3):  # each block of four holds every (assignment, start) pair once
        assert {(p.swap, p.first) for p in plans[4 * block : 4 * block + 4]} == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_round_zero_has_no_fixed_seat_and_the_draws_are_reproducible():
    firsts = {(Design(seed).plan(0).swap, Design(seed).plan(0).first) for seed in range(40)}
    assert len(firsts) == 4
    assert [Design(5).plan(r) for r in range(8)] == [Design(5).plan(r) for r in range(8)]
    restored = Design.from_json(Design(5).to_json())
    assert restored.plan(3) == Design(5).plan(3)
    assert RoundPlan.from_json(Design(5).plan(2).to_json()) == Design(5).plan(2)


def test_each_side_environment_folder_is_drawn_per_run_and_recorded():
    """A folder's files stay in memory where they are for as long as the machine runs: which side
    gets which folder is drawn per run (both ways over many runs), reproducibly, and recorded."""
    drawn = [Design(seed).folders() for seed in range(200)]
    assert set(drawn) == {(0, 1), (1, 0)}
    assert 70 <= sum(d == (0, 1) for d in drawn) <= 130
    assert Design(9).folders() == Design(9).folders()
    assert Design.from_json(Design(9).to_json()).folders() == Design(9).folders()
    assert Design(9).to_json()["folders"] == list(Design(9).folders())


def test_cell_order_is_shuffled_every_round():
    design = Design(3)
    items = list(range(20))
    orders = [design.shuffled(r, items) for r in range(6)]
    assert all(sorted(o) == items for o in orders)
    assert len({tuple(o) for o in orders}) == 6  # a new order each round
    assert len({o[0] for o in orders}) > 1  # no cell always first
    assert design.shuffled(2, items) == orders[2]


def _series(rng, rounds: int, noise: float, level: float = 0.0, delta_b: float = 0.0, own: dict | None = None):
    cells = []
    for m in GRID:
        for n in GRID:
            base = 0.01 * m * n**0.7 * np.exp(rng.normal(0, noise, rounds))
            shift = level + delta_b * math.log(n / 4) + (own or {}).get((m, n), 0.0)
            head = 0.01 * m * n**0.7 * np.exp(shift + rng.normal(0, noise, rounds))
            cells.append(CellRounds("g.G.time_update", (str(m), str(n), "'serial'"), NAMES, tuple(base), tuple(head)))
    return cells


def _verdicts(model, factor=1.05, band=0.05):
    level = verdict_of(model.level, math.log(factor), math.log1p(band))
    return level, {k: verdict_of(e, 0.1, 0.1) for k, e in model.deltas.items()}


@pytest.mark.parametrize("seed", range(5))
def test_same_code_reads_same_for_the_series_level_and_exponents(seed):
    (model,) = fit_series_models(_series(np.random.default_rng(seed), 8, 0.04)).values()
    level, exponents = _verdicts(model)
    assert level == "same" and exponents == {"a": "same", "b": "same"}


@pytest.mark.parametrize("seed", range(5))
def test_a_uniform_five_percent_slowdown_is_slower_in_the_series_before_any_cell_alone(seed):
    # a duet's per-round log ratio scatters by about 0.04 here: 0.03 per side
    cells = _series(np.random.default_rng(seed), 8, 0.03, level=math.log(1.05))
    (model,) = fit_series_models(cells).values()
    level, exponents = _verdicts(model, factor=1.02, band=0.02)
    assert level == "slower" and model.level.mean == pytest.approx(math.log(1.05), abs=0.015)
    assert "slower" not in exponents.values() and "faster" not in exponents.values()
    alone = [
        verdict_of(Estimate(c.logs.mean(), c.logs.std(ddof=1) / math.sqrt(8), 7), math.log(1.02), math.log(1.02))
        for c in cells
    ]
    assert alone.count("slower") < len(cells) // 2  # each cell alone: mostly undecided after 8 rounds


def _duration_series(rng, rounds: int, sds: np.ndarray):
    """A same-code series whose per-round scatter falls with the cell's duration (``sds``, one per cell)."""
    cells = []
    for (m, n), sd in zip([(m, n) for m in GRID for n in GRID], sds, strict=True):
        base = np.full(rounds, 0.01 * m * n)
        head = base * np.exp(rng.normal(0, sd, rounds))
        cells.append(CellRounds("g.G.time_update", (str(m), str(n), "'serial'"), NAMES, tuple(base), tuple(head)))
    return cells


def test_short_noisy_cells_weigh_less_and_the_level_interval_stays_honest():
    durations = np.array([0.01 * m * n for m in GRID for n in GRID])
    sds = 0.04 * durations**-0.4 * np.exp(np.random.default_rng(9).normal(0, 0.3, len(durations)))
    rng = np.random.default_rng(10)
    held, ratio = 0, []
    for _ in range(300):
        cells = _duration_series(rng, 5, sds)
        (model,) = fit_series_models(cells).values()
        low, high = model.level.interval(0.99)
        held += low <= 0 <= high
        # what one variance shared by every cell would give: the cells' mean, its se from the pooled variance
        pooled = np.mean([c.logs.var(ddof=1) for c in cells]) / 5
        ratio.append(model.level.se / math.sqrt(pooled / len(cells)))
        var = cell_variances(cells)
        assert var[cells[-1].label][0] < var[cells[0].label][0]  # the 16x16 cell's curve is lower than 1x1's
    assert held / 300 >= 0.97  # a 99% interval: 297 of 300 expected; 0.97 allows the draws' luck
    assert np.median(ratio) < 0.8  # narrower than with one variance for the series


def _costed_series(rng, rounds: int, fit_ratio: float = 1.0):
    """A serial series costed ``t = 5 ms + 2 ms per visit (m*n) + 10 ms per fit (m)`` on StrategyGrowth's
    grid, its per-round scatter falling with duration as measured; HEAD's fit costs ``fit_ratio``
    times BASE's. Returns its cells and BASE's cost shares."""
    sizes = [(m, n) for m in (1, 2, 4, 8, 16) for n in (1, 4, 16)]
    x = np.array([[1.0, m * n, m] for m, n in sizes])
    theta = np.array([5e-3, 2e-3, 10e-3])
    base_t, head_t = x @ theta, x @ (theta * [1, 1, fit_ratio])
    sds = 0.03 * base_t**-0.3 * np.exp(np.random.default_rng(11).normal(0, 0.3, len(sizes)))
    cells = []
    for (m, n), tb, th, sd in zip(sizes, base_t, head_t, sds, strict=True):
        base = tb * np.exp(rng.normal(0, sd / math.sqrt(2), rounds))
        head = th * np.exp(rng.normal(0, sd / math.sqrt(2), rounds))
        cells.append(CellRounds("g.G.time_update", (str(m), str(n), "'serial'"), NAMES, tuple(base), tuple(head)))
    return cells, x * theta / base_t[:, None]


def test_unit_cost_ratios_of_the_same_code_are_honest_and_read_same():
    """Each unit cost's ratio from the series model over the cells' paired ratios: its 99% interval
    holds the truth (1) in 297 of 300 draws or so, and is narrow enough after 6 rounds to read
    ``same`` within a 10% band for the units that carry the large cells."""
    rng = np.random.default_rng(12)
    held, same = np.zeros(3), np.zeros(3)
    for _ in range(300):
        cells, shares = _costed_series(rng, 6)
        estimates = fit_unit_ratios(cell_data(cells), shares)
        for k, e in enumerate(estimates):
            low, high = e.interval(0.99)
            held[k] += low <= 0 <= high
            same[k] += verdict_of(e, math.log(1.1), math.log(1.1)) == "same"
    assert np.all(held / 300 >= 0.97), held
    assert same[1] / 300 >= 0.9 and same[2] / 300 >= 0.8, same  # the visit (295 here) and the fit (263)


def test_a_dearer_fit_moves_the_fit_s_ratio_and_not_the_visit_s():
    cells, shares = _costed_series(np.random.default_rng(13), 6, fit_ratio=1.3)
    _, visit, fit = fit_unit_ratios(cell_data(cells), shares)
    assert verdict_of(fit, math.log(1.1), math.log(1.1)) == "slower"
    assert fit.mean == pytest.approx(math.log(1.3), abs=0.05)
    assert verdict_of(visit, math.log(1.1), math.log(1.1)) in ("same", "undecided")
    assert abs(visit.mean) < 0.05


def test_a_unit_ratio_fitted_below_zero_is_unbounded_and_kept_out_of_the_chain():
    from mlupdate.bench.scaling.unit_costs import modelled_cost

    shares = np.array([[0.9, 0.1], [0.5, 0.5], [0.1, 0.9]])
    cells = [
        CellData(f"c{k}", {"k": k}, math.log(r), 6, 0.001, 30.0)
        for k, r in zip((1, 2, 4), (0.989, 0.545, 0.1), strict=True)
    ]
    first, second = fit_unit_ratios(cells, shares)
    assert first.mean == pytest.approx(math.log(1.1), abs=0.01)
    assert second.mean == -math.inf and second.interval(0.99) == (-math.inf, math.inf)
    draws = np.full(10, 1e-3)
    cost = modelled_cost("fit", 1e-3, draws, 1e-3, draws, second, math.log(1.1), math.log(1.1))
    assert cost.estimate is None and cost.verdict == "undecided"  # a step neither judges nor chains it


def test_an_exponent_change_is_estimated_from_all_cells():
    (model,) = fit_series_models(_series(np.random.default_rng(1), 4, 0.03, delta_b=0.3)).values()
    _, exponents = _verdicts(model)
    assert exponents["b"] == "slower"  # the rule's word; compare shows it as "grew"
    assert model.deltas["b"].mean == pytest.approx(0.3, abs=0.04) and exponents["a"] == "same"


def test_a_cell_that_moved_alone_widens_the_series_instead_of_pulling_it():
    rng = np.random.default_rng(2)
    quiet = fit_series_models(_series(rng, 6, 0.02)).values()
    moved = fit_series_models(_series(rng, 6, 0.02, own={(16, 16): math.log(1.5)})).values()
    (quiet,), (moved,) = quiet, moved
    assert quiet.tau < 0.01 and moved.tau > 0.05
    assert moved.level.se > 3 * quiet.level.se


def test_exact_cells_give_exact_estimates():
    cells = [CellRounds("g.G.track_fits", (str(m), "4", "'serial'"), NAMES, (m, m), (m * 4, m * 4)) for m in GRID]
    (model,) = fit_series_models(cells).values()
    assert model.level.se == 0 and model.level.mean == pytest.approx(math.log(4))


def test_the_verdict_rule_never_calls_a_wide_interval_same():
    wide = Estimate(0.0, 0.15, 10)  # +-0.33 at 99%
    assert verdict_of(wide, math.log(1.1), math.log(1.1)) == "undecided"
    assert verdict_of(Estimate(0.0, 0.01, 10), math.log(1.1), math.log(1.1)) == "same"


def test_one_definition_of_a_confirmed_change():
    assert is_confirmed_change({"moved": 1, "confirm": {"verdict": "confirmed"}})
    assert not is_confirmed_change({"moved": 1, "confirm": {"verdict": "refuted"}})
    assert not is_confirmed_change({"moved": 0, "series": "s", "confirm": {"verdict": "confirmed"}})  # a level
    assert is_confirmed_change({"moved": 0, "benchmark": "b", "confirm": {"verdict": "confirmed"}})  # a sent cell


def _seated(rng, bias_core: float):
    rows = []
    for c in range(12):
        for r in range(8):
            plan = Design(c).plan(r)
            on_first = not plan.swap
            rows.append(
                SeatedRound(f"c{c}", bias_core * on_first + rng.normal(0, 0.03), r, on_first, plan.first == 0, c / 11)
            )
    return rows


def test_a_round_s_own_scatter_is_not_read_as_a_seat():
    """Same code, rounds whose cells share a process-level draw (sd 0.04, as measured here) beside
    their own (0.05): the core and start effects are judged over the rounds, so their 99% intervals
    exclude zero about as often as 1% of the time, not whenever two rounds happened to differ."""
    rng = np.random.default_rng(21)
    alarms = {"core": 0, "start": 0, "position": 0}
    for draw in range(300):
        design, rows = Design(draw), []
        for r in range(6):
            plan, shared = design.plan(r), rng.normal(0, 0.04)
            order = design.shuffled(r, list(range(16)))
            for pos, c in enumerate(order):
                log = shared + rng.normal(0, 0.05)
                rows.append(SeatedRound(f"c{c}", log, r, not plan.swap, plan.first == 0, pos / 15))
        for name, e in seat_effects(rows).items():
            low, high = e.interval(0.99)
            alarms[name] += not low <= 0 <= high
    assert all(n / 300 <= 0.03 for n in alarms.values()), alarms


def test_bias_by_seat_is_found_where_it_is_and_not_where_it_is_not():
    found = seat_effects(_seated(np.random.default_rng(0), 0.03))
    assert found["core"].mean == pytest.approx(0.03, abs=0.01) and found["core"].mean / found["core"].se > 3
    clean = seat_effects(_seated(np.random.default_rng(0), 0.0))
    assert all(abs(e.mean / e.se) < 3 for e in clean.values())
