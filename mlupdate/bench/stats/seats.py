"""Bias by seat: does a side read differently by its core, its start order, its place in the round?

The balanced design (:mod:`mlupdate.bench.runner.design`) makes every seat cancel on average; this is
the check that it did. For paired rounds of the *same code* on both sides, each cell's log
ratios are centred on the cell's own mean (what is left is seat and scatter), then regressed on
three seat indicators at once:

- ``core``: BASE on the first core (against the second);
- ``start``: BASE started first (against second);
- ``position``: the cell's place in the round, from 0 (first) to 1 (last).

BASE's core and the start order are seats of a round: every cell of a round shares them, and
the round's own scatter (a process-level draw, 0.03-0.09 per round here) too. So ``core`` and
``start`` are fitted to the rounds' mean centred log ratios, one observation per round, with the
rounds' degrees of freedom; a fit over the cells' rounds as if independent read a same-code
start order at t -3.6 from four rounds whose means differed by 4%. ``position`` varies inside a
round and is fitted there, each round's mean taken out.

Each effect is an :class:`~mlupdate.bench.stats.Estimate` on the log scale (the difference it
makes to ``log(head / base)``), with its t statistic. :func:`round_means` gives the mean centred
log ratio of each round index, for a breakdown by round.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .estimate import Estimate

__all__ = ["SeatedRound", "round_means", "seat_effects"]


@dataclass(frozen=True)
class SeatedRound:
    """One cell's log ratio in one round with its seat."""

    cell: str
    log_ratio: float
    round: int
    base_on_first_core: bool
    base_started_first: bool
    position: float  # 0: first in the round, 1: last
    run: str = ""  # the run the round belongs to (a nightly step's commit): rounds of two runs are two rounds


def _centred(rows: Sequence[SeatedRound]) -> np.ndarray:
    by_cell: dict[str, list[float]] = {}
    for r in rows:
        by_cell.setdefault(r.cell, []).append(r.log_ratio)
    means = {c: float(np.mean(v)) for c, v in by_cell.items()}
    return np.array([r.log_ratio - means[r.cell] for r in rows])


def _ols(X: np.ndarray, y: np.ndarray, df: float) -> tuple[np.ndarray, np.ndarray]:
    """Least squares coefficients and their standard errors from the residuals, with ``df``."""
    coef = linalg.lstsq(X, y)[0]
    sigma2 = float(((y - X @ coef) ** 2).sum()) / df
    (r,) = linalg.qr(X, mode="r")
    r_inv = linalg.solve_triangular(r[: X.shape[1]], np.eye(X.shape[1]))
    return coef, np.sqrt(sigma2 * np.sum(r_inv**2, axis=1))


def _round_of(r: SeatedRound) -> tuple[str, int, bool, bool]:
    return (r.run, r.round, r.base_on_first_core, r.base_started_first)


def seat_effects(rows: Sequence[SeatedRound]) -> dict[str, Estimate]:
    """The ``core`` and ``start`` effects on the log ratio, fitted together over the rounds' means,
    and the ``position`` effect inside the rounds. An effect without degrees of freedom (too few
    rounds for the round's seats) is left out.

    >>> rng = np.random.default_rng(0)
    >>> rows = [SeatedRound(f"c{c}", 0.03 * (r % 2) + rng.normal(0, 0.01), r, r % 2 == 1, (r // 2) % 2 == 0,
    ...                     c / 9) for c in range(10) for r in range(8)]
    >>> effects = seat_effects(rows)
    >>> round(effects["core"].mean, 2), abs(effects["start"].mean) < 0.01, effects["core"].df
    (0.03, True, 5.0)
    """
    y = _centred(rows)
    # a round's cells share its seats; cells seated otherwise in the same round form a group of their own
    rounds = sorted({_round_of(r) for r in rows})
    index = np.array([rounds.index(_round_of(r)) for r in rows])
    means = np.array([y[index == k].mean() for k in range(len(rounds))])
    seats = {
        "core": np.array([core for _, _, core, _ in rounds], float),
        "start": np.array([start for _, _, _, start in rounds], float),
    }
    out = {}
    names = [n for n, x in seats.items() if np.ptp(x) > 0]
    df = len(rounds) - 1 - len(names)
    if names and df > 0:
        X = np.column_stack([np.ones(len(rounds))] + [seats[n] - seats[n].mean() for n in names])
        coef, se = _ols(X, means, df)
        out |= {n: Estimate(float(coef[i + 1]), float(se[i + 1]), float(df)) for i, n in enumerate(names)}
    position = np.array([r.position for r in rows], float)
    within = position - np.array([position[index == k].mean() for k in range(len(rounds))])[index]
    df = len(rows) - len({r.cell for r in rows}) - len(rounds)  # cells' and rounds' means taken out
    if np.ptp(within) > 0 and df > 0:
        coef, se = _ols(within[:, None], y - means[index], df)
        out["position"] = Estimate(float(coef[0]), float(se[0]), float(df))
    return out


def round_means(rows: Sequence[SeatedRound]) -> dict[int, Estimate]:
    """Per round index, the mean of the cells' centred log ratios and its standard error."""
    y = _centred(rows)
    out = {}
    for k in sorted({r.round for r in rows}):
        v = y[[r.round == k for r in rows]]
        se = float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.inf
        out[k] = Estimate(float(v.mean()), se, float(len(v) - 1))
    return out
