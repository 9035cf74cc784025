"""From paired round values to a comparison: cells, exponents, noise, the sentinel."""

from __future__ import annotations

import functools
import itertools
import math
import re
from dataclasses import dataclass, field

from ..runner.design import Design
from ..runner.load import CoreLoad, noise_reasons
from ..scaling.prices import SeriesPrice, price_series
from ..stats import CellRounds
from ..suite.catalog import cell_workload
from .rounds import SENTINEL, RoundValues
from .series import ExponentVerdict, SeriesVerdict, judge_series
from .stats import CellVerdict, judge_cell, noise_sd

__all__ = ["Comparison", "CountChange", "cell_rounds", "count_changes", "judge"]


@dataclass(frozen=True)
class CountChange:
    """An exact count (a ``track_`` cell whose every round read the same on each side) that changed."""

    benchmark: str
    params: tuple[str, ...]
    base: float
    head: float

    @property
    def grew(self) -> bool:
        return self.head > self.base

    def to_dict(self) -> dict:
        return {
            "count": self.benchmark.rsplit(".", 1)[-1].removeprefix("track_"),
            "benchmark": self.benchmark,
            "size": ", ".join(self.params),
            "base": self.base,
            "head": self.head,
            "factor": self.head / self.base if self.base else None,
        }


def count_changes(values: RoundValues) -> list[CountChange]:
    """The exact counts that changed: a count is exact, so any change is the code's, not noise."""
    out = []
    for (name, params), (base, head) in values.paired().items():
        exact = len(set(base)) == 1 and len(set(head)) == 1
        if name.rsplit(".", 1)[-1].startswith("track_") and exact and base[0] != head[0]:
            out.append(CountChange(name, params, float(base[0]), float(head[0])))
    return sorted(out, key=lambda c: (c.benchmark, _size_key(c.params)))


def _size_key(params: tuple[str, ...]) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in params)


@dataclass
class Comparison:
    """Everything ``mlupdate compare`` reports about BASE against HEAD."""

    base: str
    head: str
    rounds: int
    factor: float
    cells: list[CellVerdict]
    exponents: list[ExponentVerdict]
    same_within: float | None = None
    seconds: float = 0.0
    alone: frozenset = frozenset()  # (benchmark, params) of the cells that ran one side after the other
    load: CoreLoad | None = None  # the other load on the two cores over the rounds
    seed: int | None = None  # the design's seed (the seats of every round)
    series: list[SeriesVerdict] = field(default_factory=list)  # each timed series' level
    counts: list[CountChange] = field(default_factory=list)  # exact counts that changed
    prices: list[SeriesPrice] = field(default_factory=list)  # each series' counts, unit costs, seed sizes
    mode: str = "time"  # what the cells' values are: seconds, or instructions (exact counts)
    pins: dict[str, str] = field(default_factory=dict)  # instructions: what was pinned so that they repeat
    not_counted: dict[str, str] = field(default_factory=dict)  # instructions: cells left out, and why
    # per (benchmark, params): each paired round's log ratio and its seat, for the bias check by seat
    rounds_of: dict = field(default_factory=dict)

    @property
    def noisy(self) -> list[str]:
        """Why the rounds were noisy (other load on the cores, steal time); empty when they were not."""
        return noise_reasons(self.load)

    @property
    def sentinel(self) -> list[CellVerdict]:
        return [c for c in self.cells if re.match(SENTINEL, c.benchmark)]

    @property
    def suite(self) -> list[CellVerdict]:
        """The cells of the suite proper (not the drift sentinel)."""
        return [c for c in self.cells if not re.match(SENTINEL, c.benchmark)]

    @property
    def noise(self) -> float | None:
        return noise_sd(self.suite)

    @property
    def slower(self) -> list[CellVerdict]:
        """Time cells of the suite that got slower, each decisive alone: these fail the gate."""
        return [c for c in self.suite if c.kind == "time" and c.verdict == "slower"]

    @property
    def slower_series(self) -> list[SeriesVerdict]:
        """Series whose level got slower: these fail the gate."""
        return [s for s in self.series if s.verdict == "slower"]

    @property
    def open(self) -> list[str]:
        """What holds the verdict: series levels and exponents still undecided, and untimed cells
        (peak memory, counts) still undecided. A timed cell alone never does."""
        out = [f"{s.series} level" for s in self.series if s.verdict == "undecided"]
        out += [f"{e.series} exponent {e.exponent}" for e in self.exponents if e.verdict == "undecided"]
        out += [
            f"{c.benchmark}({', '.join(c.params)})" for c in self.suite if c.kind != "time" and c.verdict == "undecided"
        ]
        return out

    @property
    def grew(self) -> list[ExponentVerdict]:
        return [e for e in self.exponents if e.verdict == "grew"]

    @property
    def undecided(self) -> list[CellVerdict]:
        """Cells of the suite whose interval neither cleared the factor nor fell inside the band."""
        return [c for c in self.suite if c.verdict == "undecided"]

    @property
    def counts_grew(self) -> list[CountChange]:
        """Exact counts that grew: the work itself grew, whatever the clock says."""
        return [c for c in self.counts if c.grew]

    @property
    def failed(self) -> bool:
        return bool(self.slower or self.slower_series or self.grew or self.counts_grew)

    def _price_of(self, series: str) -> dict:
        """A series' ``counts_changed``, ``unit_costs``, ``predicted`` (empty where it was not priced)."""
        found = next((p for p in self.prices if p.series == series), None)
        if found is None:
            return {"counts_changed": [], "unit_costs": [], "predicted": [], "counts_from": None}
        doc = found.to_dict()
        return {k: doc[k] for k in ("counts_changed", "unit_costs", "predicted", "counts_from", "unpriced", "summary")}

    def _rounds_doc(self, cell: CellVerdict) -> dict:
        """``{"log_ratios": [...], "seats": [[round, core of BASE, side started first, position, of], ...]}``."""
        logs, seats = self.rounds_of.get((cell.benchmark, tuple(cell.params)), ([], []))
        return {"log_ratios": list(logs), "seats": [s.to_json() for s in seats]}

    def to_dict(self) -> dict:
        return {
            "base": self.base,
            "head": self.head,
            "rounds": self.rounds,
            "factor": self.factor,
            "same_within": self.factor - 1 if self.same_within is None else self.same_within,
            "seconds": self.seconds,
            "series": [s.to_dict() | self._price_of(s.series) for s in self.series],
            "summary": [p.summary() for p in self.prices],
            "counts_changed": [c.to_dict() for c in self.counts],
            "cells": [
                c.to_dict() | {"alone": (c.benchmark, c.params) in self.alone} | self._rounds_doc(c) for c in self.cells
            ],
            "open": self.open,
            "exponents": [e.to_dict() for e in self.exponents],
            "noise": {"sd_log_ratio": self.noise, "sentinel": [c.to_dict() for c in self.sentinel]},
            "load": self.load.to_json() if self.load else None,
            "noisy": self.noisy,
            "design": Design(self.seed).to_json() if self.seed is not None else None,
            "mode": self.mode,
            "pins": self.pins,
            "not_counted": self.not_counted,
        }


