"""What a change did to the work and what it will cost: each series priced with each side's own counts.

For every timed series whose cells state a workload, a comparison answers a reviewer's questions:

- **counts**: which counts changed between BASE and HEAD, as formulas of the sizes (``fit: m -> m·n``),
  read from the counts the two commits' timed runs recorded (:mod:`mlupdate.bench.results.counts`);
- **unit costs**: each side's cost model (:func:`~mlupdate.bench.scaling.costs.fit_costs`) from its own
  counts and its cells' times over the paired rounds, and per unit the HEAD/BASE ratio with the core's
  verdict (:func:`~mlupdate.bench.stats.verdict`);
- **the seed's sizes**: each side's predicted seconds at 10x10, 100x100 and 1000x1000 (its own counts'
  formulas, its own unit costs), and their ratio with a 95% interval.

Each side's own values carry a bootstrap interval of its fit. A unit cost's ratio comes from the
series model over the paired rounds (:func:`share_ratios`: the cells' ratios as a sum of BASE's cost
shares, each times its unit's ratio), as every other paired verdict of this suite does; a ratio at a
seed size, of a unit the two sides' counts price apart, or of a series whose counts changed (BASE's
shares on HEAD's counts would price work BASE never ran, and the model's misfit there would land
on the ratios: the README gives the figures and ``tools/reprice.py`` reproduces them), from each
side's own fit and a jackknife over the rounds (:func:`by_round`).
Instruction counts are exact and measured once: there are no rounds, and a ratio's interval is the
cost model's misfit over the cells (both sides' fits of one resample of the cells each, :func:`by_cells`).

A side whose runs recorded no counts (a plain ``asv run``, an older mlupdate) is priced with the plan
and says so; a term whose unit cost the data cannot separate from zero is priced as not resolved.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ...durations import format_amount
from ..results.counts import RecordedCounts
from ..stats import CellRounds
from ..stats.model import Prior
from ..suite.timed import part_timed, timed_counts
from .costs import CostModel, count_formulas, design_matrix, fit_costs, own_counts, plan_counts
from .unit_costs import (
    PREDICT_LEVEL,
    UnitCost,
    bounds,
    by_cells,
    by_round,
    joint_unit_costs,
    refit_unit_costs,
    same_terms,
    share_ratios,
    solved,
    unit_costs,
)

__all__ = [
    "PREDICT_LEVEL",
    "SEED_SIZES",
    "CountDelta",
    "Predicted",
    "SeriesPrice",
    "UnitCost",
    "price_series",
    "ratio_text",
]

#: The seed's sizes, at which every series is priced.
SEED_SIZES = ((10, 10), (100, 100), (1000, 1000))


@dataclass(frozen=True)
class CountDelta:
    """A count that differs between the sides: its formulas, and its values at the largest cell."""

    count: str
    size: str
    base: int
    head: int
    base_formula: str | None
    head_formula: str | None

    def text(self) -> str:
        if self.base_formula and self.head_formula:
            return f"{self.count}: {self.base_formula} -> {self.head_formula}"
        return f"{self.count}: {self.base:,} -> {self.head:,} at {self.size}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Predicted:
    """Seconds at one of the seed's sizes on each side, and their ratio, with 95% intervals."""

    size: str
    base: float
    base_interval: tuple[float, float]
    head: float
    head_interval: tuple[float, float]
    ratio: float
    low: float | None  # None: the rounds cannot bound the ratio
    high: float | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SeriesPrice:
    """A series' counts, unit costs and seed-size predictions on both sides."""

    series: str
    counts_from: tuple[str, str]  # "recorded" or "plan", for BASE and HEAD
    counts_changed: list[CountDelta] = field(default_factory=list)
    unit_costs: list[UnitCost] = field(default_factory=list)
    predicted: list[Predicted] = field(default_factory=list)
    unpriced: tuple[list[str], list[str]] = ([], [])  # the terms each side could not price
    unit: str = "seconds"  # what the unit costs and predictions are in: seconds, or instructions

    def summary(self) -> str:
        """One line: what the counts did, what a unit costs, and what the largest seed size costs."""
        parts = []
        if self.counts_changed:
            parts.append("HEAD counts " + "; ".join(c.text() for c in self.counts_changed))
        else:
            parts.append("no count changed")
        words = [f"a {u.per} costs {_cost_word(u)}" for u in self.unit_costs]
        if words:
            parts.append(", ".join(words))
        if self.predicted:
            top = self.predicted[-1]
            parts.append(
                f"at {top.size} {self._what} goes from {format_amount(top.base, self.unit)} to "
                f"{format_amount(top.head, self.unit)} ({ratio_text(top.ratio, top.low, top.high)})"
            )
        plan = [side for side, how in zip(("BASE", "HEAD"), self.counts_from, strict=True) if how == "plan"]
        if plan:
            parts.append(f"{' and '.join(plan)} priced with the plan's counts (no counts recorded)")
        return f"{self.series}: " + "; ".join(parts)

    @property
    def _what(self) -> str:
        """What the series times: the update, or its training stages alone (a part-timed benchmark)."""
        return "the update" if part_timed(self.series) is None else "its training"

    def to_dict(self) -> dict:
        return {
            "series": self.series,
            "counts_from": {"base": self.counts_from[0], "head": self.counts_from[1]},
            "counts_changed": [c.to_dict() for c in self.counts_changed],
            "unit_costs": [u.to_dict() for u in self.unit_costs],
            "predicted": [p.to_dict() for p in self.predicted],
            "unpriced": {"base": self.unpriced[0], "head": self.unpriced[1]},
            "unit": self.unit,
            "summary": self.summary(),
        }


