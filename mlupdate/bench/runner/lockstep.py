"""Rounds of benchmark cells on two sides at once, in lockstep, one core each.

Each round runs every cell still wanted, in an order shuffled every round. A cell
runs on both sides at the same moment, each side pinned to a core of its own
(asv_runner's ``cpu_affinity``), and the next cell starts when both have
finished, so the two sides always measure the same cell under the same host.
Which side gets which core, and which starts first, is drawn per round by a
balanced, seeded design (:mod:`mlupdate.bench.runner.design`), so that no side keeps a
seat. Cells that need both cores themselves (``BOTH_CORES``: worker pools, a
cluster, the process-tree probes) run alone, one side after the other, the
design's first side first, and are labelled ``alone``. Every cell's seat in
every round (:class:`Seat`) and every round's load on the cores are kept.

The sides are two commits (``mlupdate compare``) or two replicas of one commit
(``mlupdate suite``, the nightly, ``mlupdate bench``). After every round each
side's results are written as ordinary asv result files, so an interrupted run
keeps the rounds it finished.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .asv_private import run_benchmark
from .asv_side import Cell, SideResults
from .design import Design, RoundPlan
from .load import CoreLoad, LoadMeter

logger = logging.getLogger(__name__)

__all__ = ["BOTH_CORES", "Lockstep", "Seat", "Side", "needs_both_cores", "run_lockstep"]

#: Cells whose work uses both cores (a pool of 2 workers, a Dask cluster, the
#: process-tree and speed-up probes): never run beside another side.
BOTH_CORES = (r"^scaleout\.", r"^memory\.", r"[(,] ?'?joblib'?[,)]", r"[(,] ?'?dask[^,)]*'?[,)]")


def needs_both_cores(cell: Cell, also: Sequence[str] = ()) -> bool:
    """Whether ``cell`` (by its ``name(params)`` label) matches ``BOTH_CORES`` or ``also``.

    >>> needs_both_cores(Cell("growth.GrowthGrid.time_update", 0, ("16", "4", "'joblib'")))
    True
    >>> needs_both_cores(Cell("growth.GrowthGrid.time_update", 0, ("16", "4", "'serial'")))
    False
    """
    return any(re.search(p, cell.label) for p in (*BOTH_CORES, *also))


@dataclass
class Side:
    """One side: a label, the commit, the asv environment and forkserver it runs in, what it measured."""

    label: str
    commit: str
    env: object
    spawner: object
    results: SideResults = field(default_factory=SideResults)
    # restart(core=c): a fresh forkserver for this side, pinned to core c (None: keep the one it has);
    # see run_lockstep's Notes
    restart: Callable[..., object] | None = None
    # the cell this side runs for the round's cell: itself, or e.g. another fleet's (compare --fleet A B)
    cell_of: Callable[[Cell], Cell] = field(default=lambda cell: cell)
    # where this side's benchmark processes note the counts of their updates (mlupdate.bench.results.counts)
    counts_dir: Path | None = None


@dataclass(frozen=True)
class Seat:
    """Where a cell ran in one round: the core of side 0, the side started first, its position.

    Attributes
    ----------
    round : int
        The round.
    core : int
        The core side 0 was pinned to (side 1 had the other).
    first : int
        The side started first (0 or 1).
    position : int
        The cell's place in the round's order, from 0.
    of : int
        How many cells the round ran.
    """

    round: int
    core: int
    first: int
    position: int
    of: int

    def to_json(self) -> list:
        return [self.round, self.core, self.first, self.position, self.of]

    @classmethod
    def from_json(cls, row: Sequence[int]) -> Seat:
        return cls(*map(int, row))


@dataclass
class Lockstep:
    """Per cell and side, the value of every round that measured it (None: failed)."""

    sides: tuple[Side, Side]
    cells: list[Cell]
    alone: set[Cell]
    values: dict[Cell, tuple[list, list]] = field(default_factory=dict)
    rounds: int = 0
    seconds: float = 0.0
    repeat: dict[Cell, int] = field(default_factory=dict)  # samples per run, fixed after a cell's first round
    design: Design | None = None
    plans: list[RoundPlan] = field(default_factory=list)  # each round's draw
    seats: dict[Cell, list[Seat]] = field(default_factory=dict)  # per cell, its seat in each of its rounds
    load: list[CoreLoad] = field(default_factory=list)  # each round's load on the two cores

    @property
    def total_load(self) -> CoreLoad | None:
        """The load of all rounds together (None before the first)."""
        return sum(self.load[1:], self.load[0]) if self.load else None

    @property
    def failed(self) -> list[str]:
        """The labels of the cells that failed on either side, sorted."""
        return sorted({c.label for side in self.sides for c in side.results.failed})

    def dropped(self, cell: Cell) -> bool:
        """Whether ``cell`` failed or was skipped (n/a) on a side: it runs no more rounds."""
        return any(v is None for side in self.values.get(cell, ()) for v in side)

    def paired(self, cell: Cell) -> tuple[list[float], list[float]]:
        """The rounds in which both sides measured ``cell``."""
        a, b = self.values.get(cell, ([], []))
        pairs = [(x, y) for x, y in zip(a, b, strict=False) if x is not None and y is not None]
        return [x for x, _ in pairs], [y for _, y in pairs]

    def paired_seats(self, cell: Cell) -> list[Seat]:
        """The seats of the rounds :meth:`paired` returns, in the same order."""
        a, b = self.values.get(cell, ([], []))
        seats = self.seats.get(cell, [])
        return [s for x, y, s in zip(a, b, seats, strict=False) if x is not None and y is not None]


def _run_cell(side: Side, benchmarks, cell: Cell, extra: dict, out: list, slot: int) -> None:
    cell = side.cell_of(cell)
    params = dict(extra)
    if cell in side.results.number:
        params["number"] = side.results.number[cell]  # later samples comparable with the first
    started = time.perf_counter()
    try:
        result = run_benchmark(benchmarks[cell.name], side.spawner, selected_idx={cell.index}, extra_params=params)
        out[slot] = side.results.add(cell, result, time.perf_counter() - started)
    except BaseException as exc:  # noqa: BLE001 - reported by the caller
        out[slot] = exc


def _both(sides: Sequence[Side], benchmarks, cell: Cell, extra: dict, cores: Sequence[int] | None) -> list:
    """Run ``cell`` on both sides, started in the given order: at the same time pinned to
    ``cores``, or one after the other with None."""
    out: list = [None] * len(sides)
    if cores is None:
        for slot, side in enumerate(sides):
            _run_cell(side, benchmarks, cell, extra, out, slot)
    else:
        threads = [
            threading.Thread(
                target=_run_cell,
                args=(side, benchmarks, cell, extra | {"cpu_affinity": [core]}, out, slot),
                daemon=True,
            )
            for slot, (side, core) in enumerate(zip(sides, cores, strict=True))
        ]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():  # a short join, so that Ctrl-C reaches this thread
                t.join(0.2)
    for value in out:
        if isinstance(value, BaseException):
            raise value
    return out


def _fresh_servers(sides: Sequence[Side], order: Sequence[int], cores: Sequence[int]) -> None:
    """Replace each side's forkserver by a fresh one pinned to its core this round, the sides in
    ``order`` (sides without ``restart`` keep theirs)."""
    for k in order:
        side = sides[k]
        if side.restart is not None:
            old, side.spawner = side.spawner, side.restart(core=cores[k])
            old.close()


def _pin_servers(sides: Sequence[Side], cores: Sequence[int]) -> None:
    """Pin each side's running forkserver (and whatever it has started) to its core: round 0 uses the
    servers :func:`~mlupdate.bench.runner.side_by_side.open_sides` has just started, fresh already."""
    import psutil

    for side, core in zip(sides, cores, strict=True):
        proc = getattr(side.spawner, "server_proc", None)
        if proc is None:
            continue  # not a forkserver of ours (a test's stand-in)
        try:
            root = psutil.Process(proc.pid)
            for p in [root, *root.children(recursive=True)]:
                p.cpu_affinity([core])
        except psutil.Error:
            pass  # ended: the round will report the side's failure


def _shown(side: Side, cell: Cell, value: float | None) -> str:
    if value is not None:
        return f"{value:.4g}"
    return "n/a" if cell in side.results.skipped else "failed"


def _progress(state: Lockstep, cell: Cell, i: int, n: int, together: bool, ran: Sequence[int]) -> str:
    """One cell's line: the values of the sides that ran it, in side order, each labelled (not in
    start or core order)."""
    shown = [
        f"{state.sides[k].label}={_shown(state.sides[k], state.sides[k].cell_of(cell), state.values[cell][k][-1])}"
        for k in sorted(ran)
    ]
    return f"  [{i + 1}/{n}] {cell.label}{'' if together else '  (alone)'}  " + "  ".join(shown)


def _round_line(state: Lockstep, plan: RoundPlan, n: int, last: float, cores: tuple[int, int]) -> str:
    pinned = plan.cores(cores)
    sides = state.sides
    line = (
        f"round {plan.round + 1}: {n} cells, {sides[0].label} on core {pinned[0]}, "
        f"{sides[1].label} on core {pinned[1]}, {sides[plan.first].label} starts first"
    )
    return line + (f" (about {last / 60:.1f} min a round)" if last else "")


def _bar(todo: list[Cell], plan: RoundPlan):
    """The round's cells, behind a progress bar on a terminal (tqdm); plainly otherwise, where each
    cell's line is logged instead."""
    from tqdm.auto import tqdm

    on_terminal = sys.stderr.isatty() and logger.isEnabledFor(logging.INFO)
    return tqdm(todo, desc=f"round {plan.round + 1}", unit="cell", leave=False, disable=not on_terminal)


