"""An estimate on the log scale (or of an exponent) with its standard error and degrees of freedom."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

__all__ = ["POWER", "Estimate", "bootstrapped", "jackknife", "mde", "t_interval"]

#: Power for the minimum detectable change (:func:`mde`).
POWER = 0.8


def _quantile(level: float, df: float) -> float:
    """The two-sided ``level`` quantile of Student's t with ``df`` (normal for infinite ``df``)."""
    q = 0.5 + level / 2
    return float(sps.t.ppf(q, df) if math.isfinite(df) else sps.norm.ppf(q))


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error and degrees of freedom (``inf``: normal).

    >>> low, high = Estimate(0.0, 0.1, 10).interval(0.95)
    >>> round(low, 3), round(high, 3)
    (-0.223, 0.223)
    """

    mean: float
    se: float
    df: float

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The two-sided ``level`` interval; unbounded without a finite se or with no df."""
        if not math.isfinite(self.se) or self.df <= 0:
            return -math.inf, math.inf
        t = _quantile(level, self.df)
        return self.mean - t * self.se, self.mean + t * self.se

    def mde(self, level: float = 0.99, power: float = POWER) -> float | None:
        """The smallest change (on this estimate's scale) its precision detects with ``power``."""
        if not math.isfinite(self.se) or self.df <= 0:
            return None
        q = _quantile(level, self.df) + (
            float(sps.t.ppf(power, self.df)) if math.isfinite(self.df) else float(sps.norm.ppf(power))
        )
        return q * self.se

    def to_dict(self, level: float = 0.95, scale: Callable[[float], float] = math.exp) -> dict:
        """``{"value", "low", "high", "se", "df"}``; ``scale`` maps the log scale to the reported one."""
        low, high = self.interval(level)
        return {
            "value": scale(self.mean),
            "low": _scaled(scale, low),
            "high": _scaled(scale, high),
            "se": _finite(self.se),
            "df": _finite(self.df),
        }

    def to_json(self) -> dict:
        return {"mean": self.mean, "se": _finite(self.se), "df": _finite(self.df)}

    @classmethod
    def from_json(cls, doc: dict) -> Estimate:
        se, df = doc.get("se"), doc.get("df")
        return cls(float(doc["mean"]), math.inf if se is None else float(se), math.inf if df is None else float(df))


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _scaled(scale: Callable[[float], float], x: float) -> float | None:
    return float(scale(x)) if math.isfinite(x) else None


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its two-sided Student-t interval (unbounded from fewer than 2 values).

    >>> mean, low, high = t_interval([0.0, 0.1, 0.2])
    >>> round(mean, 3), round(low, 3), round(high, 3)
    (0.1, -0.148, 0.348)
    >>> t_interval([2.0, 2.0, 2.0])
    (2.0, 2.0, 2.0)
    """
    x = np.asarray(values, float)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, -math.inf, math.inf
    sem = float(sps.sem(x))
    if sem == 0:  # identical values (exact counts): scipy's interval would be nan
        return mean, mean, mean
    low, high = sps.t.interval(level, len(x) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def mde(log_ratios: Sequence[float], level: float = 0.99, power: float = POWER) -> float | None:
    """The smallest change (a fraction) that these rounds' precision detects with ``power``:
    ``exp((t_(1-alpha/2) + t_power) * sem) - 1`` on their log ratios; None from fewer than 2.

    >>> round(mde([0.01, -0.01, 0.02, -0.02]), 4)
    0.0642
    """
    x = np.asarray(log_ratios, float)
    if len(x) < 2:
        return None
    found = Estimate(float(x.mean()), float(sps.sem(x)), len(x) - 1).mde(level, power)
    return None if found is None else float(math.expm1(found))


def jackknife(point: Sequence[float], replicates: np.ndarray) -> list[Estimate]:
    """Estimates of ``point`` (one value per quantity) whose standard errors are the jackknife's:
    ``replicates`` holds the quantities recomputed without each of ``n`` units in turn (``n`` rows),
    with ``n - 1`` degrees of freedom. Fewer than 3 rows, or a replicate that is not finite: unbounded.

    >>> est = jackknife([0.0], np.array([[0.01], [-0.01], [0.02], [-0.02]]))[0]
    >>> round(est.se, 4), est.df
    (0.0274, 3)
    """
    reps = np.asarray(replicates, float)
    n = len(reps)
    if n < 3 or not np.all(np.isfinite(reps)):
        return [Estimate(float(p), math.inf, 0) for p in point]
    se = np.sqrt((n - 1) / n * ((reps - reps.mean(0)) ** 2).sum(0))
    return [Estimate(float(p), float(e), n - 1) for p, e in zip(point, se, strict=True)]


def bootstrapped(point: Sequence[float], draws: np.ndarray, df: float) -> list[Estimate]:
    """Estimates of ``point`` whose standard errors are the spread of bootstrap ``draws`` (one row per
    draw, one column per quantity), with ``df`` degrees of freedom: for exact values measured once,
    whose uncertainty is the model's misfit over the cells, not a spread over rounds. Fewer than 2
    finite draws of a quantity, or no ``df``: unbounded.

    >>> est = bootstrapped([0.0], np.array([[0.01], [-0.01], [0.02], [-0.02]]), 5)[0]
    >>> round(est.se, 4), est.df
    (0.0183, 5)
    """
    reps = np.asarray(draws, float).reshape(len(draws), len(point))
    out = []
    for j, p in enumerate(point):
        finite = reps[np.isfinite(reps[:, j]), j]
        if len(finite) < 2 or df <= 0 or not math.isfinite(float(p)):
            out.append(Estimate(float(p), math.inf, 0))
        else:
            out.append(Estimate(float(p), float(finite.std(ddof=1)), df))
    return out
