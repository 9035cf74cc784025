"""A unit cost on both sides and its HEAD/BASE ratio: the record, and how the ratio is estimated.

Three ways, by what the two sides' counts and values allow (:func:`~mlupdate.bench.scaling.prices.price_series`
chooses):

- the two sides' fits have the same terms and the same counts, values over paired rounds: the
  series model with BASE's cost shares for its design (:func:`share_ratios`, :func:`unit_costs`);
- the same terms on counts that changed (a training series' fits, ``m`` -> ``m·n``): BASE's shares
  on HEAD's counts would price work BASE never ran, so each side's own fit, the ratio's spread a
  jackknife over the rounds (:func:`refit_unit_costs`, :func:`by_round`);
- HEAD's counts price the terms apart from BASE's (a fit count that became the visits'): one fit of
  both sides' cells, the ratio's spread a jackknife over the rounds (:func:`joint_unit_costs`);
- exact values measured once (instruction counts): each side's own fit, the spread the fits'
  misfit over the cells (:func:`refit_unit_costs`, :func:`by_cells`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..stats import CellRounds, Estimate, bootstrapped, cell_data, fit_unit_ratios, jackknife, verdict_of
from ..stats.verdict import LOOK_LEVEL
from .costs import CostModel, design, design_matrix, fit_design, is_resolved

__all__ = [
    "PREDICT_LEVEL",
    "UnitCost",
    "bounds",
    "by_cells",
    "by_round",
    "joint_unit_costs",
    "refit_unit_costs",
    "same_terms",
    "share_ratios",
    "solved",
    "unit_costs",
]

#: The level of the unit costs' and predictions' bootstrap intervals.
PREDICT_LEVEL = 0.95


@dataclass(frozen=True)
class UnitCost:
    """One unit's cost on each side (seconds, 95% bootstrap intervals), and the HEAD/BASE ratio with
    its 99% interval over the paired rounds (None: unbounded) and the core's verdict."""

    per: str
    base: float
    base_interval: tuple[float, float]
    head: float
    head_interval: tuple[float, float]
    ratio: float | None
    low: float | None
    high: float | None
    verdict: str  # same / slower / faster / undecided / not resolved / not comparable
    # the ratio's log-scale estimate, where it comes from the series model over the paired rounds
    estimate: Estimate | None = None

    def to_dict(self) -> dict:
        doc = {k: v for k, v in asdict(self).items() if k != "estimate"}
        doc["estimate"] = None if self.estimate is None else self.estimate.to_json()
        return doc


def ratio_cost(per, base, base_draws, head, head_draws, ratio: Estimate, band, threshold) -> UnitCost:
    """A unit cost on both sides (each with its bootstrap interval) and the HEAD/BASE ratio, judged by
    the core's rule on ``ratio``: its log, estimated over the paired rounds (:func:`by_round`)."""
    q = [100 * (1 - PREDICT_LEVEL) / 2, 100 * (1 + PREDICT_LEVEL) / 2]
    interval_b = tuple(map(float, np.percentile(base_draws, q)))
    interval_h = tuple(map(float, np.percentile(head_draws, q)))
    if not (is_resolved(interval_b) and is_resolved(interval_h)) or base <= 0 or head <= 0:
        return UnitCost(per, base, interval_b, head, interval_h, None, None, None, "not resolved")
    low, high = bounds(ratio, LOOK_LEVEL)
    return UnitCost(per, base, interval_b, head, interval_h, head / base, low, high, verdict_of(ratio, threshold, band))


def modelled_cost(per, base, base_draws, head, head_draws, ratio: Estimate, band, threshold) -> UnitCost:
    """:func:`ratio_cost` with the ratio read from the series model (:func:`share_ratios`): its
    point is the model's, and the estimate is kept (a nightly step judges and chains it)."""
    cost = ratio_cost(per, base, base_draws, head, head_draws, ratio, band, threshold)
    if cost.ratio is None or not math.isfinite(ratio.mean):
        return cost  # not resolved, or a ratio the model put at or below zero: unbounded, kept out of the chain
    return replace(cost, ratio=math.exp(ratio.mean), estimate=ratio)


def bounds(ratio: Estimate, level: float) -> tuple[float | None, float | None]:
    """The ratio's interval, or ``(None, None)`` where the rounds cannot bound it."""
    lo, hi = ratio.interval(level)
    return (math.exp(lo), math.exp(hi)) if math.isfinite(lo) and math.isfinite(hi) else (None, None)