def _long(state: Lockstep, benchmarks, cell: Cell, seconds: float | None) -> bool:
    """Whether timed ``cell``'s first round took at least ``seconds`` on both sides."""
    if seconds is None or benchmarks[cell.name].get("type") != "time":
        return False
    firsts = [side[0] for side in state.values.get(cell, ()) if side and side[0] is not None]
    return len(firsts) == 2 and min(firsts) >= seconds


def _run_round(
    state: Lockstep, benchmarks, todo: list[Cell], plan: RoundPlan, cores, extra, alone_once, warm_below=None
):
    """One round: every cell of ``todo``, in the order given, on both sides in the plan's seats."""
    sides = state.sides
    pinned = plan.cores(cores)
    bar = _bar(todo, plan)
    for i, cell in enumerate(bar):
        together = cell not in state.alone
        order = plan.order
        params = dict(extra or {})
        if _long(state, benchmarks, cell, warm_below):
            params["warmup_time"] = 0  # its first call is most of a warm one's cost: no untimed call
        if together and cell in state.repeat and "repeat" not in params:
            params["repeat"] = state.repeat[cell]
        if not together and alone_once:
            order = order[:1]  # one replica: run one after the other, a second gives no pairing
        ran = [sides[k] for k in order]
        got = _both(ran, benchmarks, cell, params, [pinned[k] for k in order] if together else None)
        counts = [sides[k].results.last_count.get(sides[k].cell_of(cell)) for k in (0, 1)]
        if together and cell not in state.repeat and all(counts):
            # from now on both sides take the same number of samples, so that neither runs on alone
            state.repeat[cell] = min(counts)
        for k, value in zip(order, got, strict=True):
            state.values[cell][k].append(value)
        state.seats[cell].append(Seat(plan.round, pinned[0], plan.first, i, len(todo)))
        line = _progress(state, cell, i, len(todo), together, order)
        if bar.disable:
            logger.info(line)
        else:
            bar.set_postfix_str(line.split("] ", 1)[-1][-60:], refresh=False)


