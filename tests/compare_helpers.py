"""Synthetic paired rounds with known noise, drift and changes (for the compare tests)."""

from __future__ import annotations

import itertools

import numpy as np

from mlupdate.bench.compare import RoundValues

GRID = (1, 2, 4, 8, 16)
GRID_META = {
    "param_names": ["n_models", "n_batches", "executor"],
    "params": [[str(g) for g in GRID], [str(g) for g in GRID], ["'serial'"]],
    "type": "time",
    "unit": "seconds",
}
NAME = "growth.GrowthGrid.time_update"


def true_time(m: int, n: int, a: float = 1.0, b: float = 0.7, c: float = 2e-3, d: float = 0.02) -> float:
    return c * m**a * n**b + d


def synthetic_rounds(
    *,
    rounds: int = 4,
    noise: float = 0.03,
    round_drift: float = 0.0,
    within_drift: float = 0.0,
    slow: dict[tuple[str, ...], float] | None = None,
    head_b: float = 0.7,
    seed: int = 0,
) -> RoundValues:
    """GrowthGrid-like rounds: base and head are the same code unless ``slow``
    (cell params -> factor) or ``head_b`` say otherwise.

    ``round_drift``: sd of a log factor that hits both sides of a round alike.
    ``within_drift``: the side measured second in a round reads this much
    slower (a drift within the round); the order alternates A B, B A, ...
    """
    rng = np.random.default_rng(seed)
    values = RoundValues("a" * 40, "b" * 40, rounds, benchmarks={NAME: GRID_META})
    slow = slow or {}
    for r in range(rounds):
        g = float(np.exp(rng.normal(0, round_drift)))
        second = "head" if r % 2 == 0 else "base"
        for m, n in itertools.product(GRID, GRID):
            params = (str(m), str(n), "'serial'")
            for side in ("base", "head"):
                t = true_time(m, n, b=head_b if side == "head" else 0.7) * g
                t *= slow.get(params, 1.0) if side == "head" else 1.0
                t *= 1 + within_drift if side == second else 1.0
                values.add((NAME, params), side, t * float(np.exp(rng.normal(0, noise))))
    return values
