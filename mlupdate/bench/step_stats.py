"""The statistics of one paired step: what a commit did to each cell, series and exponent.

A step measures a commit (HEAD) against its predecessor (BASE) in paired rounds
(both at once, one core each: :mod:`mlupdate.bench.lockstep`). A cell's rounds
give one log ratio each, ``log(head / base)``. A nightly step has few rounds
(as many as one unpaired run would), too few for a cell's own variance; but the
same cell was measured the same way on earlier nights, so its per-round
variance pools its scatter in this step with its scatter in the earlier steps
(:func:`noise_prior`: each step around its own mean, so a change between steps
does not count as noise). Until a cell has :data:`MIN_CELL_DF` degrees of
freedom, the variance pooled over its series' cells stands in. Cells differ:
a 10 ms cell scatters several times as much as a 1 s one.

From the cells' log ratios, per series:

- the **level**: their precision-weighted mean (what the chained history follows);
- the **exponents**: the weighted least-squares slope of the log ratio over log size.
  For a power law that slope is exactly the change of the exponent;
- the **unit costs** (per model-batch visit, per fit, ...): fitted to BASE's medians and
  to HEAD's (:func:`~mlupdate.bench.scaling.costs.fit_costs`), the ratio's interval from
  refits with the cells' log ratios drawn from their intervals.

Something *moved* when its point estimate lies beyond the threshold and its
:data:`STEP_LEVEL` interval excludes no change. :func:`confirm` judges the fresh
paired rounds of a moved item, at the stricter :data:`CONFIRM_LEVEL`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from .scaling.series import SIZE_EXPONENTS

__all__ = [
    "CONFIRM_LEVEL",
    "REFUTE_LEVEL",
    "STEP_LEVEL",
    "CellRounds",
    "Estimate",
    "confirm",
    "exponent_threshold",
    "moved",
    "noise_prior",
    "slopes",
    "step_cells",
    "step_exponents",
    "step_levels",
    "step_units",
]

#: Interval level of a step's estimates (one look at each).
STEP_LEVEL = 0.95
#: Interval level of a confirmation: a change is reported only when this one agrees.
CONFIRM_LEVEL = 0.99
#: One-sided level at which fresh rounds say a move was smaller than the threshold (futility).
REFUTE_LEVEL = 0.95
#: Degrees of freedom a cell needs of its own (this step's rounds and earlier steps') before its
#: variance is its own rather than its series' pooled one.
MIN_CELL_DF = 4


@dataclass(frozen=True)
class CellRounds:
    """One cell of a step: its per-round values on each side (paired by index)."""

    benchmark: str
    params: tuple[str, ...]
    param_names: tuple[str, ...]
    base: tuple[float, ...]
    head: tuple[float, ...]
    alone: bool = False

    @property
    def logs(self) -> np.ndarray:
        return np.log(np.asarray(self.head, float) / np.asarray(self.base, float))

    @property
    def sizes(self) -> dict[str, int]:
        return {n: int(v) for n, v in zip(self.param_names, self.params, strict=True) if n in SIZE_EXPONENTS}

    @property
    def series(self) -> str:
        """The series key, as the scaling page writes it: ``benchmark(fixed=value, ...)``."""
        fixed = [f"{n}={v.strip(chr(39))}" for n, v in zip(self.param_names, self.params, strict=True)
                 if n not in SIZE_EXPONENTS]  # fmt: skip
        return f"{self.benchmark}({', '.join(fixed)})" if fixed else self.benchmark

    @property
    def label(self) -> str:
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark


@dataclass(frozen=True)
class Estimate:
    """A log-scale estimate with its standard error and degrees of freedom (``inf``: normal)."""

    mean: float
    se: float
    df: float

    def interval(self, level: float = STEP_LEVEL) -> tuple[float, float]:
        if not math.isfinite(self.se) or self.df <= 0:
            return -math.inf, math.inf
        t = sps.t.ppf(0.5 + level / 2, self.df) if math.isfinite(self.df) else sps.norm.ppf(0.5 + level / 2)
        return self.mean - t * self.se, self.mean + t * self.se

    def to_dict(self, level: float = STEP_LEVEL, scale: Callable[[float], float] = math.exp) -> dict:
        """``{"value", "low", "high", "se", "df"}``; ``scale`` maps the log scale to the reported one."""
        low, high = self.interval(level)
        return {"value": scale(self.mean), "low": _scaled(scale, low), "high": _scaled(scale, high),
                "se": _finite(self.se), "df": _finite(self.df)}  # fmt: skip


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _scaled(scale: Callable[[float], float], x: float) -> float | None:
    return float(scale(x)) if math.isfinite(x) else None


def moved(est: Estimate, threshold: float, level: float = STEP_LEVEL, log_scale: bool = True) -> int:
    """+1 (up) or -1 (down) when ``est`` lies beyond ``threshold`` and its interval excludes no
    change; 0 otherwise. ``threshold`` is a fraction on a log-scale estimate (0.05: 5%), an
    absolute difference otherwise.

    >>> moved(Estimate(math.log(1.10), 0.01, 10), 0.05), moved(Estimate(math.log(1.03), 0.001, 10), 0.05)
    (1, 0)
    """
    bound = math.log1p(threshold) if log_scale else threshold
    low, high = est.interval(level)
    if est.mean >= bound and low > 0:
        return 1
    if est.mean <= -bound and high < 0:
        return -1
    return 0


def _pooled(groups: Sequence[np.ndarray]) -> tuple[float, float]:
    """Pooled per-round variance of the groups around their own means, and its degrees of freedom."""
    df = sum(len(g) - 1 for g in groups if len(g) > 1)
    if df == 0:
        return math.inf, 0.0
    ss = sum(float(((g - g.mean()) ** 2).sum()) for g in groups if len(g) > 1)
    return ss / df, float(df)


def _series_groups(cells: Sequence[CellRounds]) -> dict[str, list[CellRounds]]:
    out: dict[str, list[CellRounds]] = {}
    for c in cells:
        out.setdefault(c.series, []).append(c)
    return out


Prior = dict[str, tuple[float, float]]  # cell label -> (sum of squares, degrees of freedom) of earlier steps


def noise_prior(docs: Sequence[dict], last: int = 10) -> Prior:
    """Per cell, the per-round scatter of its log ratio around each earlier step's own mean, summed
    over the newest ``last`` steps and anchors: the cell's measured noise on this machine."""
    out: dict[str, tuple[float, float]] = {}
    for d in [d for d in docs if d.get("kind") in ("step", "anchor")][-last:]:
        for c in d.get("cells", []):
            logs = np.log(np.asarray(c["head"], float) / np.asarray(c["base"], float))
            if len(logs) > 1 and np.all(np.isfinite(logs)):
                label = f"{c['benchmark']}({', '.join(c['params'])})" if c["params"] else c["benchmark"]
                ss, df = out.get(label, (0.0, 0.0))
                out[label] = (ss + float(((logs - logs.mean()) ** 2).sum()), df + len(logs) - 1)
    return out