def run_lockstep(
    sides: tuple[Side, Side],
    benchmarks,
    cells: Sequence[Cell],
    *,
    cores: tuple[int, int],
    wanted: Callable[[Lockstep], set[Cell]],
    save: Callable[[Lockstep], None],
    alone: Sequence[str] = (),
    alone_once: bool = False,
    extra: dict | None = None,
    budget: float | None = None,
    design: Design | None = None,
    warm_below: float | None = None,
) -> Lockstep:
    """Rounds of ``cells`` on both ``sides`` until ``wanted`` returns no cell or the budget is spent.

    Parameters
    ----------
    sides : (Side, Side)
        The two sides, with their forkservers started.
    benchmarks : asv.benchmarks.Benchmarks
        The discovered benchmarks that ``cells`` belong to.
    cores : (int, int)
        The two cores; which side gets which in a round is the design's draw.
    wanted : callable
        Given the state after each round (and before the first), the cells the next round runs.
    save : callable
        Called after every round (write the result files).
    alone : sequence of str
        More patterns of cells that need both cores (see :func:`needs_both_cores`).
    alone_once : bool
        Run a cell that needs both cores on one side only per round (replicas of one commit:
        the side that starts first, balanced over the rounds, and their samples are one commit's).
    extra : dict, optional
        asv_runner attributes for every run (``{"repeat": 1, ...}`` for a quick run).
    budget : float, optional
        Seconds; no round is started that the last round's duration says would end past it.
    design : Design, optional
        The seats of every round (:mod:`mlupdate.bench.runner.design`); a freshly seeded one by default.
        It is kept in the returned state, with each cell's seat in each round.
    warm_below : float, optional
        With an untimed call in ``extra`` (a ``warmup_time``): a cell whose first round took at
        least this many seconds on both sides runs without it from its second round on. The
        untimed call settles a short cell's process (its first call pays for the pages it
        copies and the code it loads, a fixed cost that is most of a short cell's time), and
        would double a long cell's round for little.

    Notes
    -----
    A cell that runs side by side takes, after its first round, the number of samples the
    fewer side took then, on both sides: neither runs on alone at the end of a cell.

    Every round starts with fresh forkservers, each pinned to its side's core (round 0: the servers
    just started by ``open_sides``, pinned; later rounds: each side's ``restart``, in the round's
    start order). Every benchmark process of a side is a fork of its server and
    inherits the server's memory layout; one server per side for a whole run gives each side
    one draw of that layout for all its rounds, a shared offset that no number of rounds
    averages out. A fresh server per round makes it round-to-round scatter, which the
    intervals carry and the rounds average.

    Each round's load on the two cores (:class:`~mlupdate.bench.runner.load.CoreLoad`) is kept in
    ``state.load``.
    """
    state = Lockstep(sides, list(cells), {c for c in cells if needs_both_cores(c, alone)})
    state.design = design or Design()
    state.values = {c: ([], []) for c in cells}
    state.seats = {c: [] for c in cells}
    meter = LoadMeter(cores)
    clock = time.monotonic()
    while todo := [c for c in state.cells if c in wanted(state)]:
        spent = time.monotonic() - clock
        last = spent / state.rounds if state.rounds else 0.0
        if budget is not None and state.rounds and spent + last > budget:
            logger.info(f"budget spent after {state.rounds} rounds ({spent / 60:.1f} min)")
            break
        plan = state.design.plan(state.rounds)
        if state.rounds:
            _fresh_servers(sides, plan.order, plan.cores(cores))
        else:
            _pin_servers(sides, plan.cores(cores))
        # after the restart: a closed server is killed by asv, unreaped by us, and its CPU time (all
        # its benchmark processes') would leave our tree inside the span and read as somebody else's
        meter.start()
        todo = state.design.shuffled(plan.round, todo)
        logger.info(_round_line(state, plan, len(todo), last, cores))
        _run_round(state, benchmarks, todo, plan, cores, extra, alone_once, warm_below)
        state.load.append(meter.stop())
        state.plans.append(plan)
        state.rounds += 1
        state.seconds = time.monotonic() - clock
        save(state)
    return state
