"""A cell of a comparison: its HEAD/BASE ratio from paired rounds, judged by the one verdict rule.

Each round measures both commits at the same moment, one core each, in seats drawn by the
balanced design (:mod:`mlupdate.bench.runner.design`). A drift of the machine that hits a whole round
hits both sides alike and cancels in the round's ratio. A cell's interval is a Student-t
interval over its per-round log ratios (:func:`~mlupdate.bench.stats.t_interval`), so it
carries the round-to-round variance, and its verdict is the core's
(:func:`~mlupdate.bench.stats.verdict`). Series are judged from all their cells at once
(:mod:`mlupdate.bench.compare.series`); a cell is decided only where it is decisive alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ..stats import LOOK_LEVEL, mde, t_interval
from ..stats import verdict as _verdict

__all__ = ["CELL_LEVEL", "CellVerdict", "judge_cell", "mde", "noise_sd", "t_interval", "verdict"]

#: The cells' interval level: the core's level for verdicts read after every round.
CELL_LEVEL = LOOK_LEVEL


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
    """The verdict of a ratio's interval ``[low, high]``: the core's rule on the log scale.

    >>> verdict(1.06, 1.09, 1.05, 0.05), verdict(0.98, 1.03, 1.05, 0.05), verdict(1.0, 1.08, 1.05, 0.05)
    ('slower', 'same', 'undecided')
    """
    return _verdict(_log(low), _log(high), math.log(factor), math.log1p(same_within))


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def judge_cell(
    benchmark: str,
    params: tuple[str, ...],
    base: Sequence[float],
    head: Sequence[float],
    factor: float,
    same_within: float | None = None,
    exact: bool = False,
) -> CellVerdict:
    """Pair round r of ``base`` with round r of ``head`` and judge the ratio (:func:`verdict`;
    ``same_within`` defaults to the factor's own band, ``factor - 1``). ``exact``: the values are
    counts that repeat (instructions), so the interval is the ratio itself, from one round."""
    if len(base) != len(head) or not base:
        raise ValueError(f"{benchmark}{params}: {len(base)} base and {len(head)} head rounds cannot be paired")
    b, h = np.asarray(base, float), np.asarray(head, float)
    logs = np.log(h / b)
    mean, lo, hi = t_interval(logs, CELL_LEVEL)
    if exact:
        mean = lo = hi = float(logs.mean())
    ratio, low, high = math.exp(mean), math.exp(lo), math.exp(hi)
    band = factor - 1 if same_within is None else same_within
    return CellVerdict(
        benchmark,
        tuple(params),
        float(sps.gmean(b)),
        float(sps.gmean(h)),
        ratio,
        low,
        high,
        verdict(low, high, factor, band),
        len(b),
        mde(logs, CELL_LEVEL),
    )


def noise_sd(cells: Sequence[CellVerdict]) -> float | None:
    """sd of log ratio over the time cells not judged ``slower`` or ``faster``: how much the same code moves."""
    logs = [math.log(c.ratio) for c in cells if c.kind == "time" and c.verdict in ("same", "undecided")]
    return float(np.std(logs, ddof=1)) if len(logs) >= 2 else None
