"""Synthetic asv results: result files written as asv writes them, and paired rounds."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from mlupdate.bench.compare import RoundValues


def synthetic_surface(
    a: float,
    b: float,
    *,
    grid: tuple[int, ...] = (1, 2, 4, 8, 16),
    c: float = 1e-3,
    offset: float = 0.02,
    noise: float = 0.05,
    outliers: float = 0.03,
    n_samples: int = 5,
    seed: int = 0,
) -> tuple[list[tuple[int, int]], list[list[float]]]:
    """Cells ``(m, n)`` and samples of ``c * m^a * n^b + offset`` with
    log-normal noise; a fraction ``outliers`` of cells is 2-4x too slow."""
    rng = np.random.default_rng(seed)
    cells, samples = [], []
    for m in grid:
        for n in grid:
            true = c * m**a * n**b + offset
            factor = rng.uniform(2, 4) if rng.random() < outliers else 1.0
            samples.append(list(true * factor * np.exp(rng.normal(0, noise, n_samples))))
            cells.append((m, n))
    return cells, samples


COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b"]
COLUMNS += ["stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples"]


def write_results(
    results_dir,
    benchmarks: dict[str, tuple[list[str], list[list[str]]]],
    commits: list[tuple[str, int, dict[str, list[list[float]]]]],
    *,
    machine: str = "synthetic",
) -> None:
    """Write asv-format results: ``benchmarks`` is ``{name: (param_names, params)}``
    (params as asv's reprs); each commit is ``(hash, date, {name: samples per cell})``."""
    root = Path(results_dir)
    (root / machine).mkdir(parents=True, exist_ok=True)
    meta = {
        name: {"name": name, "param_names": names, "params": params, "unit": "seconds", "type": "time", "version": "1"}
        for name, (names, params) in benchmarks.items()
    }
    (root / "benchmarks.json").write_text(json.dumps({**meta, "version": 2}))
    (root / machine / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}))
    for commit, date, samples_by_name in commits:
        results = {}
        for name, samples in samples_by_name.items():
            med = [float(np.median(s)) for s in samples]
            results[name] = [med, meta[name]["params"], "1", None, None, None, None, None, None, None, None, samples]
        data = {
            "commit_hash": commit,
            "env_name": "virtualenv-py3.11",
            "date": date,
            "params": {"machine": machine, "cpu": "synthetic"},
            "python": "3.11",
            "requirements": {},
            "env_vars": {},
            "result_columns": COLUMNS,
            "results": results,
            "durations": {},
            "version": 2,
        }
        (root / machine / f"{commit[:8]}-virtualenv-py3.11.json").write_text(json.dumps(data))


GRID_PARAMS = (
    ["n_models", "n_batches", "executor"],
    lambda grid: [[str(g) for g in grid], [str(g) for g in grid], ["'serial'"]],
)
DIAGONAL = (1, 2, 4, 8, 16, 32)


def write_asv_results(
    results_dir,
    commits: list[tuple[str, int, float, float]],
    *,
    machine: str = "synthetic",
    seed: int = 0,
    **surface: float,
) -> None:
    """Write asv-format results holding ``growth.GrowthGrid.time_update`` (serial)
    and the diagonal, with known exponents: ``commits`` is ``[(hash, date, a, b), ...]``."""
    grid = surface.get("grid", (1, 2, 4, 8, 16))
    benchmarks = {
        "growth.GrowthGrid.time_update": (GRID_PARAMS[0], GRID_PARAMS[1](grid)),
        "growth.QuadraticDiagonal.time_update": (["k"], [[str(k) for k in DIAGONAL]]),
    }
    rows = []
    for i, (commit, date, a, b) in enumerate(commits):
        _, smp = synthetic_surface(a, b, seed=seed + 1000 * i, **surface)
        diag = synthetic_surface(a + b, 0.0, grid=DIAGONAL, outliers=0.0, seed=seed + 1000 * i + 1)[1][:: len(DIAGONAL)]
        rows.append(
            (
                commit,
                date,
                {"growth.GrowthGrid.time_update": smp, "growth.QuadraticDiagonal.time_update": [list(s) for s in diag]},
            )
        )
    write_results(results_dir, benchmarks, rows, machine=machine)


def unit_cost_samples(
    workloads,
    costs: dict[str, float],
    t0: float,
    *,
    noise: float = 0.05,
    outliers: float = 0.03,
    n_samples: int = 5,
    seed: int = 0,
) -> list[list[float]]:
    """Samples per cell of ``t0 + sum costs[k] * count_k`` (the plan's counts), with
    log-normal noise per sample and a fraction ``outliers`` of cells 2-4x too slow."""
    from mlupdate.bench.scaling.costs import plan_counts

    rng = np.random.default_rng(seed)
    out = []
    for w in workloads:
        counts = plan_counts(w)
        true = t0 + sum(u * counts[k] for k, u in costs.items())
        factor = rng.uniform(2, 4) if rng.random() < outliers else 1.0
        out.append(list(true * factor * np.exp(rng.normal(0, noise, n_samples))))
    return out


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
