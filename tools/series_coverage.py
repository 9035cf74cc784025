r"""How often the series model's 99% level interval holds the truth, on simulated same-code rounds.

    python tools/series_coverage.py                    # 25 cells (GrowthGrid's serial grid), 4, 5, 7, 10 rounds
    python tools/series_coverage.py --rounds 5 --draws 5000 --tails t4
    python tools/series_coverage.py --min-cell-df 4       # the rule before 7b09c9d: own variances from 4 df
    python tools/series_coverage.py --profile duration    # per-cell sd falling with the cell's duration
    python tools/series_coverage.py --profile duration --flat   # the rule before the variance curve

Each draw makes one series of cells whose log ratios have a true level of 0 and a per-cell sd
drawn once, uniformly between ``--sd-low`` and ``--sd-high`` (0.02-0.3: the per-cell scatter of
the compare of 2026-12-07 at 9d9bfdc, one sample per cell, side and round), fits the real model
(:func:`mlupdate.bench.stats.fit_series_models`, cells' own variances from
:data:`~mlupdate.bench.stats.model.MIN_CELL_DF` rounds on) and checks whether the level's 99%
interval holds 0, and the median width of that interval (in log ratio).

``--profile duration`` draws the per-cell sd as the compares of this machine show it (one cold
sample per cell, side and round; 129 cells of three compares at 9d9bfdc, 0e23e13 and 7b09c9d):
``sd = --sd-at-1s * duration ** -(--sd-power)`` times a cell's own factor ``exp(N(0, --sd-spread))``,
with GrowthGrid's durations (``0.03 + 0.0092 * m * n`` seconds: 35 ms at 1x1, 2.4 s at 16x16).
``--flat`` simulates the rule before the variance curve: one variance shared by a series' cells. Beside it, the same estimate with a Satterthwaite degrees of freedom (each
cell's variance as an independent estimate) instead of the model's smallest cell df: the
question is whether the model's df is needlessly conservative. ``--tails t4``: Student-t noise
with 4 df (heavy tails, as the small cells show) scaled to the same sd.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import stats

from mlupdate.bench.stats import CellRounds, fit_series_models, model

NAME = "growth.GrowthGrid.time_update"
SIZES = [(m, n) for m in (1, 2, 4, 8, 16) for n in (1, 2, 4, 8, 16)]
NAMES = ("n_models", "n_batches", "executor")


def durations() -> np.ndarray:
    """GrowthGrid's serial cells' durations in seconds, as this machine times them."""
    return np.array([0.03 + 0.0092 * m * n for m, n in SIZES])


def _draw(rng: np.random.Generator, sds: np.ndarray, rounds: int, tails: str) -> list[CellRounds]:
    cells = []
    for (m, n), sd, d in zip(SIZES, sds, durations(), strict=True):
        if tails == "t4":
            noise = rng.standard_t(4, rounds) / math.sqrt(2)  # a t(4) has variance 2
        else:
            noise = rng.normal(0.0, 1.0, rounds)
        base = np.full(rounds, d)
        cells.append(CellRounds(NAME, (str(m), str(n), "'serial'"), NAMES, tuple(base), tuple(d * np.exp(sd * noise))))
    return cells


def _satterthwaite(cells: list[CellRounds]) -> float:
    """The level's df when each cell's weight comes from its own variance estimate."""
    var = np.array([c.logs.var(ddof=1) / len(c.logs) for c in cells])
    w = 1 / var
    X = np.column_stack([np.ones(len(cells))] + [np.log([c.sizes[k] for c in cells]) for k in NAMES[:2]])
    X[:, 1:] -= (w[:, None] * X[:, 1:]).sum(0) / w.sum()
    cov = np.linalg.inv(X.T @ (X * w[:, None]))
    grad = (cov @ (X * w[:, None]).T)[0]  # the level's weight on each cell's mean
    return float(cov[0, 0] ** 2 / np.sum((grad**2 * var) ** 2 / (len(cells[0].logs) - 1)))


def coverage(rounds: int, draws: int, sds: np.ndarray, tails: str, seed: int) -> tuple[float, float, float, float]:
    """The fraction of draws whose 99% level interval holds 0: the model's, then with Satterthwaite's
    df; the model's median df and median interval width."""
    rng = np.random.default_rng(seed)
    held, held_s, dfs, widths = 0, 0, [], []
    for _ in range(draws):
        cells = _draw(rng, sds, rounds, tails)
        (fitted,) = fit_series_models(cells).values()
        level = fitted.level
        low, high = level.interval(0.99)
        held += low <= 0 <= high
        half = stats.t.ppf(0.995, _satterthwaite(cells)) * level.se
        held_s += abs(level.mean) <= half
        dfs.append(level.df)
        widths.append(high - low)
    return held / draws, held_s / draws, float(np.median(dfs)), float(np.median(widths))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, nargs="+", default=[4, 5, 7, 10])
    ap.add_argument("--draws", type=int, default=3000)
    ap.add_argument("--sd-low", type=float, default=0.02)
    ap.add_argument("--sd-high", type=float, default=0.3)
    ap.add_argument("--tails", choices=("normal", "t4"), default="normal")
    ap.add_argument("--profile", choices=("uniform", "duration"), default="uniform", help="how cells' sds differ")
    ap.add_argument("--sd-at-1s", type=float, default=0.1)
    ap.add_argument("--sd-power", type=float, default=0.3)
    ap.add_argument("--sd-spread", type=float, default=0.3, help="sd of a cell's log sd around the curve")
    ap.add_argument("--flat", action="store_true", help="one variance per series (no curve over duration)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-cell-df", type=int, default=model.MIN_CELL_DF, help="the model's rule, for this run")
    args = ap.parse_args()
    model.MIN_CELL_DF = args.min_cell_df  # read by the model at each fit: another rule, simulated
    if args.flat:
        model.MAX_VARIANCE_SLOPE = 0.0
    rng = np.random.default_rng(args.seed)
    if args.profile == "uniform":
        sds = rng.uniform(args.sd_low, args.sd_high, len(SIZES))
        profile = f"per-cell sd {args.sd_low}-{args.sd_high}"
    else:
        own = np.exp(rng.normal(0.0, args.sd_spread, len(SIZES)))
        sds = args.sd_at_1s * durations() ** -args.sd_power * own
        profile = f"per-cell sd {args.sd_at_1s} x duration^-{args.sd_power} x exp(N(0, {args.sd_spread}))"
    print(
        f"MIN_CELL_DF {model.MIN_CELL_DF}, {'one variance per series' if args.flat else 'variance curve'}; "
        f"{len(SIZES)} cells, {profile}, {args.tails} noise, {args.draws} draws"
    )
    for rounds in args.rounds:
        held, satt, df, width = coverage(rounds, args.draws, sds, args.tails, args.seed + rounds)
        print(
            f"{rounds:3d} rounds: the model's 99% interval held the level {held:.3f} (df {df:.0f}, median width "
            f"{width:.3f}); Satterthwaite's {satt:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