def _variances(cells: Sequence[CellRounds], prior: Prior | None = None) -> dict[str, tuple[float, float]]:
    """Per cell, its per-round variance and degrees of freedom: its own rounds pooled with its
    earlier steps' (``prior``); the series' pooled variance (the step's, under 2 df) while a
    cell has fewer than :data:`MIN_CELL_DF` of its own."""
    overall = _pooled([c.logs for c in cells])
    series = {}
    for key, group in _series_groups(cells).items():
        var, df = _pooled([c.logs for c in group])
        series[key] = (var, df) if df >= 2 else overall
    out = {}
    for c in cells:
        ss, df = (prior or {}).get(c.label, (0.0, 0.0))
        ss, df = ss + float(((c.logs - c.logs.mean()) ** 2).sum()), df + len(c.logs) - 1
        out[c.label] = (ss / df, df) if df >= MIN_CELL_DF else series[c.series]
    return out


def step_cells(cells: Sequence[CellRounds], prior: Prior | None = None) -> dict[str, Estimate]:
    """Per cell label, its mean log ratio and standard error (variances: :func:`_variances`)."""
    var = _variances(cells, prior)
    return {c.label: Estimate(float(c.logs.mean()), math.sqrt(var[c.label][0] / len(c.logs)), var[c.label][1])
            for c in cells}  # fmt: skip


