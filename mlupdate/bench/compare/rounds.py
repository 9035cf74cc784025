"""Run two commits' benchmarks side by side, in rounds, until every cell has a verdict.

In each round BASE and HEAD run every cell still undecided at the same moment,
each pinned to a core of its own, and the cores swap from round to round
(:mod:`mlupdate.bench.runner.lockstep`; cells that need both cores run alone, one side
after the other, in alternating order). After ``min_rounds`` rounds each cell
is judged after every round: a timed cell by its series (its level, its exponents
and, where both sides counted the same work, its unit costs: :mod:`.series`), any
other cell alone (:func:`~mlupdate.bench.compare.stats.judge_cell`);
a cell with a verdict leaves the rounds, and the rounds stop when none is left
undecided, after ``max_rounds``, or when the budget would be overrun. Every
round's samples land in the two commits' ordinary asv result files.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ...errors import UsageError
from ..results.counts import RecordedCounts, collect
from ..runner.asv_side import Cell, SideError
from ..runner.design import Design
from ..runner.duet import duet_cores
from ..runner.load import CoreLoad
from ..runner.lockstep import Lockstep, Seat, run_lockstep
from ..runner.side_by_side import PAIRED, WARM_BELOW, open_sides, save_sides
from ..scaling.prices import price_series
from ..stats import CellRounds
from ..suite.catalog import Selection, cell_workload, discover, select, select_cells
from .series import SeriesVerdict, open_series, open_units
from .stats import judge_cell

logger = logging.getLogger(__name__)

__all__ = [
    "CI_BENCHMARKS",
    "SENTINEL",
    "CompareError",
    "RoundValues",
    "Stopping",
    "benchmarks_to_compare",
    "check_project",
    "run_rounds",
]

#: The drift sentinel's benchmarks: measured in every comparison.
SENTINEL = r"sentinel\.DriftSentinel\."
#: The pull-request gate's subset (``mlupdate compare --ci``): the exact counts,
#: the quadratic diagonal and the per-strategy growth grid (two exponents each), with the many
#: batches its cost model is priced with, and its training stages alone (what a fit costs).
CI_BENCHMARKS = (
    r"growth\.GrowthCosts\.",
    r"growth\.QuadraticDiagonal\.time_update",
    r"strategies\.StrategyGrowth\.time_update",
    r"strategies\.StrategyGrowthLongRuns\.time_update",
    r"strategies\.StrategyGrowthTraining\.time_training",
)

CellKey = tuple[str, tuple[str, ...]]
#: Rounds a series whose level and exponents are decided may run on for a unit cost that these
#: rounds could decide. A same-code compare held to 12 rounds for its fits' unit costs took 10 min
#: against 3-4, and the fits stayed undecided (the diagonal's x0.698 [0.297, 1.64]): on this
#: machine's noise a fit's cost needs far more rounds than a level, so only a near decision waits.
UNIT_ROUNDS = 2


#: A benchmarking step failed (an install, the discovery, a forkserver); the message names it.
CompareError = SideError


def check_project(project: Path) -> None:
    """A :class:`~mlupdate.errors.UsageError` unless ``project`` has an ``asv.conf.json``."""
    if not (Path(project) / "asv.conf.json").is_file():
        raise UsageError(f"{project} has no asv.conf.json: run from the project root or pass --project")


def benchmarks_to_compare(project: Path, patterns: Sequence[str], ci: bool = False) -> Selection:
    """What ``patterns`` (asv's ``--bench`` regexes over ids and ``name(params)``; none: all) and,
    with ``ci``, the gate's subset select, plus the drift sentinel, which every comparison
    measures (:func:`~mlupdate.bench.suite.catalog.select_cells`: a pattern that matches nothing, or a
    bad regex, is a :class:`~mlupdate.errors.UsageError`)."""
    check_project(project)
    names = discover(project)
    patterns = [*patterns, *(CI_BENCHMARKS if ci else ())]
    chosen = select_cells(project, names, patterns)
    sentinel = set(select(names, [SENTINEL]))
    return replace(chosen, names=tuple(sorted(set(chosen.names) | sentinel)), whole=chosen.whole | sentinel)


@dataclass
class RoundValues:
    """Per cell, one value per round for each side; rounds are paired by index."""

    base: str
    head: str
    rounds: int
    benchmarks: dict = field(default_factory=dict)  # benchmarks.json of the run
    values: dict[CellKey, dict[str, list[float]]] = field(default_factory=dict)
    alone: set[CellKey] = field(default_factory=set)  # cells that ran one side after the other
    seconds: float = 0.0
    seats: dict[CellKey, list[Seat]] = field(default_factory=dict)  # per cell, its seat in each paired round
    load: CoreLoad | None = None  # the other load on the two cores over the rounds
    seed: int | None = None  # the design's seed
    counts: tuple[RecordedCounts | None, RecordedCounts | None] = (None, None)  # what each side's runs counted
    benchmark_dir: Path | None = None  # the suite the cells' workloads are read from
    mode: str = "time"  # or "instructions": one round of exact counts
    pins: dict[str, str] = field(default_factory=dict)  # what was pinned so that the counts repeat
    not_counted: dict[str, str] = field(default_factory=dict)  # cell -> why it was not counted

    def add(self, key: CellKey, side: str, value: float) -> None:
        self.values.setdefault(key, {"base": [], "head": []})[side].append(value)

    def paired(self) -> dict[CellKey, tuple[list[float], list[float]]]:
        """Cells measured on both sides in the same rounds (each cell in as many as it needed)."""
        return {k: (v["base"], v["head"]) for k, v in self.values.items() if len(v["base"]) == len(v["head"]) > 0}


@dataclass(frozen=True)
class Stopping:
    """When the rounds stop: every cell decided, ``max_rounds``, or ``budget`` seconds."""

    factor: float = 1.1
    same_within: float | None = None  # default: factor - 1
    min_rounds: int = 4
    max_rounds: int = 12
    budget: float | None = None

    def decided(self, base: Sequence[float], head: Sequence[float], timed: bool = True) -> bool:
        """Whether a cell needs no more rounds; a peak-memory or track cell (not ``timed``), nearly
        exact, may be decided after 2."""
        if len(base) < (self.min_rounds if timed else min(2, self.min_rounds)):
            return False
        if len(base) >= self.max_rounds:
            return True
        return judge_cell("", (), base, head, self.factor, self.same_within).verdict != "undecided"


def _key(cell: Cell) -> CellKey:
    return cell.name, cell.params


def _cell_rounds(state: Lockstep, benchmarks) -> list[CellRounds]:
    """The timed cells measured on both sides so far, as the core's records."""
    out = []
    for cell in state.cells:
        if not cell.name.rsplit(".", 1)[-1].startswith("time_"):
            continue
        base, head = state.paired(cell)
        if base and all(v > 0 for v in (*base, *head)):
            out.append(CellRounds(cell.name, cell.params, _param_names(benchmarks, cell), tuple(base), tuple(head)))
    return out


def _param_names(benchmarks, cell: Cell) -> tuple[str, ...]:
    names = tuple(benchmarks.get(cell.name, {}).get("param_names", ()))
    return names if len(names) == len(cell.params) else tuple(f"p{i}" for i in range(len(cell.params)))


def _tell_decided(levels: Sequence[SeriesVerdict], rounds: int) -> None:
    """One progress line per series the moment its level and exponents all have a verdict: its
    cells leave the rounds."""
    for s in levels:
        logger.info(
            f"{s.series}: decided after {rounds} rounds, level x{s.ratio:.3f} [{s.low:.3f}, {s.high:.3f}] {s.verdict}"
        )


def _wanted(
    stopping: Stopping,
    sentinel: set[Cell],
    benchmarks=None,
    units: Callable[[list[CellRounds]], set[str]] | None = None,
) -> Callable[[Lockstep], set[Cell]]:
    """The cells the next round runs: series first. A timed cell runs its ``min_rounds``, then as
    long as its series' level or an exponent is undecided (the series model over all its cells),
    or, for at most :data:`UNIT_ROUNDS` rounds after those are decided, a unit cost ``units`` names
    (:func:`_open_units`); a peak-memory or count cell until it is decided alone. The drift sentinel runs in every round that runs another cell."""
    benchmarks = benchmarks or {}
    band = _band(stopping)
    # the series told decided; the drift sentinel's from the start: it runs every round, decided or not
    told = {CellRounds(c.name, c.params, _param_names(benchmarks, c), (), ()).series for c in sentinel}
    settled: dict[str, int] = {}  # per series, the round its level and exponents were first all decided

    def wanted(state: Lockstep) -> set[Cell]:
        still: set[str] = set()
        if state.rounds >= stopping.min_rounds:
            cells = _cell_rounds(state, benchmarks)
            still, decided = open_series(cells, stopping.factor, band)
            if units is not None:
                for s in decided:
                    settled.setdefault(s.series, state.rounds)
                near = [c for c in cells if c.series in settled and state.rounds < settled[c.series] + UNIT_ROUNDS]
                still |= units([c for c in near if c.series not in still])
                decided = [s for s in decided if s.series not in still]
            _tell_decided([s for s in decided if s.series not in told], state.rounds)
            told.update(s.series for s in decided)
        todo = set()
        for cell in state.cells:
            if cell in sentinel or state.dropped(cell):
                continue
            base, head = state.paired(cell)
            if not cell.name.rsplit(".", 1)[-1].startswith("time_"):
                if not stopping.decided(base, head, timed=False):
                    todo.add(cell)
            elif len(base) < stopping.min_rounds:
                todo.add(cell)
            elif len(base) < stopping.max_rounds:
                names = _param_names(benchmarks, cell)
                if CellRounds(cell.name, cell.params, names, (), ()).series in still:
                    todo.add(cell)
        return todo | sentinel if todo else set()

    return wanted


def _band(stopping: Stopping) -> float:
    return stopping.factor - 1 if stopping.same_within is None else stopping.same_within


def _open_units(benchmark_dir: Path, sides, stopping: Stopping) -> Callable[[list[CellRounds]], set[str]]:
    """The series among some cells whose unit costs still hold the rounds (:func:`open_units`),
    priced as the report prices them: the sides' counts recorded so far, the cells' workloads."""
    workload = functools.partial(cell_workload, benchmark_dir)

    def units(cells: list[CellRounds]) -> set[str]:
        if not cells:
            return set()
        recorded = tuple(collect(side.counts_dir, side.commit) if side.counts_dir else None for side in sides)
        band = _band(stopping)
        prices = price_series(cells, workload, recorded, stopping.factor, band, sizes=(), n_boot=50)
        rounds = min(len(c.base) for c in cells)
        horizon = min(stopping.max_rounds, rounds + UNIT_ROUNDS)
        return open_units(prices, rounds, horizon, stopping.factor, band)

    return units


def run_rounds(
    project: Path,
    base: str,
    head: str,
    names: Sequence[str],
    stopping: Stopping,
    *,
    results_dir: Path | None = None,
    machine: str | None = None,
    quick: bool = False,
    suite_sampling: bool = False,
    fleets: Sequence[str] = (),
    cells: Callable[[Cell], bool] | None = None,
) -> RoundValues:
    """Benchmark ``names`` on ``base`` and ``head`` side by side until ``stopping`` says stop.

    Parameters
    ----------
    project : Path
        The checkout whose ``asv.conf.json`` and suite are used.
    base, head : str
        Full commit hashes.
    names : sequence of str
        Benchmark ids to run (already matched, see :func:`select`).
    stopping : Stopping
        The verdict rule and the limits.
    results_dir : Path, optional
        Where the result files go (default: the config's results directory).
    quick : bool
        One sample per cell and round: the default, unless ``suite_sampling``.
    suite_sampling : bool
        Each benchmark's own ``repeat``, ``number`` and warm-up in every round. By default a round
        takes one sample per cell (:data:`~mlupdate.bench.runner.side_by_side.PAIRED`).
    cells : callable, optional
        Keep only the cells it accepts (asv's ``-b`` over ``name(params)``: :class:`Selection`).
    fleets : sequence of str
        Registered fleets (``mlupdate bench``): one, compared across ``base`` and ``head``; or
        two, the first against the second on one commit (``base == head``). Their cells run in
        this Python, where the fleets' estimators are.
    """
    fleets = tuple(fleets)
    only, other = _fleet_cells(project, fleets) if fleets else (None, None)
    if cells is not None:
        only = cells if only is None else (lambda c, first=only: first(c) and cells(c))
    labels = (fleets[0], fleets[1]) if len(fleets) == 2 else ("base", "head")
    design = Design()
    with open_sides(
        project,
        (base, head),
        names,
        results_dir=results_dir,
        labels=labels,
        existing=bool(fleets),
        only=only,
        design=design,
    ) as (sides, benchmarks, cells, conf):
        if other is not None:
            sides[1].cell_of = other(benchmarks)
        sentinel = {c for c in cells if re.match(SENTINEL, c.name)}
        state = run_lockstep(
            sides,
            benchmarks,
            cells,
            cores=duet_cores(),
            wanted=_wanted(stopping, sentinel, benchmarks, _open_units(Path(conf.benchmark_dir), sides, stopping)),
            save=lambda _: save_sides(conf, benchmarks, sides, machine),
            extra=None if suite_sampling and not quick else PAIRED,  # PAIRED is a quick run's one sample
            budget=stopping.budget,
            warm_below=None if suite_sampling and not quick else WARM_BELOW,
            design=design,
        )
        values = RoundValues(
            *labels_of(base, head, fleets), state.rounds, benchmarks=dict(benchmarks), seconds=state.seconds
        )
        for cell in cells:
            a, b = state.paired(cell)
            for x, y in zip(a, b, strict=True):
                values.add(_key(cell), "base", x)
                values.add(_key(cell), "head", y)
            if cell in state.alone:
                values.alone.add(_key(cell))
            values.seats[_key(cell)] = state.paired_seats(cell)
        values.load, values.seed = state.total_load, state.design.seed
        values.counts = tuple(collect(side.counts_dir, side.commit) if side.counts_dir else None for side in sides)
        values.benchmark_dir = Path(conf.benchmark_dir)
    return values


def labels_of(base: str, head: str, fleets: Sequence[str]) -> tuple[str, str]:
    """What the two sides are called in the report: the commits, or the two fleets."""
    return (fleets[0], fleets[1]) if len(fleets) == 2 else (base, head)


def _fleet_cells(project: Path, fleets: tuple[str, ...]):
    """The cells of ``fleets[0]`` within every fleet's size, and (two fleets) ``other(benchmarks)``:
    the map from a cell of the first fleet to the same cell of the second."""
    from ..own_fleets.registry import fleet_entries

    entries = fleet_entries(project, fleets)
    first = repr(fleets[0])

    def only(cell: Cell) -> bool:
        if not cell.name.startswith("own.OwnFleetGrid."):
            return True  # the drift sentinel
        fleet, m, n = cell.params
        return fleet == first and all(
            int(m) in (e.grid_models or ()) and int(n) in (e.grid_batches or ()) for e in entries
        )

    def other(benchmarks):
        def cell_of(cell: Cell) -> Cell:
            if not cell.name.startswith("own.OwnFleetGrid."):
                return cell  # the drift sentinel
            params = (repr(fleets[1]), *cell.params[1:])
            combos = [tuple(map(str, c)) for c in itertools.product(*benchmarks[cell.name]["params"])]
            return replace(cell, index=combos.index(params), params=params)

        return cell_of

    return only, (other if len(fleets) == 2 else None)
