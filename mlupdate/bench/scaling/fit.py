"""Fit ``t = c * prod(x_k ** e_k) + d`` robustly in log space, with intervals.

The offset ``d`` absorbs fixed costs (process and pool start-up) that bias a
plain log-log fit low; the ``soft_l1`` loss keeps outlier cells (a noisy
neighbour, a GC pause) from pulling the exponents. Intervals are bootstrap
percentiles: per-cell samples are resampled when asv recorded them, cells are
redrawn from their confidence interval when it did not, and log residuals
are resampled when neither is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit
from scipy.stats import norm

__all__ = ["Fit", "fit_loglog", "fit_surface"]

Z99 = float(norm.ppf(0.995))  # asv stores 99% confidence intervals


@dataclass
class Fit:
    """Fitted exponents (by size name), with 95% bootstrap intervals."""

    exponents: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    c: float
    d: float
    n_cells: int
    draws: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def predict(self, sizes: dict[str, np.ndarray]) -> np.ndarray:
        out = np.full(len(next(iter(sizes.values()))), self.c, float)
        for name, e in self.exponents.items():
            out *= sizes[name] ** e
        return out + self.d


def fit_loglog(sizes: dict[str, np.ndarray], t: np.ndarray) -> dict[str, float]:
    """Plain least squares of ``log t`` on ``log x_k`` (the biased baseline)."""
    names = list(sizes)
    A = np.column_stack([np.ones(len(t))] + [np.log(sizes[k]) for k in names])
    coef, *_ = np.linalg.lstsq(A, np.log(t), rcond=None)
    return dict(zip(names, map(float, coef[1:]), strict=True))


def _solve(names: Sequence[str], logx: np.ndarray, logt: np.ndarray, x0: np.ndarray) -> np.ndarray:
    k = len(names)
    lo_d = logt.min() - 25.0

    def residuals(theta: np.ndarray) -> np.ndarray:
        lc, e, ld = theta[0], theta[1 : 1 + k], theta[1 + k]
        return np.logaddexp(lc + logx @ e, ld) - logt

    def jacobian(theta: np.ndarray) -> np.ndarray:
        # d/da log(e^a + e^d) = expit(a - d), with a = lc + logx @ e: exact, where differences cost a
        # refit per parameter in each of the bootstrap's refits
        share = expit(theta[0] + logx @ theta[1 : 1 + k] - theta[1 + k])
        return np.column_stack([share, share[:, None] * logx, 1.0 - share])

    lower = np.r_[-50.0, np.full(k, -1.0), lo_d]
    upper = np.r_[50.0, np.full(k, 4.0), logt.min()]
    x0 = np.clip(x0, lower + 1e-9, upper - 1e-9)
    res = least_squares(residuals, x0, jac=jacobian, bounds=(lower, upper), loss="soft_l1", f_scale=0.1, x_scale="jac")
    return res.x


def _bootstrap(
    names: Sequence[str],
    logx: np.ndarray,
    logt: np.ndarray,
    fitted: np.ndarray,
    theta: np.ndarray,
    cis: Sequence[tuple[float, float] | None] | None,
    samples: Sequence[Sequence[float] | None] | None,
    n_boot: int,
    rng: np.random.Generator,
    replicas: Sequence[Sequence[Sequence[float]] | None] | None = None,
) -> np.ndarray:
    """``n_boot`` refits on redrawn cells: the replicas and then each one's samples resampled
    where a run had two (so the replicas' disagreement widens the interval), else the
    per-cell samples, else a draw from the cell's 99% interval, else a resampled log residual."""
    k = len(names)
    resid = logt - fitted
    draws = np.empty((n_boot, k))
    for i in range(n_boot):
        logt_b = np.empty_like(logt)
        for j in range(len(logt)):
            smp = samples[j] if samples is not None else None
            ci = cis[j] if cis is not None else None
            reps = replicas[j] if replicas is not None else None
            if reps is not None and len(reps) >= 2 and all(reps):
                drawn = [np.asarray(reps[i], float) for i in rng.integers(0, len(reps), len(reps))]
                logt_b[j] = np.log(np.median(np.concatenate([rng.choice(r, len(r)) for r in drawn])))
            elif smp is not None and len(smp) >= 2:
                logt_b[j] = np.log(np.median(rng.choice(np.asarray(smp, float), len(smp))))
            elif ci is not None and ci[0] > 0 and ci[1] > ci[0]:
                sigma = (np.log(ci[1]) - np.log(ci[0])) / (2 * Z99)
                logt_b[j] = logt[j] + rng.normal(0, sigma)
            else:
                logt_b[j] = fitted[j] + rng.choice(resid)
        draws[i] = _solve(names, logx, logt_b, theta)[1 : 1 + k]
    return draws


def fit_surface(
    sizes: dict[str, np.ndarray],
    t: np.ndarray,
    *,
    cis: Sequence[tuple[float, float] | None] | None = None,
    samples: Sequence[Sequence[float] | None] | None = None,
    replicas: Sequence[Sequence[Sequence[float]] | None] | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> Fit:
    """Fit ``t = c * prod(sizes[k] ** e_k) + d`` (``d >= 0``) with 95% intervals.

    Parameters
    ----------
    sizes : dict of name -> array
        Size parameters per cell, e.g. ``{"a": m, "b": n}`` (exponent names).
    t : array
        Cell values (seconds, bytes, ...), all > 0.
    cis : per-cell (lo, hi) 99% intervals, optional
    samples : per-cell raw samples, optional
    replicas : per-cell samples of each replica, optional (a run in two replicas)
    n_boot : int
        Bootstrap refits for the intervals (0: none).
    """
    names = list(sizes)
    t = np.asarray(t, float)
    if len(t) < len(names) + 3:
        raise ValueError(f"{len(t)} cells are too few to fit {len(names)} exponent(s) with c and d")
    logx = np.column_stack([np.log(sizes[k]) for k in names])
    logt = np.log(t)
    base = fit_loglog(sizes, t)
    x0 = np.r_[
        logt.mean() - logx.mean(0) @ np.array([base[k] for k in names]), [base[k] for k in names], logt.min() - 1
    ]
    theta = _solve(names, logx, logt, x0)
    k = len(names)
    fitted = np.logaddexp(theta[0] + logx @ theta[1 : 1 + k], theta[1 + k])
    draws = _bootstrap(names, logx, logt, fitted, theta, cis, samples, n_boot, np.random.default_rng(seed), replicas)
    exps = {n: float(theta[1 + i]) for i, n in enumerate(names)}
    intervals = {
        n: (float(np.percentile(draws[:, i], 2.5)), float(np.percentile(draws[:, i], 97.5)))
        if n_boot
        else (exps[n], exps[n])
        for i, n in enumerate(names)
    }
    return Fit(
        exps,
        intervals,
        float(np.exp(theta[0])),
        float(np.exp(theta[1 + k])),
        len(t),
        {n: draws[:, i] for i, n in enumerate(names)},
    )