def _cost_word(u: UnitCost) -> str:
    if u.ratio is None:
        return u.verdict
    return f"{u.verdict} ({ratio_text(u.ratio, u.low, u.high)})"


def _size(m: int, n: int) -> str:
    return f"{m}x{n}"


def _gmeans(values: Sequence[Sequence[float]]) -> np.ndarray:
    return np.exp([np.mean(np.log(v)) for v in values])


def _counts(series: str, workloads, recorded: RecordedCounts | None) -> tuple[list[dict[str, int]], str]:
    """The cells' counts (the commit's own, else the plan's), those ``series``' time is made of."""
    own = own_counts(workloads, recorded)
    counts, how = (own, "recorded") if own is not None else ([plan_counts(w) for w in workloads], "plan")
    return [timed_counts(series, c) for c in counts], how


def _deltas(workloads, base: list[dict], head: list[dict]) -> list[CountDelta]:
    changed = [k for k in base[0] if any(b.get(k, 0) != h.get(k, 0) for b, h in zip(base, head, strict=True))]
    if not changed:
        return []
    fb, fh = count_formulas(workloads, base) or {}, count_formulas(workloads, head) or {}
    top = max(range(len(workloads)), key=lambda i: (workloads[i].n_models * workloads[i].n_batches, i))
    size = _size(workloads[top].n_models, workloads[top].n_batches)
    return [
        CountDelta(
            k,
            size,
            int(base[top].get(k, 0)),
            int(head[top].get(k, 0)),
            fb[k].text() if k in fb else None,
            fh[k].text() if k in fh else None,
        )
        for k in changed
    ]


def ratio_text(ratio: float, low: float | None, high: float | None) -> str:
    """``x1.23 [1.1, 1.4]``, or ``x1.23 (no interval)`` where the rounds could not bound it (fewer
    than 3, or a refit at a zero bound)."""
    if low is None or high is None:
        return f"x{ratio:.3g} (no interval)"
    return f"x{ratio:.3g} [{low:.3g}, {high:.3g}]"


def _left_out(group: Sequence[CellRounds]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each cell's geometric-mean time on each side without each paired round in turn (left out of
    both sides, which ran it together): the jackknife's replicates of the series' cells. Empty from
    fewer than 3 rounds, which cannot bound a ratio."""
    rounds = min(min(len(c.base), len(c.head)) for c in group)
    if rounds < 3:
        return []
    logs = [(np.log(np.asarray(c.base, float)), np.log(np.asarray(c.head, float))) for c in group]
    return [
        (np.exp([np.delete(b, r).mean() for b, _ in logs]), np.exp([np.delete(h, r).mean() for _, h in logs]))
        for r in range(rounds)
    ]


def _predicted(
    b: CostModel, h: CostModel, refits, sizes: Sequence[tuple[int, int]], spread=by_round
) -> list[Predicted]:
    """Each side's seconds at ``sizes`` (bootstrap intervals), and their ratio over the paired rounds."""
    if not sizes:
        return []
    q = [100 * (1 - PREDICT_LEVEL) / 2, 100 * (1 + PREDICT_LEVEL) / 2]
    xb = np.array([b.row(m, n) for m, n in sizes])
    xh = np.array([h.row(m, n) for m, n in sizes])
    with np.errstate(divide="ignore", invalid="ignore"):
        point = np.log((xh @ h.theta) / (xb @ b.theta))
        ratios = spread(point, [np.log((xh @ th) / (xb @ tb)) for tb, th in refits])
    out = []
    for k, (m, n) in enumerate(sizes):
        pb, ph = float(xb[k] @ b.theta), float(xh[k] @ h.theta)
        low, high = bounds(ratios[k], PREDICT_LEVEL)
        out.append(
            Predicted(
                _size(m, n),
                pb,
                tuple(map(float, np.percentile(b.draws @ xb[k], q))),
                ph,
                tuple(map(float, np.percentile(h.draws @ xh[k], q))),
                ph / pb if pb > 0 else math.inf,
                low,
                high,
            )
        )
    return out


