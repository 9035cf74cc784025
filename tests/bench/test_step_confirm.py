"""A step and its confirmation on synthetic rounds, through the real lockstep loop and asv's runner.

The spawner stands in for asv's forkserver (:mod:`helpers.spawner`); the step's
judgement, the choice of what to re-measure, the confirmation's rounds and its
stopping rule are the real code of :mod:`mlupdate.bench.nightly.step`.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from helpers.spawner import SyntheticSpawner

from mlupdate.bench.nightly.step import CONFIRM_MAX, CONFIRM_MIN, _confirm, judge_step
from mlupdate.bench.nightly.step_rounds import STEP_MAX_ROUNDS, rounds_of, step_rounds
from mlupdate.bench.nightly.step_verdict import step_levels
from mlupdate.bench.results.step_files import changes_of
from mlupdate.bench.runner.asv_side import Cell
from mlupdate.bench.runner.lockstep import Side, run_lockstep
from mlupdate.bench.stats import STEP_LEVEL, verdict_of

NAME = "growth.GrowthGrid.time_update"
PARAMS = [["1", "2", "4", "8"], ["'serial'"]]
BENCHMARKS = {NAME: {"name": NAME, "params": PARAMS, "param_names": ["n_models", "executor"], "timeout": 60}}
CELLS = [Cell(NAME, i, (m, "'serial'")) for i, m in enumerate(PARAMS[0])]


def _sides(head_factor: float, noise: float, seed: int):
    host, calls = {"now": 1.0}, []
    return tuple(
        Side(label, label, None, SyntheticSpawner(label, f, noise, np.random.default_rng([seed, k]), host, calls))
        for k, (label, f) in enumerate((("base", 1.0), ("head", head_factor)))
    ), calls


def _lockstep(sides, wanted):
    """The real lockstep over :data:`CELLS` on the synthetic sides."""
    return run_lockstep(sides, BENCHMARKS, CELLS, cores=(0, 1), save=lambda _: None, wanted=wanted)


def _step(head_factor: float, noise: float = 0.02, seed: int = 0, rounds: int = 2):
    sides, calls = _sides(head_factor, noise, seed)
    state = _lockstep(sides, lambda s: set(CELLS) if s.rounds < rounds else set())
    doc = judge_step(rounds_of(state, BENCHMARKS, CELLS, state.alone), 0.05)
    doc["rounds"] = state.rounds
    return doc, sides, calls


@pytest.mark.parametrize("seed", range(3))
def test_a_ten_percent_slowdown_is_confirmed_in_every_cell(seed):
    doc, sides, calls = _step(1.10, seed=seed)
    assert doc["series"][0]["moved"] == 1
    n_step = len(calls)
    rounds = _confirm(doc, sides, BENCHMARKS, CELLS, 0.05, None, None)
    assert CONFIRM_MIN <= rounds < CONFIRM_MAX  # decided before the limit
    assert len(calls) - n_step == 2 * len(CELLS) * rounds  # fresh rounds of every cell of the moved series
    assert {c["confirm"]["verdict"] for c in doc["cells"]} == {"confirmed"}
    assert doc["series"][0]["confirm"]["verdict"] == "confirmed"
    confirmed, unconfirmed = changes_of(doc)
    assert len(confirmed) == len(CELLS) + 1 and unconfirmed == []  # the cells and the series level


@pytest.mark.parametrize("seed", range(3))
def test_a_move_of_the_same_code_is_not_confirmed(seed):
    doc, sides, _ = _step(1.0, seed=seed)
    cell = doc["cells"][2]
    cell["moved"] = 1  # as if the step had read it 5% slower by chance
    _confirm(doc, sides, BENCHMARKS, CELLS, 0.05, None, None)
    assert cell["confirm"]["verdict"] in ("refuted", "open")
    assert cell["confirm"]["rounds"] >= CONFIRM_MIN
    assert changes_of(doc) == ([], [f"{NAME}(4, 'serial')"])


def test_nothing_moved_is_nothing_re_measured():
    doc, sides, calls = _step(1.0, noise=0.002)
    assert not any(c["moved"] for c in doc["cells"] + doc["series"] + doc["exponents"])
    n_step = len(calls)
    assert _confirm(doc, sides, BENCHMARKS, CELLS, 0.05, None, None) == 0
    assert len(calls) == n_step


def test_an_exponent_change_re_measures_its_series_and_is_confirmed():
    """HEAD's time grows as m**0.3 faster: the exponent moves and its fresh per-round slopes confirm it."""
    sides, _ = _sides(1.0, 0.01, 4)
    head = sides[1].spawner
    original = head.run

    def run(name, params_str, **kwargs):  # the head's factor depends on the cell: m ** 0.3
        head.factor = int(PARAMS[0][int(name.rsplit("-", 1)[1])]) ** 0.3
        return original(name, params_str, **kwargs)

    head.run = run
    state = run_lockstep(
        sides,
        BENCHMARKS,
        CELLS,
        cores=(0, 1),
        save=lambda _: None,
        wanted=lambda s: set(CELLS) if s.rounds < 2 else set(),
    )
    doc = judge_step(rounds_of(state, BENCHMARKS, CELLS, state.alone), 0.05)
    doc["rounds"] = state.rounds
    (a,) = doc["exponents"]
    assert a["exponent"] == "a" and a["moved"] == 1 and a["delta"]["value"] == pytest.approx(0.3, abs=0.05)
    _confirm(doc, sides, BENCHMARKS, CELLS, 0.05, None, None)
    assert a["confirm"]["verdict"] == "confirmed"
    assert a["confirm"]["value"] == pytest.approx(0.3, abs=0.05)