def by_round(point: np.ndarray, replicates: list[np.ndarray]) -> list[Estimate]:
    """Log ratios over the paired rounds: ``point`` from all rounds, ``replicates`` the same without
    each round in turn, judged by the core's jackknife. A fit's own residuals cannot give the
    spread: a handful of cells and three unit costs leave a residual bootstrap too few degrees of
    freedom (the same code read a fit x0.73 "faster" from it). A refit at a zero bound: unbounded."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return jackknife(point, np.array(replicates, float).reshape(len(replicates), len(point)))


def by_cells(df: float, point: np.ndarray, replicates: list[np.ndarray]) -> list[Estimate]:
    """Log ratios of exact values measured once (instruction counts): no rounds to spread over, the
    uncertainty is the cost model's misfit over the cells, so ``replicates`` are both sides' fits
    of one residual resample of the cells each, paired (:func:`~.costs.fit_design` draws the same
    resample on both sides), with the fits' residual ``df``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return bootstrapped(point, np.array(replicates, float).reshape(len(replicates), len(point)), df)


def solved(A: np.ndarray, t: np.ndarray) -> np.ndarray:
    return fit_design(A, t, n_boot=0)[0]


def _full_rank(A: np.ndarray) -> bool:
    """Whether the columns of ``A``, each scaled to its largest entry, are independent."""
    return bool(np.linalg.matrix_rank(A / np.maximum(np.abs(A).max(0), 1e-300)) == A.shape[1])


def _joint_columns(b: CostModel, h: CostModel, base_counts, head_counts):
    """``(terms, A, where, why)`` of the joint fit: the terms both sides' counts tell apart together
    (:func:`~mlupdate.bench.scaling.costs.design` over the two sides' cells), each a column per side
    where its counts changed and one shared column otherwise; ``why`` names each shared term's
    reason (a term priced per side has none). A changed term that only one side's counts separate
    is shared instead where per-side columns would leave the fit without a unique solution."""
    terms, _ = design([*base_counts, *head_counts])
    own = {side: {t.key for t in model.terms} for side, model in (("BASE", b), ("HEAD", h))}
    nb, nh = len(base_counts), len(head_counts)

    def build(split: set[str]):
        cols = [np.r_[np.ones(nb), np.zeros(nh)], np.r_[np.zeros(nb), np.ones(nh)]]
        where = []
        for term in terms:
            xb = np.array([c.get(term.key, 0) for c in base_counts], float)
            xh = np.array([c.get(term.key, 0) for c in head_counts], float)
            cols += [np.r_[xb, np.zeros(nh)], np.r_[np.zeros(nb), xh]] if term.key in split else [np.r_[xb, xh]]
            where.append((len(cols) - 2, len(cols) - 1) if term.key in split else (len(cols) - 1, len(cols) - 1))
        return np.column_stack(cols), where

    def changed(key: str) -> bool:
        return any(x.get(key, 0) != y.get(key, 0) for x, y in zip(base_counts, head_counts, strict=True))

    split = {t.key for t in terms if changed(t.key)}
    explained = set(b.explained) | set(h.explained)

    def keep_split(term) -> int:
        # first shared: a count one side explains by its other terms (rows trained: BASE's visits and
        # fits), then one a side's model merges into another's term, last a term of both models
        return 0 if term.key in explained else 1 + (term.key in own["BASE"] and term.key in own["HEAD"])

    A, where = build(split)
    for term in sorted(terms, key=keep_split):
        if _full_rank(A):
            break
        if term.key not in split:
            continue
        split.discard(term.key)
        A, where = build(split)
    why = {}
    for term in terms:
        if term.key in split:
            continue
        if not changed(term.key):
            why[term.key] = "shared (its counts did not change)"
        else:
            alone = [side for side in ("BASE", "HEAD") if term.key in own[side]]
            by = f"{alone[0]}'s counts" if len(alone) == 1 else "the two sides' counts together"
            why[term.key] = f"shared (only {by} price it apart)"
    return terms, A, where, why


