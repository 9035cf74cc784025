"""Sequential stopping on synthetic rounds, through the real lockstep loop and asv's runner.

The spawner stands in for asv's forkserver only: it answers each run as a
benchmark process would (a result file of samples), from a synthetic model of
the two sides. Everything above it (asv's ``run_benchmark``, the lockstep
rounds, the core swap, the stopping rule, the verdicts) is the real code.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from helpers.spawner import SyntheticSpawner

from mlupdate.bench.compare.rounds import UNIT_ROUNDS, Stopping, _wanted
from mlupdate.bench.compare.stats import judge_cell
from mlupdate.bench.runner.asv_side import Cell
from mlupdate.bench.runner.design import Design
from mlupdate.bench.runner.lockstep import Side, run_lockstep

NAME = "growth.GrowthGrid.time_update"
PARAMS = [["1", "4", "16"], ["'serial'"]]
BENCHMARKS = {NAME: {"name": NAME, "params": PARAMS, "param_names": ["n_models", "executor"], "timeout": 60}}
CELLS = [Cell(NAME, i, (m, "'serial'")) for i, m in enumerate(PARAMS[0])]


def _compare(head_factor: float, noise: float, stopping: Stopping, seed: int = 0, sentinel=frozenset(), units=None):
    rng = np.random.default_rng(seed)
    host = {"now": 1.0}
    calls: list = []
    sides = tuple(  # a generator per side: each side's draws do not depend on how its thread interleaves
        Side(label, label, None, SyntheticSpawner(label, f, noise, np.random.default_rng([seed, k]), host, calls))
        for k, (label, f) in enumerate((("base", 1.0), ("head", head_factor)))
    )

    def save(state):  # a new round: the host moves by up to 30%, both sides alike
        host["now"] = float(np.exp(rng.normal(0, 0.3)))

    state = run_lockstep(
        sides,
        BENCHMARKS,
        CELLS,
        cores=(0, 1),
        wanted=_wanted(stopping, set(sentinel), None if units is None else BENCHMARKS, units=units),
        save=save,
        budget=stopping.budget,
        design=Design(seed),
    )
    verdicts = [judge_cell(NAME, c.params, *state.paired(c), stopping.factor, stopping.same_within) for c in CELLS]
    return state, verdicts, calls


@pytest.mark.parametrize("seed", range(3))
def test_same_code_stops_as_same(seed):
    stopping = Stopping(factor=1.03, same_within=0.03, min_rounds=4, max_rounds=30)
    state, verdicts, _ = _compare(1.0, 0.01, stopping, seed)
    assert [v.verdict for v in verdicts] == ["same"] * 3
    assert state.rounds < 30  # stopped because every cell was decided, not at the limit
    for v in verdicts:
        assert v.rounds >= 4 and v.mde is not None and 0 < v.mde < 0.06  # 80% power: above the half-width


@pytest.mark.parametrize("seed", range(3))
def test_a_five_percent_change_stops_as_slower(seed, caplog):
    stopping = Stopping(factor=1.03, same_within=0.03, min_rounds=4, max_rounds=30)
    with caplog.at_level(logging.INFO, logger="mlupdate.bench.compare.rounds"):
        state, verdicts, _ = _compare(1.05, 0.01, stopping, seed)
    assert [v.verdict for v in verdicts] == ["slower"] * 3
    assert state.rounds < 30
    assert all(v.low > 1.03 and v.ratio == pytest.approx(1.05, rel=0.02) for v in verdicts)
    # each series' verdict is told once, in the round its cells stop running (here a cell is a series)
    told = [r.getMessage() for r in caplog.records if ": decided after " in r.getMessage()]
    assert len(told) == 3 and all(line.endswith(" slower") for line in told)
    assert max(int(line.split("decided after ")[1].split()[0]) for line in told) == state.rounds


def test_the_sentinels_series_is_never_told_decided(caplog):
    """The drift sentinel runs every round whatever its verdict: no progress line says it was decided."""
    stopping = Stopping(factor=1.03, same_within=0.03, min_rounds=4, max_rounds=30)
    with caplog.at_level(logging.INFO, logger="mlupdate.bench.compare.rounds"):
        state, verdicts, _ = _compare(1.05, 0.01, stopping, sentinel=CELLS[:1])
    assert [v.verdict for v in verdicts] == ["slower"] * 3  # the sentinel's cell too: decided, and measured
    assert len(state.paired(CELLS[0])[0]) == state.rounds  # in every round
    told = [r.getMessage() for r in caplog.records if ": decided after " in r.getMessage()]
    assert len(told) == 2 and not [line for line in told if "(p0=1, " in line]  # the others' only


def test_a_unit_cost_holds_a_decided_series_for_at_most_unit_rounds_more(caplog):
    """Same code decides its series (the three cells, n_models 1-16) in some rounds; a unit cost
    that ``units`` keeps calling undecided (asked only once the level and exponents are decided)
    holds its cells :data:`UNIT_ROUNDS` rounds longer, never more, and the series is told
    decided then, once."""
    stopping = Stopping(factor=1.03, same_within=0.03, min_rounds=4, max_rounds=30)
    alone, _, _ = _compare(1.0, 0.01, stopping, units=lambda cells: set())
    asked: list[int] = []

    def units(cells):
        if cells:
            asked.append(min(len(c.base) for c in cells))
        return {c.series for c in cells}

    caplog.clear()  # the first run's lines, where an earlier test left the logger at INFO
    with caplog.at_level(logging.INFO, logger="mlupdate.bench.compare.rounds"):
        state, _, _ = _compare(1.0, 0.01, stopping, units=units)
    assert state.rounds == alone.rounds + UNIT_ROUNDS < 30
    assert max(asked) == state.rounds - 1
    told = [r.getMessage() for r in caplog.records if ": decided after " in r.getMessage()]
    assert len(told) == 1 and f"decided after {state.rounds} rounds" in told[0]


@pytest.mark.parametrize("seed", range(3))
def test_pure_noise_stays_undecided_until_the_limit(seed):
    # 20% noise per run against a 3% band: no interval can fit inside in 8 rounds
    stopping = Stopping(factor=1.03, same_within=0.03, min_rounds=4, max_rounds=8)
    state, verdicts, _ = _compare(1.0, 0.2, stopping, seed)
    assert state.rounds == 8
    assert {v.verdict for v in verdicts} == {"undecided"}
    assert all(v.rounds == 8 for v in verdicts)


def test_each_cell_runs_once_per_side_and_round_and_the_cores_swap():
    stopping = Stopping(factor=1.03, same_within=0.03, min_rounds=4, max_rounds=12)
    _, verdicts, calls = _compare(1.0, 0.01, stopping)
    for i, v in enumerate(verdicts):  # one run per side and round the cell took part in
        assert sum(idx == i for idx, _, _ in calls) == 2 * v.rounds


def test_the_seats_are_balanced_recorded_and_what_the_processes_got():
    stopping = Stopping(factor=1.03, same_within=0.03, min_rounds=4, max_rounds=4)
    state, _, calls = _compare(1.0, 0.01, stopping)
    per_round = len(CELLS) * 2
    for r, plan in enumerate(state.plans):  # every cell in each round, on the cores the round's plan drew
        ran = calls[r * per_round : (r + 1) * per_round]
        for _, side, cores in ran:
            assert cores == (plan.cores((0, 1))[0 if side == "base" else 1],)
        assert all({ran[i][1], ran[i + 1][1]} == {"base", "head"} for i in range(0, per_round, 2))
        orders = [idx for idx, _, _ in ran[::2]]
        for cell in CELLS:
            seat = state.seats[cell][r]
            assert orders[seat.position] == cell.index and seat.core == plan.cores((0, 1))[0]
    for cell in CELLS:  # four rounds: each side twice on each core, and started first twice
        seats = state.seats[cell]
        assert sorted(s.core for s in seats) == [0, 0, 1, 1]
        assert sorted(s.first for s in seats) == [0, 0, 1, 1]


def test_the_budget_stops_the_rounds():
    stopping = Stopping(factor=1.03, same_within=0.03, min_rounds=4, max_rounds=100, budget=0.0)
    state, _, _ = _compare(1.0, 0.2, stopping)
    assert state.rounds == 1  # the first round always runs; none after a spent budget


def test_replicas_run_a_both_cores_cell_on_one_side_per_round():
    calls: list = []
    host = {"now": 1.0}
    sides = tuple(
        Side(label, "same", None, SyntheticSpawner(label, 1.0, 0.01, np.random.default_rng(k), host, calls))
        for k, label in enumerate(("replica 1", "replica 2"))
    )
    state = run_lockstep(
        sides,
        BENCHMARKS,
        CELLS,
        cores=(0, 1),
        wanted=lambda s: set(CELLS) if s.rounds < 2 else set(),
        save=lambda _: None,
        alone=[r"\(16, "],
        alone_once=True,
    )
    alone = [(side, cores) for idx, side, cores in calls if idx == 2]
    first = [sides[plan.first].label for plan in state.plans]
    assert sorted(first) == ["replica 1", "replica 2"]  # the design's first side: each replica once in two rounds
    assert alone == [(label, ()) for label in first]  # once per round, unpinned
    assert len([c for c in calls if c[0] != 2]) == 2 * 2 * 2  # the others: both replicas, both rounds
    assert [len(v) for v in state.values[CELLS[2]]] == [1, 1]