def _precisions(group: Sequence[CellRounds], var: dict[str, tuple[float, float]]) -> np.ndarray:
    """Each cell mean's precision, rounds / variance; an exact cell (variance 0, e.g. a count)
    makes the group exact: equal weights, and the callers give it no scatter."""
    v = np.array([var[c.label][0] for c in group])
    if np.any(v == 0):
        return np.where(v == 0, np.inf, 0.0)
    return np.array([len(c.logs) for c in group]) / v


def step_levels(cells: Sequence[CellRounds], prior: Prior | None = None) -> dict[str, Estimate]:
    """Per series, the precision-weighted mean of its cells' log ratios (a weighted geometric-mean
    ratio: a noisy short cell counts less), its degrees of freedom the fewest of its cells'."""
    var = _variances(cells, prior)
    out = {}
    for key, group in _series_groups(cells).items():
        w = _precisions(group, var)
        means = np.array([c.logs.mean() for c in group])
        df = min(var[c.label][1] for c in group)
        if np.isinf(w).any():  # exact cells: their mean, no scatter
            out[key] = Estimate(float(means[np.isinf(w)].mean()), 0.0, df)
        elif not np.all(np.isfinite(w)) or w.sum() == 0:
            out[key] = Estimate(float(means.mean()), math.inf, 0)
        else:
            out[key] = Estimate(float((w * means).sum() / w.sum()), float(w.sum() ** -0.5), df)
    return out


def slopes(group: Sequence[CellRounds], means: np.ndarray, weights: np.ndarray) -> dict[str, tuple[float, float]]:
    """Weighted least-squares slopes of ``means`` over log sizes: ``{exponent: (slope, se)}``, the
    se from ``weights`` taken as the means' precisions."""
    names = [n for n in SIZE_EXPONENTS if n in group[0].sizes]
    X = np.column_stack([np.ones(len(group))] + [np.log([c.sizes[n] for c in group]) for n in names])
    w = np.asarray(weights, float)
    xtwx = X.T @ (X * w[:, None])
    if not np.all(np.isfinite(xtwx)) or np.linalg.matrix_rank(xtwx) < X.shape[1]:
        return {}
    cov = np.linalg.inv(xtwx)
    coef = cov @ (X.T @ (w * means))
    return {SIZE_EXPONENTS[n]: (float(coef[i + 1]), math.sqrt(cov[i + 1, i + 1])) for i, n in enumerate(names)}


def step_exponents(
    cells: Sequence[CellRounds], prior: Prior | None = None
) -> dict[tuple[str, str], tuple[float, Estimate]]:
    """Per ``(series, exponent)``: BASE's log-log exponent and the step's change of it."""
    var = _variances(cells, prior)
    out = {}
    for key, group in _series_groups(cells).items():
        if not group[0].sizes or len(group) < len(group[0].sizes) + 2:
            continue
        base = np.log([float(np.median(c.base)) for c in group])
        means = np.array([c.logs.mean() for c in group])
        w = _precisions(group, var)
        exact = bool(np.isinf(w).any())
        w = np.where(np.isinf(w), 1.0, w) if exact else w
        base_slopes = slopes(group, base, np.ones(len(group)))
        df = min(var[c.label][1] for c in group)
        for name, (slope, se) in slopes(group, means, w).items():
            out[(key, name)] = (base_slopes[name][0], Estimate(slope, 0.0 if exact else se, df))
    return out