def judge(values: RoundValues, factor: float, same_within: float | None = None, exact: bool = False) -> Comparison:
    """Judge every series (the series model, from all its cells' rounds) and every cell measured on
    both sides (``same_within``: the equivalence band, default ``factor - 1``; ``exact``: the values
    are instruction counts, each cell judged from its one round by its ratio alone)."""
    paired = sorted(values.paired().items(), key=lambda kv: _suite_order(values, kv[0]))
    exact = exact or values.mode == "instructions"
    cells = [
        judge_cell(name, params, base, head, factor, same_within, exact) for (name, params), (base, head) in paired
    ]
    band = factor - 1 if same_within is None else same_within
    rounds = [r for r in cell_rounds(values) if not re.match(SENTINEL, r.benchmark)]
    levels, exponents = judge_series(rounds, factor, band, exact=exact)
    prices = []
    if values.benchmark_dir is not None:
        unit = "instructions" if exact else "seconds"
        workload = functools.partial(cell_workload, values.benchmark_dir)
        prices = price_series(rounds, workload, values.counts, factor, band, unit=unit, exact=exact)
    return Comparison(
        values.base,
        values.head,
        values.rounds,
        factor,
        cells,
        exponents,
        same_within,
        values.seconds,
        frozenset(values.alone),
        values.load,
        values.seed,
        levels,
        count_changes(values),
        prices,
        values.mode,
        values.pins,
        values.not_counted,
        {key: _logs_and_seats(base, head, values.seats.get(key, [])) for key, (base, head) in paired},
    )


def _logs_and_seats(base, head, seats) -> tuple[list[float], list]:
    """A cell's per-round log ratios, with its seats where every paired round has one."""
    logs = [math.log(h / b) for b, h in zip(base, head, strict=True) if b > 0 and h > 0]
    return logs, list(seats) if len(seats) == len(logs) == len(base) else []


def cell_rounds(values: RoundValues) -> list[CellRounds]:
    """Every cell measured on both sides as the core's :class:`~mlupdate.bench.stats.CellRounds`."""
    out = []
    for (name, params), (base, head) in values.paired().items():
        if all(v > 0 for v in (*base, *head)):
            names = tuple(values.benchmarks.get(name, {}).get("param_names", ()))
            if len(names) != len(params):
                names = tuple(f"p{i}" for i in range(len(params)))
            out.append(CellRounds(name, params, names, tuple(base), tuple(head), (name, params) in values.alone))
    return out


def _suite_order(values: RoundValues, key: tuple[str, tuple[str, ...]]) -> tuple[str, int]:
    """Benchmarks by name, cells in asv's parameter order (1, 2, 4, 16; not "1", "16", "2")."""
    name, params = key
    return name, _combos(values, name).get(params, -1)


def _combos(values: RoundValues, name: str) -> dict[tuple[str, ...], int]:
    """asv's cells of a benchmark, in order: parameter reprs -> index."""
    params = values.benchmarks.get(name, {}).get("params", [])
    return {tuple(map(str, c)): i for i, c in enumerate(itertools.product(*params))}
