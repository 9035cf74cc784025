"""The statistics of one paired step: what a commit did to each cell, series and exponent.

A step measures a commit (HEAD) against its predecessor (BASE) in paired rounds
(both at once, one core each: :mod:`mlupdate.bench.runner.lockstep`). A cell's rounds
give one log ratio each, ``log(head / base)``. A nightly step has few rounds
(as many as one unpaired run would), too few for a cell's own variance; but the
same cell was measured the same way on earlier nights, so its per-round
variance pools its scatter in this step with its scatter in the earlier steps
(:func:`noise_prior`: each step around its own mean, so a change between steps
does not count as noise). Until a cell has
:data:`~mlupdate.bench.stats.model.MIN_CELL_DF` degrees of freedom, its series'
variance curve over the cells' durations stands in
(:func:`~mlupdate.bench.stats.cell_variances`): a 10 ms cell scatters several
times as much as a 1 s one.

From the cells' log ratios, per series, through the one statistical core's series
model (:mod:`mlupdate.bench.stats.model`, the same estimator as ``compare``'s):

- the **level**: their precision-weighted log ratio at the series' centre (what the
  chained history follows);
- the **exponents**: the weighted slope of the log ratio over log size. For a power
  law that slope is exactly the change of the exponent;
- the **unit costs** (per model-batch visit, per fit, ...): the same model with BASE's cost
  shares for its design (:func:`~mlupdate.bench.stats.fit_unit_ratios`, through
  :func:`~mlupdate.bench.scaling.prices.price_series`, which prices the step as ``compare``
  prices a comparison).

Something *moved* (:func:`~mlupdate.bench.stats.moved`, the core's one definition) when
its point estimate lies beyond the threshold and its :data:`STEP_LEVEL` interval
excludes no change. :func:`confirm` judges the fresh paired rounds of a moved item,
at the stricter :data:`CONFIRM_LEVEL`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import linalg
from scipy import stats as sps

from ..results.step_files import cell_label
from ..stats import CONFIRM_LEVEL, STEP_LEVEL, CellRounds, Estimate, cell_variances, fit_series_models, moved
from ..stats.cells import SIZE_EXPONENTS

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
]

#: One-sided level at which fresh rounds say a move was smaller than the threshold (futility).
REFUTE_LEVEL = 0.95

Prior = dict[str, tuple[float, float]]  # cell label -> (sum of squares, degrees of freedom) of earlier steps


def noise_prior(docs: Sequence[dict], last: int = 10) -> Prior:
    """Per cell, the per-round scatter of its log ratio around each earlier step's own mean, summed
    over the newest ``last`` steps and anchors: the cell's measured noise on this machine."""
    out: dict[str, tuple[float, float]] = {}
    for d in [d for d in docs if d.get("kind") in ("step", "anchor")][-last:]:
        for c in d.get("cells", []):
            logs = np.log(np.asarray(c["head"], float) / np.asarray(c["base"], float))
            if len(logs) > 1 and np.all(np.isfinite(logs)):
                label = cell_label(c)
                ss, df = out.get(label, (0.0, 0.0))
                out[label] = (ss + float(((logs - logs.mean()) ** 2).sum()), df + len(logs) - 1)
    return out


def step_cells(cells: Sequence[CellRounds], prior: Prior | None = None) -> dict[str, Estimate]:
    """Per cell label, its mean log ratio and standard error (variances:
    :func:`~mlupdate.bench.stats.cell_variances`)."""
    var = cell_variances(cells, prior)
    return {
        c.label: Estimate(float(c.logs.mean()), math.sqrt(var[c.label][0] / len(c.logs)), var[c.label][1])
        for c in cells
    }


def step_levels(cells: Sequence[CellRounds], prior: Prior | None = None) -> dict[str, Estimate]:
    """Per series, its level: the series model's (:mod:`mlupdate.bench.stats.model`), the
    precision-weighted log ratio at the series' centre."""
    return {key: model.level for key, model in fit_series_models(cells, prior).items()}


def slopes(group: Sequence[CellRounds], means: np.ndarray, weights: np.ndarray) -> dict[str, tuple[float, float]]:
    """Weighted least-squares slopes of ``means`` over log sizes: ``{exponent: (slope, se)}``, the
    se from ``weights`` taken as the means' precisions (a QR solve, not the normal equations)."""
    names = [n for n in SIZE_EXPONENTS if n in group[0].sizes]
    X = np.column_stack([np.ones(len(group))] + [np.log([c.sizes[n] for c in group]) for n in names])
    w = np.sqrt(np.asarray(weights, float))
    if not np.all(np.isfinite(w)) or np.linalg.matrix_rank(X * w[:, None]) < X.shape[1]:
        return {}
    q, r = linalg.qr(X * w[:, None], mode="economic")
    coef = linalg.solve_triangular(r, q.T @ (np.asarray(means, float) * w))
    r_inv = linalg.solve_triangular(r, np.eye(r.shape[0]))
    var = np.sum(r_inv**2, axis=1)
    return {SIZE_EXPONENTS[n]: (float(coef[i + 1]), math.sqrt(var[i + 1])) for i, n in enumerate(names)}


def step_exponents(
    cells: Sequence[CellRounds], prior: Prior | None = None
) -> dict[tuple[str, str], tuple[float, Estimate]]:
    """Per ``(series, exponent)``: BASE's log-log exponent and the step's change of it (the series
    model's, :mod:`mlupdate.bench.stats.model`)."""
    models = fit_series_models(cells, prior)
    out = {}
    for key, model in models.items():
        group = [c for c in cells if c.series == key]
        if not group[0].sizes or len(group) < len(group[0].sizes) + 2:
            continue
        base = np.log([float(np.median(c.base)) for c in group])
        base_slopes = slopes(group, base, np.ones(len(group)))
        for name, est in model.deltas.items():
            if name in base_slopes:
                out[(key, name)] = (base_slopes[name][0], est)
    return out


def exponent_threshold(base_exponent: float, threshold: float) -> float:
    """An exponent moved when it changed by ``threshold`` of itself (at least of 1: a flat series'
    exponent near 0 would otherwise move with any noise)."""
    return threshold * max(abs(base_exponent), 1.0)


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