def joint_unit_costs(
    b: CostModel, h: CostModel, loo, base_counts, head_counts, tb, th, band, threshold, n_boot, exact: bool = False
) -> list[UnitCost]:
    """Unit costs when HEAD's counts separate terms BASE's keep together, or the other way round (a
    fit count that became the visits': ``m`` -> ``m·n``): both sides' cells in one fit, over the
    terms their counts tell apart together (:func:`_joint_columns`), a unit cost shared where the
    term's counts did not change, and one per side where they did. So a fit is compared with a fit:
    BASE's ``m`` fits are also its ``m`` holdout scores, and HEAD's ``m·n`` fits are not, so HEAD's
    cells price the score apart and BASE's fit is read net of it (with BASE's terms alone, a fit
    read 0.62-0.75x on a change that leaves a fit's own cost alone: ``tools/measure_fit_cost.py``
    times the fit stage itself on both sides); likewise the rows trained, which BASE's visits and
    fits explain."""
    terms, A, where, why = _joint_columns(b, h, base_counts, head_counts)
    if not _full_rank(A):
        return [not_comparable(b, i) for i in range(1, len(b.terms) + 1)]
    theta, draws = fit_design(A, np.r_[tb, th], n_boot=n_boot)
    pairs = np.array(where)
    with np.errstate(divide="ignore", invalid="ignore"):
        point = np.log(theta[pairs[:, 1]] / theta[pairs[:, 0]])

    fits = draws if exact else [solved(A, np.r_[b_, h_]) for b_, h_ in loo]
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = [np.log(x[pairs[:, 1]] / x[pairs[:, 0]]) for x in fits]
    ratios = by_cells(len(A) - A.shape[1], point, replicates) if exact else by_round(point, replicates)
    out = []
    for term, (i, j), ratio in zip(terms, where, ratios, strict=True):
        cost = ratio_cost(term.what, float(theta[i]), draws[:, i], float(theta[j]), draws[:, j], ratio, band, threshold)
        if term.key in why:
            cost = replace(cost, ratio=None, low=None, high=None, verdict=why[term.key])
        out.append(cost)
    return out


def not_comparable(b: CostModel, i: int) -> UnitCost:
    why = "not comparable (HEAD's counts cannot tell this unit from another)"
    return UnitCost(
        b.terms[i - 1].what, float(b.theta[i]), b.interval(i), math.nan, (math.nan, math.nan), None, None, None, why
    )


def same_terms(b: CostModel, h: CostModel) -> np.ndarray | None:
    """Per term of BASE, its column in BASE's and in HEAD's fit; None when HEAD's terms differ."""
    heads = {term.label: i for i, term in enumerate(h.terms, 1)}
    if set(heads) != {term.label for term in b.terms}:
        return None
    return np.array([(i, heads[term.label]) for i, term in enumerate(b.terms, 1)])


def share_ratios(group: Sequence[CellRounds], b: CostModel, base_counts, head_counts, prior) -> list[Estimate]:
    """Each of BASE's terms' HEAD/BASE unit-cost ratio from the cells' paired rounds: the series
    model with BASE's unit costs on HEAD's counts as its design (:func:`~mlupdate.bench.stats.fit_unit_ratios`)."""
    fitted = design_matrix(b.terms, base_counts) @ b.theta
    shares = design_matrix(b.terms, head_counts) * b.theta / np.maximum(fitted, 1e-300)[:, None]
    return fit_unit_ratios(cell_data(group, prior), shares)[1:]


def unit_costs(
    b: CostModel,
    h: CostModel,
    order: np.ndarray,
    ratios: list[Estimate],
    band: float,
    threshold: float,
    cost: Callable[..., UnitCost] = modelled_cost,
) -> list[UnitCost]:
    """Per term, both sides' unit costs from their own fits (the two fits have the same terms, in
    ``order``), judged by ``ratios``: the series model's (:func:`share_ratios`), kept with each
    cost (:func:`modelled_cost`), or those of :func:`refit_unit_costs` (:func:`ratio_cost`)."""
    return [
        cost(term.what, float(b.theta[i]), b.draws[:, i], float(h.theta[j]), h.draws[:, j], ratio, band, threshold)
        for (i, j), term, ratio in zip(order, b.terms, ratios, strict=True)
    ]


def refit_unit_costs(b: CostModel, h: CostModel, order: np.ndarray, refits, band, threshold, spread) -> list[UnitCost]:
    """:func:`unit_costs` from each side's own fit, the ratios' spread from ``refits`` (both sides'
    fits of each replicate) by ``spread``: over the rounds left out in turn (:func:`by_round`), or
    for exact values measured once (instruction counts) the fits' misfit over the cells (their
    paired bootstrap fits, :func:`by_cells`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        point = np.log(h.theta[order[:, 1]] / b.theta[order[:, 0]])
        ratios = spread(point, [np.log(xh[order[:, 1]] / xb[order[:, 0]]) for xb, xh in refits])
    return unit_costs(b, h, order, ratios, band, threshold, cost=ratio_cost)
