"""A comparison's series: each fitted by the series model, judged by the one verdict rule.

The cells of a timed series share one cost model, so ``compare`` decides a series from all its
cells at once (:func:`~mlupdate.bench.stats.fit_series_model`): its level (the HEAD/BASE ratio
at the series' centre) against the factor and the band, and each exponent's change against
:data:`MIN_GROWTH`. The rounds stop when every series has a verdict, and, where the two sides
counted the same work, every unit cost of its price too (:func:`open_units`); a cell is decided
only where its own rounds are decisive alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..scaling.prices import SeriesPrice
from ..stats import (
    EXPONENT_WORDS,
    LOOK_LEVEL,
    MIN_GROWTH,
    CellData,
    CellRounds,
    Estimate,
    fit_series_model,
    fit_series_models,
    verdict_of,
)

__all__ = [
    "MIN_GROWTH",
    "ExponentVerdict",
    "SeriesVerdict",
    "judge_series",
    "open_series",
    "open_units",
]


@dataclass(frozen=True)
class SeriesVerdict:
    """One series' level: HEAD/BASE at its centre with its :data:`LOOK_LEVEL` interval and verdict."""

    series: str
    cells: int
    rounds: int
    ratio: float
    low: float
    high: float
    verdict: str
    mde: float | None = None  # the smallest change of the level these rounds detect (a fraction)
    tau: float = 0.0  # sd of the cells' own residuals around the model

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k) for k in ("series", "cells", "rounds", "ratio", "low", "high", "verdict", "mde")
        } | {"cell_residual_sd": self.tau}


@dataclass(frozen=True)
class ExponentVerdict:
    """One exponent of one series: BASE's log-log value, HEAD's, their difference and its interval."""

    series: str
    exponent: str
    base: float
    head: float
    delta: float
    low: float
    high: float
    verdict: str  # "grew", "fell", "same" or "undecided"

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("series", "exponent", "base", "head", "delta", "low", "high", "verdict")}


def _base_exponents(group: Sequence[CellRounds]) -> dict[str, float]:
    """BASE's log-log exponents: the series model's slopes of log(BASE's medians) over log size."""
    data = [CellData(c.label, c.sizes, float(np.log(np.median(c.base))), 1, 0.0, math.inf) for c in group]
    return {k: e.mean for k, e in fit_series_model("", data).deltas.items()}


def judge_series(
    cells: Sequence[CellRounds], factor: float, band: float, level: float = LOOK_LEVEL, exact: bool = False
) -> tuple[list[SeriesVerdict], list[ExponentVerdict]]:
    """The level and exponent verdicts of every timed series among ``cells``. ``exact``: the values
    are instruction counts, one round each, fitted by the same series model as exact cells."""
    timed = [c for c in cells if c.kind == "time" and len(c.logs) >= (1 if exact else 2)]
    models = _exact_models(timed) if exact else fit_series_models(timed)
    levels, exponents = [], []
    for key, model in models.items():
        group = [c for c in timed if c.series == key]
        low, high = model.level.interval(level)
        found = model.level.mde(level)
        levels.append(
            SeriesVerdict(
                key,
                model.cells,
                min(len(c.logs) for c in group),
                math.exp(model.level.mean),
                _exp(low),
                _exp(high),
                verdict_of(model.level, math.log(factor), math.log1p(band), level),
                None if found is None else math.expm1(found),
                model.tau,
            )
        )
        base = _base_exponents(group)
        for name, est in model.deltas.items():
            exponents.append(_exponent(key, name, base.get(name, math.nan), est, level))
    return levels, exponents


def _exact_models(cells: Sequence[CellRounds]) -> dict:
    """The series model of counted cells: each cell's ratio is exact (variance 0), so the level and
    the exponent changes are exact functions of the counted cells (what they leave unexplained is
    the cells' own, not noise)."""
    groups: dict[str, list[CellData]] = {}
    for c in cells:
        groups.setdefault(c.series, []).append(
            CellData(c.label, c.sizes, float(c.logs.mean()), len(c.logs), 0.0, math.inf)
        )
    return {key: fit_series_model(key, group) for key, group in groups.items() if len(group) >= 2}


def _exp(x: float) -> float:
    return math.exp(x) if math.isfinite(x) else (math.inf if x > 0 else 0.0)


def _exponent(key: str, name: str, base: float, est: Estimate, level: float) -> ExponentVerdict:
    low, high = est.interval(level)
    word = EXPONENT_WORDS[verdict_of(est, MIN_GROWTH, MIN_GROWTH, level)]
    return ExponentVerdict(key, name, base, base + est.mean, est.mean, low, high, word)


def open_series(cells: Sequence[CellRounds], factor: float, band: float) -> tuple[set[str], list[SeriesVerdict]]:
    """The keys of the timed series whose level or an exponent is still undecided, and the
    levels of the others (decided: their level and every exponent have a verdict)."""
    levels, exponents = judge_series(cells, factor, band)
    still = {s.series for s in levels if s.verdict == "undecided"} | {
        e.series for e in exponents if e.verdict == "undecided"
    }
    return still, [s for s in levels if s.series not in still]


def open_units(prices: Sequence[SeriesPrice], rounds: int, max_rounds: int, factor: float, band: float) -> set[str]:
    """The keys of the priced series whose counts did not change and one of whose unit costs is
    undecided after ``rounds`` but could be decided by ``max_rounds``: more rounds narrow a ratio
    the series model reads from the same work on both sides, its interval about as
    ``sqrt(rounds / max_rounds)``. A unit that even then would not clear the factor or fit inside
    the band (a term its series barely separates) holds nothing. Where the counts changed, the
    sides' units come from one joint fit, which more rounds do not separate: they hold nothing."""
    shrink = math.sqrt(rounds / max(max_rounds, rounds))

    def decidable(u) -> bool:
        if u.verdict != "undecided" or u.estimate is None or not math.isfinite(u.estimate.se):
            return False
        projected = replace(u.estimate, se=u.estimate.se * shrink)
        return verdict_of(projected, math.log(factor), math.log1p(band)) != "undecided"

    return {p.series for p in prices if not p.counts_changed and any(decidable(u) for u in p.unit_costs)}
