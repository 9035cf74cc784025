"""What a change did to the work and what it will cost: each series priced with each side's own counts.

For every timed series whose cells state a workload, a comparison answers a reviewer's questions:

- **counts**: which counts changed between BASE and HEAD, as formulas of the sizes (``fit: m -> m·n``),
  read from the counts the two commits' timed runs recorded (:mod:`mlupdate.bench.results.counts`);
- **unit costs**: each side's cost model (:func:`~mlupdate.bench.scaling.costs.fit_costs`) from its own
  counts and its cells' times over the paired rounds, and per unit the HEAD/BASE ratio with the core's
  verdict (:func:`~mlupdate.bench.stats.verdict`);
- **the seed's sizes**: each side's predicted seconds at 10x10, 100x100 and 1000x1000 (its own counts'
  formulas, its own unit costs), and their ratio with a bootstrap interval.

A side whose runs recorded no counts (a plain ``asv run``, an older mlupdate) is priced with the plan
and says so; a term whose unit cost the data cannot separate from zero is priced as not resolved.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ...durations import format_amount
from ..results.counts import RecordedCounts
from ..stats import CellRounds, verdict
from .costs import (
    CostModel,
    count_formulas,
    fit_costs,
    fit_design,
    is_resolved,
    own_counts,
    plan_counts,
)

__all__ = ["PREDICT_LEVEL", "SEED_SIZES", "CountDelta", "Predicted", "SeriesPrice", "UnitCost", "price_series"]

#: The seed's sizes, at which every series is priced.
SEED_SIZES = ((10, 10), (100, 100), (1000, 1000))
#: The level of the unit costs' and predictions' bootstrap intervals.
PREDICT_LEVEL = 0.95


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
class UnitCost:
    """One unit's cost on each side (seconds, 95% intervals) and the ratio's verdict."""

    per: str
    base: float
    base_interval: tuple[float, float]
    head: float
    head_interval: tuple[float, float]
    ratio: float | None
    low: float | None
    high: float | None
    verdict: str  # same / slower / faster / undecided / not resolved / not comparable

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
    low: float
    high: float

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
                f"at {top.size} the update goes from {format_amount(top.base, self.unit)} to "
                f"{format_amount(top.head, self.unit)} "
                f"(x{top.ratio:.3g} [{top.low:.3g}, {top.high:.3g}])"
            )
        plan = [side for side, how in zip(("BASE", "HEAD"), self.counts_from, strict=True) if how == "plan"]
        if plan:
            parts.append(f"{' and '.join(plan)} priced with the plan's counts (no counts recorded)")
        return f"{self.series}: " + "; ".join(parts)

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
    return f"{u.verdict} (x{u.ratio:.3g} [{u.low:.3g}, {u.high:.3g}])"


def _size(m: int, n: int) -> str:
    return f"{m}x{n}"


def _gmeans(values: Sequence[Sequence[float]]) -> np.ndarray:
    return np.exp([np.mean(np.log(v)) for v in values])


def _counts(workloads, recorded: RecordedCounts | None) -> tuple[list[dict[str, int]], str]:
    own = own_counts(workloads, recorded)
    return (own, "recorded") if own is not None else ([plan_counts(w) for w in workloads], "plan")


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


def _ratio_cost(per, base, base_draws, head, head_draws, band, threshold) -> UnitCost:
    """A unit cost on both sides, from point values and bootstrap draws, judged by the core's rule."""
    q = [100 * (1 - PREDICT_LEVEL) / 2, 100 * (1 + PREDICT_LEVEL) / 2]
    interval_b = tuple(map(float, np.percentile(base_draws, q)))
    interval_h = tuple(map(float, np.percentile(head_draws, q)))
    if not (is_resolved(interval_b) and is_resolved(interval_h)) or base <= 0 or head <= 0:
        return UnitCost(per, base, interval_b, head, interval_h, None, None, None, "not resolved")
    logs = np.log(np.maximum(head_draws, 1e-300) / np.maximum(base_draws, 1e-300))
    lo, hi = np.percentile(logs, q)
    return UnitCost(
        per,
        base,
        interval_b,
        head,
        interval_h,
        head / base,
        float(math.exp(lo)),
        float(math.exp(hi)),
        verdict(float(lo), float(hi), threshold, band),
    )


