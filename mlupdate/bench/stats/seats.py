"""Bias by seat: does a side read differently by its core, its start order, its place in the round?

The balanced design (:mod:`mlupdate.bench.runner.design`) makes every seat cancel on average; this is
the check that it did. For paired rounds of the *same code* on both sides, each cell's log
ratios are centred on the cell's own mean (what is left is seat and scatter), then regressed on
three seat indicators at once:

- ``core``: BASE on the first core (against the second);
- ``start``: BASE started first (against second);
- ``position``: the cell's place in the round, from 0 (first) to 1 (last).

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


def _centred(rows: Sequence[SeatedRound]) -> np.ndarray:
    by_cell: dict[str, list[float]] = {}
    for r in rows:
        by_cell.setdefault(r.cell, []).append(r.log_ratio)
    means = {c: float(np.mean(v)) for c, v in by_cell.items()}
    return np.array([r.log_ratio - means[r.cell] for r in rows])


def seat_effects(rows: Sequence[SeatedRound]) -> dict[str, Estimate]:
    """The ``core``, ``start`` and ``position`` effects on the log ratio, fitted together.

    >>> rng = np.random.default_rng(0)
    >>> rows = [SeatedRound(f"c{c}", 0.03 * (r % 2) + rng.normal(0, 0.01), r, r % 2 == 1, (r // 2) % 2 == 0,
    ...                     c / 9) for c in range(10) for r in range(8)]
    >>> effects = seat_effects(rows)
    >>> round(effects["core"].mean, 2), abs(effects["start"].mean) < 0.01
    (0.03, True)
    """
    y = _centred(rows)
    cols = {
        "core": np.array([r.base_on_first_core for r in rows], float),
        "start": np.array([r.base_started_first for r in rows], float),
        "position": np.array([r.position for r in rows], float),
    }
    names = [n for n, x in cols.items() if np.ptp(x) > 0]
    X = np.column_stack([np.ones(len(rows))] + [cols[n] - cols[n].mean() for n in names])
    cells = len({r.cell for r in rows})
    df = len(rows) - X.shape[1] - (cells - 1)  # each cell's mean was taken out
    if df <= 0:
        return {}
    coef = linalg.lstsq(X, y)[0]
    sigma2 = float(((y - X @ coef) ** 2).sum()) / df
    (r,) = linalg.qr(X, mode="r")
    r = r[: X.shape[1]]
    r_inv = linalg.solve_triangular(r, np.eye(r.shape[0]))
    se = np.sqrt(sigma2 * np.sum(r_inv**2, axis=1))
    return {n: Estimate(float(coef[i + 1]), float(se[i + 1]), float(df)) for i, n in enumerate(names)}


def round_means(rows: Sequence[SeatedRound]) -> dict[int, Estimate]:
    """Per round index, the mean of the cells' centred log ratios and its standard error."""
    y = _centred(rows)
    out = {}
    for k in sorted({r.round for r in rows}):
        v = y[[r.round == k for r in rows]]
        se = float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.inf
        out[k] = Estimate(float(v.mean()), se, float(len(v) - 1))
    return out