def test_an_exponent_change_sends_each_cell_to_confirm_the_way_its_own_step_went():
    """Small cells faster, large ones slower: each is asked to confirm its own direction, not the exponent's."""
    from mlupdate.bench.nightly.step import to_confirm

    doc, _, _ = _step(1.0, noise=0.002)
    doc["exponents"][0]["moved"] = 1
    for c, value in zip(doc["cells"], (0.9, 0.97, 1.03, 1.1), strict=True):
        c["ratio"]["value"] = value
    assert list(to_confirm(doc).values()) == [-1, -1, 1, 1]


def _rounds_run(head_factor: float, noise: float, seed: int = 0, confirmed: bool = True):
    """A step's rounds under :func:`step_rounds`: each cell's own 2, then on while its series is undecided."""
    sides, calls = _sides(head_factor, noise, seed)
    wanted = step_rounds(CELLS, {c: 2 for c in CELLS}, BENCHMARKS, 0.05, confirmed=confirmed)
    state = _lockstep(sides, wanted)
    return state, Counter(idx for idx, _, _ in calls)


def test_a_quiet_step_stops_after_its_own_rounds():
    state, runs = _rounds_run(1.0, 0.002)
    assert state.rounds == 2 and set(runs.values()) == {2 * 2}  # both sides, two rounds, every cell
    doc = judge_step(rounds_of(state, BENCHMARKS, CELLS, state.alone), 0.05)
    assert doc["series"][0]["rounds"] == 2


def test_a_moved_series_is_left_to_its_confirmation():
    state, _ = _rounds_run(1.10, 0.02)
    assert state.rounds == 2


def test_an_anchor_s_moved_series_runs_on_as_no_confirmation_follows():
    """An anchor's moves are never confirmed, and its estimate pins the chained history: a series
    its first rounds moved runs on to the limit (a real change) or until it reads `same` (noise)."""
    state, runs = _rounds_run(1.10, 0.02, confirmed=False)
    assert state.rounds == STEP_MAX_ROUNDS and set(runs.values()) == {2 * STEP_MAX_ROUNDS}
    quiet, _ = _rounds_run(1.0, 0.002, confirmed=False)
    assert quiet.rounds == 2


@pytest.mark.parametrize("seed", range(2))
def test_a_noisy_step_runs_on_in_pairs_of_rounds_up_to_the_limit_with_balanced_seats(seed):
    state, runs = _rounds_run(1.0, 0.3, seed)  # a level's se near 0.1 even at 6 rounds: never decided
    assert state.rounds == STEP_MAX_ROUNDS
    assert set(runs.values()) == {2 * STEP_MAX_ROUNDS}
    for cell in CELLS:
        seats = state.paired_seats(cell)
        assert sum(s.core == 0 for s in seats) == sum(s.first == 0 for s in seats) == STEP_MAX_ROUNDS // 2
    doc = judge_step(rounds_of(state, BENCHMARKS, CELLS, state.alone), 0.05)
    assert doc["series"][0]["rounds"] == STEP_MAX_ROUNDS


def test_a_series_runs_on_only_until_its_level_is_decided():
    """At a scatter that leaves two rounds undecided, more rounds decide it `same`, at an even round."""
    stopped = []
    for seed in range(6):
        state, runs = _rounds_run(1.0, 0.03, seed)
        assert state.rounds % 2 == 0 and len(set(runs.values())) == 1
        stopped.append(state.rounds)
        if state.rounds < STEP_MAX_ROUNDS:
            levels = step_levels(rounds_of(state, BENCHMARKS, CELLS, state.alone))
            (level,) = levels.values()
            assert verdict_of(level, math.log(1.05), math.log(1.05), STEP_LEVEL) == "same"
    assert min(stopped) < STEP_MAX_ROUNDS and max(stopped) > 2, stopped


def test_ctrl_c_during_a_round_ends_the_lockstep_as_an_interrupt_with_the_rounds_before_kept():
    """asv's runner turns a Ctrl-C into ``UserError("Interrupted.")``, which the CLI would report as
    a bug of ours; the runner's wrapper raises it as the interrupt it is (exit 130), and the rounds
    saved before it stay."""
    sides, _ = _sides(1.0, 0.02, 0)
    sides[1].spawner.interrupt_after = 2 * len(CELLS) + 3  # in round 1, both sides' round 0 done
    saved = []
    with pytest.raises(KeyboardInterrupt):
        run_lockstep(
            sides, BENCHMARKS, CELLS, cores=(0, 1), save=lambda s: saved.append(s.rounds), wanted=lambda s: set(CELLS)
        )
    assert sides[1].spawner.interrupted and saved == [1]