def exponent_threshold(base_exponent: float, threshold: float) -> float:
    """An exponent moved when it changed by ``threshold`` of itself (at least of 1: a flat series'
    exponent near 0 would otherwise move with any noise)."""
    return threshold * max(abs(base_exponent), 1.0)


def step_units(
    group: Sequence[CellRounds], workloads: Sequence, draws: int = 200, seed: int = 0, prior: Prior | None = None
) -> dict[str, tuple[float, float, Estimate]]:
    """Per unit (``"model-batch visit"``, ``"fit"``, ...) of one series: BASE's and HEAD's unit
    cost in seconds and the log ratio's estimate (its se from refits with the cells' log ratios
    drawn from their estimates)."""
    from .scaling.costs import fit_costs

    est = step_cells(group, prior)
    base = np.array([float(np.median(c.base)) for c in group])
    means = np.array([est[c.label].mean for c in group])
    ses = np.array([est[c.label].se for c in group])
    if not np.all(np.isfinite(ses)):
        ses = np.zeros(len(group))
    try:
        b = fit_costs(group[0].series, workloads, base, n_boot=0)
        h = fit_costs(group[0].series, workloads, base * np.exp(means), n_boot=0)
    except ValueError:
        return {}
    rng = np.random.default_rng(seed)
    redrawn = [fit_costs("", workloads, base * np.exp(rng.normal(means, ses)), n_boot=0).theta for _ in range(draws)]
    out = {}
    for i, term in enumerate(b.terms, 1):
        if b.theta[i] <= 0 or h.theta[i] <= 0:
            continue  # a unit cost the fit put at zero has no ratio
        logs = np.log(np.maximum([t[i] for t in redrawn], 1e-15) / b.theta[i])
        out[term.what] = (float(b.theta[i]), float(h.theta[i]),
                          Estimate(math.log(h.theta[i] / b.theta[i]), float(np.std(logs)), math.inf))  # fmt: skip
    return out


def confirm(
    logs_by_round: Sequence[float],
    direction: int,
    threshold: float,
    log_scale: bool = True,
    prior: tuple[float, float] | None = None,
) -> tuple[str, Estimate]:
    """The verdict of fresh paired rounds on something a step said moved in ``direction``, and
    their estimate.

    ``confirmed`` when they say it moved the same way (:func:`moved` at :data:`CONFIRM_LEVEL`);
    ``refuted`` when their one-sided :data:`REFUTE_LEVEL` bound says it moved by less than the
    threshold that way; ``open`` otherwise (more rounds could still decide). ``prior``: the
    step's per-round variance of the same item and its degrees of freedom, pooled with the
    fresh rounds' own (the same machine and work, measured minutes before).

    >>> confirm([0.1, 0.09, 0.11, 0.1], 1, 0.05)[0], confirm([0.0, 0.01, -0.01, 0.0], 1, 0.05)[0]
    ('confirmed', 'refuted')
    """
    x = np.asarray(logs_by_round, float)
    ss, df = (float(((x - x.mean()) ** 2).sum()), len(x) - 1) if len(x) else (0.0, 0)
    if prior is not None and prior[1] and math.isfinite(prior[0]):
        ss, df = ss + prior[0] * prior[1], df + prior[1]
    if len(x) < 2 or df < 1:
        return "open", Estimate(float(x.mean()) if len(x) else 0.0, math.inf, 0)
    est = Estimate(float(x.mean()), math.sqrt(ss / df / len(x)), df)
    if moved(est, threshold, CONFIRM_LEVEL, log_scale) == direction:
        return "confirmed", est
    bound = math.log1p(threshold) if log_scale else threshold
    reach = direction * est.mean + float(sps.t.ppf(REFUTE_LEVEL, df)) * est.se
    return ("refuted" if reach < bound else "open"), est