def price_series(
    cells: Sequence[CellRounds],
    workload_of: Callable[[CellRounds], object],
    recorded: tuple[RecordedCounts | None, RecordedCounts | None],
    factor: float,
    band: float,
    sizes: Sequence[tuple[int, int]] = SEED_SIZES,
    n_boot: int = 200,
    unit: str = "seconds",
    exact: bool = False,
    prior: Prior | None = None,
) -> list[SeriesPrice]:
    """Price every timed series among ``cells`` whose every cell has a workload (``workload_of``
    returns None where a cell has none). ``factor`` and ``band`` judge the unit costs' ratios as the
    core's verdict judges a cell's (``factor``: the threshold as a ratio, ``band``: a fraction).
    ``unit``: what the cells' values are (``seconds``, or ``instructions`` counted under callgrind);
    the unit costs and the predictions are in it. ``exact``: the values are exact and measured once
    (counts), so a ratio's interval comes from the cells (:func:`by_cells`), not the rounds.
    ``prior``: the cells' scatter in earlier rounds (a nightly step's earlier nights), for their
    variances (:func:`~mlupdate.bench.stats.cell_variances`)."""
    groups: dict[str, list[CellRounds]] = {}
    for c in cells:
        if c.kind == "time":
            groups.setdefault(c.series, []).append(c)
    out = []
    for key, group in sorted(groups.items()):
        workloads = [workload_of(c) for c in group]
        if any(w is None for w in workloads) or len({(w.n_models, w.n_batches) for w in workloads}) < 3:
            continue
        base_counts, base_from = _counts(key, workloads, recorded[0])
        head_counts, head_from = _counts(key, workloads, recorded[1])
        tb, th = _gmeans([c.base for c in group]), _gmeans([c.head for c in group])
        try:
            b = fit_costs(key, workloads, tb, n_boot=n_boot, counts=_own(base_counts, base_from))
            h = fit_costs(key, workloads, th, n_boot=n_boot, counts=_own(head_counts, head_from))
        except ValueError:
            continue  # too few cells for the terms: nothing to price
        loo, refits, spread = _replicates(group, b, h, base_counts, head_counts, exact)
        deltas = _deltas(workloads, base_counts, head_counts)
        judged = (math.log1p(band), math.log(factor))
        order = same_terms(b, h)
        if order is None:
            units = joint_unit_costs(b, h, loo, base_counts, head_counts, tb, th, *judged, n_boot, exact)
        elif exact or deltas:  # measured once, or counts BASE's shares would extrapolate to
            units = refit_unit_costs(b, h, order, refits, *judged, spread)
        else:
            units = unit_costs(b, h, order, share_ratios(group, b, base_counts, head_counts, prior), *judged)
        out.append(
            SeriesPrice(
                key,
                (base_from, head_from),
                deltas,
                units,
                _predicted(b, h, refits, sizes, spread),
                (b.unresolved, h.unresolved),
                unit,
            )
        )
    return out


def _replicates(group, b: CostModel, h: CostModel, base_counts, head_counts, exact: bool):
    """``(loo, refits, spread)``: the left-out rounds' cell times (for a joint fit), both sides' fits
    of each replicate (computed once, for the unit costs and the sizes), and how their spread
    becomes an estimate: over the rounds, or for exact values over the cells (the fits' paired
    bootstrap draws, with their residual degrees of freedom)."""
    if exact:
        return [], list(zip(b.draws, h.draws, strict=True)), functools.partial(by_cells, len(group) - len(b.theta))
    loo = _left_out(group)
    Ab, Ah = design_matrix(b.terms, base_counts), design_matrix(h.terms, head_counts)
    return loo, [(solved(Ab, tb_r), solved(Ah, th_r)) for tb_r, th_r in loo], by_round


def _own(counts: list[dict[str, int]], how: str) -> list[dict[str, int]] | None:
    return counts if how == "recorded" else None
