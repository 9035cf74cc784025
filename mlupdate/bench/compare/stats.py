"""Judge two commits from paired rounds: per-cell ratios and exponent deltas.

Each round measures both commits, one right after the other, and the order
alternates from round to round (A B, B A, A B, B A). A drift of the machine
that hits a whole round hits both sides alike and cancels in the round's
ratio; a drift within a round favours A in one round and B in the next, so it
cancels in the mean and shows up as spread, widening the interval instead of
producing a verdict. Intervals are Student-t intervals over the per-round log
ratios, so they carry the round-to-round variance, not only the within-round
samples.

A cell's verdict is one of four (:func:`verdict`): ``slower`` when the whole
interval lies above the factor, ``faster`` when it lies below its inverse,
``same`` when it lies inside the equivalence band (``same_within``), and
``undecided`` otherwise: more rounds would narrow it. ``mlupdate compare`` runs
rounds until no cell is undecided or its budget is spent (sequential stopping).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ..scaling.exponents import MIN_GROWTH

__all__ = [
    "MIN_GROWTH",
    "CellVerdict",
    "ExponentVerdict",
    "judge_cell",
    "judge_exponent",
    "mde",
    "noise_sd",
    "verdict",
]

#: Power for the minimum detectable change (:func:`mde`).
POWER = 0.8
#: The cells' interval level. A cell is judged after every round from the fourth
#: on, up to a dozen looks at the same data; 99% per look keeps the chance that
#: the same code reads ``slower`` somewhere in the rounds near the 5% of one look.
CELL_LEVEL = 0.99


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


@dataclass(frozen=True)
class CellVerdict:
    """One benchmark cell: HEAD/BASE ratio with its ``CELL_LEVEL`` (99%) interval and the verdict."""

    benchmark: str
    params: tuple[str, ...]
    base: float
    head: float
    ratio: float
    low: float
    high: float
    verdict: str  # "slower", "faster", "same" or "undecided"
    rounds: int = 0
    mde: float | None = None  # smallest change this cell's precision detects (a fraction, 0.05: 5%)

    @property
    def kind(self) -> str:
        """``time``, ``peakmem`` or ``track``, from the method name."""
        return self.benchmark.rsplit(".", 1)[-1].split("_", 1)[0]

    def to_dict(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "params": list(self.params),
            "base": self.base,
            "head": self.head,
            "ratio": self.ratio,
            "low": self.low,
            "high": self.high,
            "verdict": self.verdict,
            "rounds": self.rounds,
            "mde": self.mde,
        }


def verdict(low: float, high: float, factor: float, same_within: float) -> str:
    """The verdict of a ratio's interval ``[low, high]``.

    >>> verdict(1.06, 1.09, 1.05, 0.05), verdict(0.98, 1.03, 1.05, 0.05), verdict(1.0, 1.08, 1.05, 0.05)
    ('slower', 'same', 'undecided')
    """
    if low > factor:
        return "slower"
    if high < 1 / factor:
        return "faster"
    if low >= 1 / (1 + same_within) and high <= 1 + same_within:
        return "same"
    return "undecided"


def mde(log_ratios: Sequence[float], level: float = CELL_LEVEL, power: float = POWER) -> float | None:
    """The smallest change (a fraction) that these rounds' precision detects with ``power``:
    ``exp((t_(1-alpha/2) + t_power) * sem) - 1`` on their log ratios; None from fewer than 2.

    >>> round(mde([0.01, -0.01, 0.02, -0.02]), 4)
    0.0642
    """
    x = np.asarray(log_ratios, float)
    if len(x) < 2:
        return None
    df = len(x) - 1
    t = sps.t.ppf(1 - (1 - level) / 2, df) + sps.t.ppf(power, df)
    return float(math.expm1(t * float(sps.sem(x))))


def judge_cell(
    benchmark: str,
    params: tuple[str, ...],
    base: Sequence[float],
    head: Sequence[float],
    factor: float,
    same_within: float | None = None,
) -> CellVerdict:
    """Pair round r of ``base`` with round r of ``head`` and judge the ratio (:func:`verdict`;
    ``same_within`` defaults to the factor's own band, ``factor - 1``)."""
    if len(base) != len(head) or not base:
        raise ValueError(f"{benchmark}{params}: {len(base)} base and {len(head)} head rounds cannot be paired")
    b, h = np.asarray(base, float), np.asarray(head, float)
    logs = np.log(h / b)
    mean, lo, hi = t_interval(logs, CELL_LEVEL)
    ratio, low, high = math.exp(mean), math.exp(lo), math.exp(hi)
    band = factor - 1 if same_within is None else same_within
    return CellVerdict(benchmark, tuple(params), float(sps.gmean(b)), float(sps.gmean(h)), ratio, low, high,
                       verdict(low, high, factor, band), len(b), mde(logs))  # fmt: skip


@dataclass(frozen=True)
class ExponentVerdict:
    """One exponent of one series: BASE, HEAD, their difference and its 95% interval."""

    series: str
    exponent: str
    base: float
    head: float
    delta: float
    low: float
    high: float
    verdict: str  # "grew", "fell" or "same"

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("series", "exponent", "base", "head", "delta", "low", "high", "verdict")}


def judge_exponent(
    series: str, exponent: str, base: float, head: float, round_deltas: Sequence[float], min_growth: float = MIN_GROWTH
) -> ExponentVerdict:
    """``base``/``head``: the exponents fitted on all rounds; ``round_deltas``: HEAD - BASE
    fitted round by round, whose spread gives the interval around ``head - base``."""
    delta = head - base
    _, lo, hi = t_interval(round_deltas)
    centre = float(np.mean(round_deltas))
    lo, hi = delta + (lo - centre), delta + (hi - centre)
    verdict = "same"
    if delta >= min_growth and lo > 0:
        verdict = "grew"
    elif delta <= -min_growth and hi < 0:
        verdict = "fell"
    return ExponentVerdict(series, exponent, base, head, delta, lo, hi, verdict)


def noise_sd(cells: Sequence[CellVerdict]) -> float | None:
    """sd of log ratio over the time cells not judged ``slower`` or ``faster``: how much the same code moves."""
    logs = [math.log(c.ratio) for c in cells if c.kind == "time" and c.verdict in ("same", "undecided")]
    return float(np.std(logs, ddof=1)) if len(logs) >= 2 else None
