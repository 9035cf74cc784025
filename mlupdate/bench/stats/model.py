"""The series model: the cells of a series share a level and an exponent change.

For the cells ``c`` of one series and their paired rounds ``r``::

    log(head / base)[c, r] = level + sum_j delta_j * (log size_j[c] - centre_j) + u[c] + e[c, r]

``level`` is the series' log ratio at its (precision-weighted) centre, ``delta_j`` the change
of the exponent of size ``j`` (for a power law the slope of the log ratio over log size is
exactly that change), ``u[c]`` a cell's own residual and ``e`` the per-round scatter. Each
cell mean is weighted by its precision, ``1 / (var[c] / rounds[c] + tau^2)``, where ``tau^2``,
the variance of the cells' own residuals, is estimated from the fit itself (method of moments,
DerSimonian and Laird) when the cells disagree beyond their rounds' scatter: a cell that moved alone widens the series' intervals instead of
pulling its estimates. The weighted least squares is solved by a QR factorisation
(:func:`scipy.linalg.qr`), never by inverting the normal equations.

A cell's per-round variance is its own once it has :data:`MIN_CELL_DF` degrees of freedom
(this run's rounds, plus an earlier one's where given); until then its series' variance curve
at the cell's duration (:func:`cell_variances`). A short cell scatters several times as much as
a long one, so a variance shared by every cell would weigh them alike and leave the series'
interval as wide as its noisy cells make it; own variances from few rounds would weigh each
cell by its own noise and leave the interval too narrow. The curve has two parameters estimated
from all the series' cells: its weights follow the cells' durations, not their noise
(``tools/series_coverage.py`` checks both the interval's coverage and its width).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, special, stats

from .cells import SIZE_EXPONENTS, CellRounds
from .estimate import Estimate

__all__ = [
    "MIN_CELL_DF",
    "CellData",
    "SeriesModel",
    "cell_data",
    "cell_variances",
    "fit_series_model",
    "fit_unit_ratios",
]

#: Degrees of freedom a cell needs of its own before its variance is its own rather than its
#: series' pooled one. A cell weighted by a variance estimated from few rounds is weighted by
#: its noise: the series' interval comes out too narrow (``tools/series_coverage.py``: a 99%
#: level interval held the truth in 0.968 of same-code draws at 4 df, 0.978 at 6, 0.985 at 9;
#: with the pooled variance, 0.993).
MIN_CELL_DF = 10

#: The cells' own residuals are estimated only when the model's residual statistic ``Q`` says,
#: at this level, that the cells disagree beyond their rounds' scatter (an F test): a
#: method-of-moments estimate from a dozen cells is noisy, and one that is not needed costs the
#: series its degrees of freedom.
HETEROGENEITY_LEVEL = 0.95

#: Cells with a variance a series needs before its variance curve gets a slope over duration.
MIN_SLOPE_CELLS = 4
#: Degrees of freedom a cell's variance needs to count toward that slope (a nightly step's two
#: rounds give one: its log variance scatters by a factor of 9, too noisy to weigh cells by).
MIN_SLOPE_DF = 3
#: The largest slope of log variance over log duration taken from a series' cells.
MAX_VARIANCE_SLOPE = 2.0

Prior = Mapping[str, tuple[float, float]]  # cell label -> (sum of squares, degrees of freedom) of earlier rounds


@dataclass(frozen=True)
class CellData:
    """What the model takes of a cell: its mean log ratio, its rounds and per-round variance."""

    label: str
    sizes: dict[str, int]
    mean: float
    rounds: int
    var: float
    df: float


@dataclass(frozen=True)
class SeriesModel:
    """A series' fitted level and exponent changes.

    Attributes
    ----------
    key : str
        The series key.
    level : Estimate
        The log ratio at the series' centre.
    deltas : dict of str to Estimate
        Per exponent (``a``, ``b``, ``p``), its change HEAD - BASE.
    tau : float
        The sd of the cells' own residuals beyond their rounds' scatter (0: none seen).
    cells : int
        How many cells the fit used.
    """

    key: str
    level: Estimate
    deltas: dict[str, Estimate] = field(default_factory=dict)
    tau: float = 0.0
    cells: int = 0


def _duration(c: CellRounds) -> float:
    """A cell's typical value (its time, for a timed cell): the geometric mean of both sides' values."""
    values = np.concatenate([np.asarray(c.base, float), np.asarray(c.head, float)])
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.exp(np.log(values).mean())) if len(values) else 1.0


def variance_slope(variances: Sequence[tuple[float, float]], durations: Sequence[float]) -> float:
    """How a series' per-round variance scales with its cells' duration: the slope ``beta`` of
    ``log var = alpha + beta * log duration`` over its cells' ``(variance, df)``, each ``log var``
    corrected for its bias (``digamma(df / 2) - log(df / 2)``) and weighted by its precision
    (``1 / trigamma(df / 2)``). Only cells with :data:`MIN_SLOPE_DF` degrees of freedom count: a
    variance from fewer is too noisy to weigh by. 0 (a variance shared by every cell) from fewer
    than :data:`MIN_SLOPE_CELLS` such cells, or a single duration; bounded by
    :data:`MAX_VARIANCE_SLOPE`.

    >>> rng = np.random.default_rng(0)
    >>> d = np.repeat([0.01, 0.1, 1.0], 20)
    >>> variances = [(rng.normal(0, 0.05 * x**-0.5, 6).var(ddof=1), 5) for x in d]
    >>> round(variance_slope(variances, d), 1)
    -1.0
    >>> variance_slope([(v, 1) for v, _ in variances], d)  # one round of scatter each: too noisy
    0.0
    """
    var = np.array([v for v, _ in variances], float)
    df = np.array([f for _, f in variances], float)
    keep = (df >= MIN_SLOPE_DF) & (var > 0) & np.isfinite(var)
    x = np.log(np.asarray(durations, float))[keep]
    if keep.sum() < MIN_SLOPE_CELLS or np.ptp(x) == 0:
        return 0.0
    half = df[keep] / 2
    y = np.log(var[keep]) - (special.digamma(half) - np.log(half))
    w = 1 / special.polygamma(1, half)
    xc = x - (w * x).sum() / w.sum()
    beta = float((w * xc * y).sum() / (w * xc**2).sum())
    return min(max(beta, -MAX_VARIANCE_SLOPE), MAX_VARIANCE_SLOPE)


def cell_variances(cells: Sequence[CellRounds], prior: Prior | None = None) -> dict[str, tuple[float, float]]:
    """Per cell label, its per-round variance and degrees of freedom.

    A cell with :data:`MIN_CELL_DF` degrees of freedom of its own (its rounds pooled with
    ``prior``'s) has its own. The others have their series' variance curve at their duration:
    ``scale * duration ** beta``, ``beta`` from :func:`variance_slope` over the cells' own
    variances and ``scale`` pooled over this run's rounds of the series' cells (with ``beta`` 0:
    the series' pooled variance), with those rounds' pooled degrees of freedom (one fewer with a
    slope); everything's, for a series under 2 df.
    """
    own = {}
    for c in cells:
        ss, df = (prior or {}).get(c.label, (0.0, 0.0))
        ss, df = ss + float(((c.logs - c.logs.mean()) ** 2).sum()), df + len(c.logs) - 1
        own[c.label] = (ss / df if df > 0 else math.inf, df)
    durations = {c.label: _duration(c) for c in cells}
    by_series: dict[str, list[CellRounds]] = {}
    for c in cells:
        by_series.setdefault(c.series, []).append(c)
    everything = _curve(cells, own, durations)
    curves = {}
    for key, group in by_series.items():
        curve = _curve(group, own, durations)
        curves[key] = curve if curve[2] >= 2 else everything
    out = {}
    for c in cells:
        if own[c.label][1] >= MIN_CELL_DF:
            out[c.label] = own[c.label]
        else:
            scale, beta, df = curves[c.series]
            out[c.label] = (scale * durations[c.label] ** beta, df)
    return out


def _curve(
    group: Sequence[CellRounds], own: Mapping[str, tuple[float, float]], durations: Mapping[str, float]
) -> tuple[float, float, float]:
    """``(scale, beta, df)`` of the variance curve ``scale * duration ** beta`` over ``group``:
    ``beta`` from :func:`variance_slope` over the cells' ``own`` variances, ``scale`` this run's
    pooled sum of squares over the curve's shape; ``df`` its degrees of freedom, one fewer with a
    slope (an infinite scale under 1)."""
    d = np.array([durations[c.label] for c in group])
    beta = variance_slope([own[c.label] for c in group], d)
    logs = [c.logs for c in group]
    df = sum(len(g) - 1 for g in logs if len(g) > 1) - (beta != 0)
    if df < 1:
        return math.inf, 0.0, 0.0
    ss = sum(float(((g - g.mean()) ** 2).sum()) / x**beta for g, x in zip(logs, d, strict=True) if len(g) > 1)
    return ss / df, beta, float(df)


def cell_data(cells: Sequence[CellRounds], prior: Prior | None = None) -> list[CellData]:
    """:class:`CellData` of each cell (variances: :func:`cell_variances`)."""
    var = cell_variances(cells, prior)
    return [CellData(c.label, c.sizes, float(c.logs.mean()), len(c.logs), *var[c.label]) for c in cells]


def _design(cells: Sequence[CellData], w: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The model's columns: an intercept and, per size that varies, its log centred at the weighted mean."""
    names = [n for n in SIZE_EXPONENTS if all(n in c.sizes for c in cells)]
    names = [n for n in names if len({c.sizes[n] for c in cells}) > 1]
    cols = [np.ones(len(cells))]
    for n in names:
        x = np.log([c.sizes[n] for c in cells])
        cols.append(x - float((w * x).sum() / w.sum()))
    X = np.column_stack(cols)
    while X.shape[1] > 1 and (len(cells) <= X.shape[1] - 1 or np.linalg.matrix_rank(X) < X.shape[1]):
        X, names = X[:, :-1], names[:-1]  # too few cells for every slope: keep the first ones
    return X, names


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares by QR: the coefficients and their covariance ``(X'WX)^-1``."""
    s = np.sqrt(w)
    q, r = linalg.qr(X * s[:, None], mode="economic")
    coef = linalg.solve_triangular(r, q.T @ (y * s))
    r_inv = linalg.solve_triangular(r, np.eye(r.shape[0]))
    return coef, r_inv @ r_inv.T


def _tau2(X: np.ndarray, y: np.ndarray, w: np.ndarray, df: float) -> float:
    """The method-of-moments variance of the cells' own residuals (DerSimonian-Laird, for a
    regression), when the cells disagree (``df``: the degrees of freedom of their variances)."""
    k, p = X.shape
    if k <= p:
        return 0.0
    coef, cov = _wls(X, y, w)
    q = float((w * (y - X @ coef) ** 2).sum())
    # Q / (k - p) is F-distributed when the weights come from estimated variances
    bound = (k - p) * (stats.f.ppf(HETEROGENEITY_LEVEL, k - p, df) if math.isfinite(df) and df > 0 else 1.0)
    if q <= bound:
        return 0.0  # the cells agree with the model within their rounds' scatter
    trace = float(w.sum() - np.trace(cov @ (X.T @ (X * (w**2)[:, None]))))
    return max(0.0, (q - (k - p)) / trace) if trace > 0 else 0.0


def fit_series_model(key: str, cells: Sequence[CellData]) -> SeriesModel:
    """The series model of ``cells`` (one series): its level and exponent changes with intervals.

    Exact cells (variance 0: counts) give exact estimates (se 0); cells without a finite
    variance give unbounded ones.

    >>> cells = [CellData(f"c{m}", {"n_models": m}, 0.1 + 0.2 * np.log(m / 4), 4, 0.01, 3.0) for m in (1, 4, 16)]
    >>> model = fit_series_model("s", cells)
    >>> round(model.level.mean, 3), round(model.deltas["a"].mean, 3), model.tau
    (0.1, 0.2, 0.0)
    """
    var = np.array([c.var for c in cells], float)
    means = np.array([c.mean for c in cells], float)
    rounds = np.array([c.rounds for c in cells], float)
    df = min(c.df for c in cells)
    exact = bool(np.all(var == 0))
    if exact or not np.all(np.isfinite(var)):
        w = np.ones(len(cells))
    else:
        w = rounds / np.maximum(var, 1e-300)
    X, names = _design(cells, w)
    tau2 = 0.0 if exact or not np.all(np.isfinite(var)) else _tau2(X, means, w, df)
    if tau2 > 0:
        w = 1.0 / (var / rounds + tau2)
        X, names = _design(cells, w)
        df = min(df, float(len(cells) - X.shape[1]))
    coef, cov = _wls(X, means, w)
    if exact:
        ses = np.zeros(len(coef))
    elif not np.all(np.isfinite(var)):
        ses = np.full(len(coef), math.inf)
    else:
        ses = np.sqrt(np.diag(cov))
    estimates = [Estimate(float(b), float(s), df) for b, s in zip(coef, ses, strict=True)]
    deltas = {SIZE_EXPONENTS[n]: e for n, e in zip(names, estimates[1:], strict=True)}
    return SeriesModel(key, estimates[0], deltas, math.sqrt(tau2), len(cells))


def fit_unit_ratios(cells: Sequence[CellData], shares: np.ndarray) -> list[Estimate]:
    """Each unit cost's HEAD/BASE ratio (log scale) from the cells' paired ratios: the series model
    with a cost model's shares for its design.

    A cell's time is a sum of terms, BASE's ``t_b[c] = sum_k theta[k] x_b[c, k]``; HEAD's unit
    costs are BASE's times a ratio each, so with ``shares[c, k] = theta[k] x_h[c, k] / t_b[c]``
    (BASE's unit costs, HEAD's counts)::

        head[c] / base[c] = sum_k shares[c, k] * rho[k]

    is linear in the ratios ``rho``. It is fitted by the series model's weighted least squares
    over the cells' mean ratios (a cell's variance on the ratio scale is ``ratio^2 var / rounds``,
    its variance from :func:`cell_variances`; the cells' own residuals ``tau^2`` as there), so a
    unit cost's interval has the series' pooled degrees of freedom and the short, noisy cells
    weigh less. Refitting both sides' cost models without each round in turn instead gives an
    interval with ``rounds - 1`` degrees of freedom from a non-linear, bounded fit: on a same-code
    pair the visit's ratio read x1.02 [0.81, 1.29].

    A column without shares (a cost BASE's fit put at zero), a design that cannot tell two columns
    apart, or cells without a finite variance give unbounded estimates; a ratio fitted at or below
    zero is unbounded too (its log is ``-inf``).

    >>> cells = [CellData(f"c{k}", {"k": k}, math.log(0.5 * 0.2 + 0.5 * 1.0 * (k / 8)), 6, 0.01, 30.0)
    ...          for k in (1, 2, 4, 8)]
    >>> shares = np.array([[0.5, 0.5 * k / 8] for k in (1, 2, 4, 8)])
    >>> [round(math.exp(e.mean), 3) for e in fit_unit_ratios(cells, shares)]
    [0.2, 1.0]
    """
    S = np.asarray(shares, float)
    var = np.array([c.var for c in cells], float)
    ratio = np.exp([c.mean for c in cells])
    rounds = np.array([c.rounds for c in cells], float)
    df = min(c.df for c in cells)
    unbounded = [Estimate(0.0, math.inf, 0) for _ in range(S.shape[1])]
    live = np.flatnonzero(np.abs(S).sum(0) > 0)
    # each column on its own scale: a cost that is a millionth of every cell is still a column
    scale = np.abs(S[:, live]).max(0) if len(live) else np.ones(0)
    X = S[:, live] / scale
    if not len(live) or not np.all(np.isfinite(var)) or np.linalg.matrix_rank(X) < X.shape[1]:
        return unbounded
    exact = bool(np.all(var == 0))
    spread = ratio**2 * var / rounds
    w = np.ones(len(cells)) if exact else 1 / np.maximum(spread, 1e-300)
    tau2 = 0.0 if exact else _tau2(X, ratio, w, df)
    if tau2 > 0:
        w = 1 / (spread + tau2)
        df = min(df, float(len(cells) - X.shape[1]))
    coef, cov = _wls(X, ratio, w)
    coef, ses = coef / scale, (np.zeros(len(coef)) if exact else np.sqrt(np.diag(cov))) / scale
    out = list(unbounded)
    for j, rho, se in zip(live, coef, ses, strict=True):
        out[j] = Estimate(math.log(rho), float(se / rho), df) if rho > 0 else Estimate(-math.inf, math.inf, 0)
    return out


def fit_series_models(cells: Sequence[CellRounds], prior: Prior | None = None) -> dict[str, SeriesModel]:
    """The model of every series among ``cells``, by series key."""
    data = {d.label: d for d in cell_data(cells, prior)}
    groups: dict[str, list[CellData]] = {}
    for c in cells:
        groups.setdefault(c.series, []).append(data[c.label])
    return {key: fit_series_model(key, group) for key, group in groups.items()}
