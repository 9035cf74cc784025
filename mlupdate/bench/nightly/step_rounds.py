"""The rounds of a paired step: which cells each round runs, and what they measured.

A step's first rounds are each benchmark's own (as many as one unpaired run takes). A series
whose level is then neither moved nor ``same`` within the threshold (:func:`step_rounds`) runs on,
two rounds at a time so that its cells' seats stay balanced, up to :data:`STEP_MAX_ROUNDS`. On
this 2-core host each core's speed wanders on its own, by up to 27% (sd of log time) over tens
of milliseconds (``tools/measure_cores.py``): the paired design cannot cancel that, and only
more rounds average it out. Two rounds left a same-code step's level scattering by 4-5% per step
(``tools/measure_steps.py --same-code``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..runner.asv_side import Cell
from ..runner.lockstep import Lockstep
from ..stats import STEP_LEVEL, verdict_of
from . import step_verdict as st

__all__ = ["STEP_MAX_ROUNDS", "rounds_of", "step_rounds"]

#: Rounds a step runs at most for a series whose level its first rounds left undecided.
STEP_MAX_ROUNDS = 6


def rounds_of(state: Lockstep, benchmarks, cells: Sequence[Cell], alone: set) -> list[st.CellRounds]:
    """Per cell that gave a positive value on both sides in every round, its paired rounds
    (:class:`~mlupdate.bench.stats.CellRounds`); a failed or n/a cell has none."""
    out = []
    for cell in cells:
        base, head = state.paired(cell)
        if base and all(v > 0 for v in (*base, *head)):
            names = tuple(benchmarks[cell.name].get("param_names", []))
            out.append(st.CellRounds(cell.name, cell.params, names, tuple(base), tuple(head), cell in alone))
        # a failed or n/a cell has no ratio: it is in HEAD's asv result file as failed or n/a
    return out


def step_rounds(
    cells: Sequence[Cell],
    limit: dict[Cell, int],
    benchmarks,
    threshold: float,
    most: int = STEP_MAX_ROUNDS,
    prior: st.Prior | None = None,
    confirmed: bool = True,
) -> Callable[[Lockstep], set[Cell]]:
    """The step's ``wanted`` (:func:`~mlupdate.bench.runner.lockstep.run_lockstep`): every cell for
    its own ``limit`` rounds; then, at each even round, the cells of the series whose level
    (:func:`~mlupdate.bench.nightly.step_verdict.step_levels` over the timed cells) neither moved
    nor lies ``same`` within ``threshold`` (the one verdict rule at
    :data:`~mlupdate.bench.stats.STEP_LEVEL`), until ``most`` rounds. A series once decided stays
    out, and the rounds after an even one keep the same cells, so each series' cells run an even
    number of rounds, each balanced by the design.

    ``confirmed=False`` (an anchor, whose moves no fresh rounds re-measure): a series that moved
    runs on as well, until it is ``same`` or ``most`` rounds; its estimate is the anchor's word,
    and it pins the chained history."""
    bound = math.log1p(threshold)
    running = set(cells)

    def wanted(state: Lockstep) -> set[Cell]:
        nonlocal running
        first = {c for c in cells if state.rounds < limit[c] and not state.dropped(c)}
        if first or state.rounds >= most:
            return first
        if state.rounds % 2 == 0:
            timed = [c for c in rounds_of(state, benchmarks, cells, state.alone) if ".time_" in c.benchmark]
            levels = st.step_levels(timed, prior)
            undecided = {
                key
                for key, e in levels.items()
                if (not confirmed or not st.moved(e, threshold)) and verdict_of(e, bound, bound, STEP_LEVEL) != "same"
            }
            series = {(c.benchmark, c.params): c.series for c in timed}
            running = {c for c in running if series.get((c.name, c.params)) in undecided}
        return {c for c in running if not state.dropped(c)}

    return wanted