def _joint_unit_costs(b: CostModel, base_counts, head_counts, tb, th, band, threshold, n_boot) -> list[UnitCost]:
    """Unit costs when HEAD's counts merge terms BASE's keep apart (a fit count that became
    proportional to the visits): both sides' cells in one fit, with BASE's terms, a unit cost shared
    where the term's counts did not change, and one per side where they did. The shared ones are
    priced alike on both sides by construction, and say so."""
    keys = [term.key for term in b.terms]
    changed = [any(x.get(k, 0) != y.get(k, 0) for x, y in zip(base_counts, head_counts, strict=True)) for k in keys]
    nb, nh = len(base_counts), len(head_counts)
    cols = [np.r_[np.ones(nb), np.zeros(nh)], np.r_[np.zeros(nb), np.ones(nh)]]
    where = []  # per term: (base column, head column)
    for key, moved in zip(keys, changed, strict=True):
        xb = np.array([c.get(key, 0) for c in base_counts], float)
        xh = np.array([c.get(key, 0) for c in head_counts], float)
        if moved:
            cols += [np.r_[xb, np.zeros(nh)], np.r_[np.zeros(nb), xh]]
            where.append((len(cols) - 2, len(cols) - 1))
        else:
            cols.append(np.r_[xb, xh])
            where.append((len(cols) - 1, len(cols) - 1))
    A = np.column_stack(cols)
    if np.linalg.matrix_rank(A) < A.shape[1]:
        return [_not_comparable(b, i) for i in range(1, len(b.terms) + 1)]
    theta, draws = fit_design(A, np.r_[tb, th], n_boot=n_boot)
    out = []
    for term, (i, j), moved in zip(b.terms, where, changed, strict=True):
        cost = _ratio_cost(term.what, float(theta[i]), draws[:, i], float(theta[j]), draws[:, j], band, threshold)
        if not moved:
            cost = replace(cost, ratio=None, low=None, high=None, verdict="shared (its counts did not change)")
        out.append(cost)
    return out


def _not_comparable(b: CostModel, i: int) -> UnitCost:
    why = "not comparable (HEAD's counts cannot tell this unit from another)"
    return UnitCost(
        b.terms[i - 1].what, float(b.theta[i]), b.interval(i), math.nan, (math.nan, math.nan), None, None, None, why
    )


def _unit_costs(b: CostModel, h: CostModel, band: float, threshold: float) -> list[UnitCost]:
    """Per term, both sides' unit costs from their own fits, when the two fits have the same terms
    (else empty: the caller prices them jointly)."""
    heads = {term.label: i for i, term in enumerate(h.terms, 1)}
    if set(heads) != {term.label for term in b.terms}:
        return []
    return [
        _ratio_cost(
            term.what,
            float(b.theta[i]),
            b.draws[:, i],
            float(h.theta[heads[term.label]]),
            h.draws[:, heads[term.label]],
            band,
            threshold,
        )
        for i, term in enumerate(b.terms, 1)
    ]


def _predicted(b: CostModel, h: CostModel, sizes: Sequence[tuple[int, int]]) -> list[Predicted]:
    out = []
    q = [100 * (1 - PREDICT_LEVEL) / 2, 100 * (1 + PREDICT_LEVEL) / 2]
    for m, n in sizes:
        xb, xh = b.row(m, n), h.row(m, n)
        pb, ph = float(xb @ b.theta), float(xh @ h.theta)
        db, dh = b.draws @ xb, h.draws @ xh
        ratios = dh / np.maximum(db, 1e-300)
        lo, hi = np.percentile(ratios, q)
        out.append(
            Predicted(
                _size(m, n),
                pb,
                tuple(map(float, np.percentile(db, q))),
                ph,
                tuple(map(float, np.percentile(dh, q))),
                ph / pb if pb > 0 else math.inf,
                float(lo),
                float(hi),
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
) -> list[SeriesPrice]:
    """Price every timed series among ``cells`` whose every cell has a workload (``workload_of``
    returns None where a cell has none). ``factor`` and ``band`` judge the unit costs' ratios as the
    core's verdict judges a cell's (``factor``: the threshold as a ratio, ``band``: a fraction).
    ``unit``: what the cells' values are (``seconds``, or ``instructions`` counted under callgrind);
    the unit costs and the predictions are in it."""
    groups: dict[str, list[CellRounds]] = {}
    for c in cells:
        if c.kind == "time":
            groups.setdefault(c.series, []).append(c)
    out = []
    for key, group in sorted(groups.items()):
        workloads = [workload_of(c) for c in group]
        if any(w is None for w in workloads) or len({(w.n_models, w.n_batches) for w in workloads}) < 3:
            continue
        base_counts, base_from = _counts(workloads, recorded[0])
        head_counts, head_from = _counts(workloads, recorded[1])
        tb, th = _gmeans([c.base for c in group]), _gmeans([c.head for c in group])
        try:
            b = fit_costs(key, workloads, tb, n_boot=n_boot, counts=_own(base_counts, base_from))
            h = fit_costs(key, workloads, th, n_boot=n_boot, counts=_own(head_counts, head_from))
        except ValueError:
            continue  # too few cells for the terms: nothing to price
        out.append(
            SeriesPrice(
                key,
                (base_from, head_from),
                _deltas(workloads, base_counts, head_counts),
                _unit_costs(b, h, math.log1p(band), math.log(factor))
                or _joint_unit_costs(b, base_counts, head_counts, tb, th, math.log1p(band), math.log(factor), n_boot),
                _predicted(b, h, sizes),
                (b.unresolved, h.unresolved),
                unit,
            )
        )
    return out


def _own(counts: list[dict[str, int]], how: str) -> list[dict[str, int]] | None:
    return counts if how == "recorded" else None
