"""Test helpers: small fleets, synthetic asv results, project copies, git.

Imported by the tests as ``helpers`` (pytest puts ``tests/`` on ``sys.path``);
nothing here ships in the package.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from mlupdate import Fleet, SyntheticTask, make_estimators

SMALL = dict(n_features=6, rows_per_batch=60, history_rows=300, seed=3)


def small_task(m: int, **kw) -> SyntheticTask:
    """A small seeded task of ``m`` targets (fast to deploy and update)."""
    return SyntheticTask(n_targets=m, **{**SMALL, **kw})


def deploy(m: int, kind: str = "mixed", **kw):
    """``(task, fleet)``: ``m`` models of ``kind`` deployed on a small task."""
    task = small_task(m, **kw)
    return task, Fleet.deploy(task, make_estimators(m, kind))


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
        name: {"param_names": names, "params": params, "unit": "seconds", "type": "time", "version": "1"}
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


def copy_project(root: Path, dest: Path) -> Path:
    """Copy the files git tracks in ``root`` to ``dest`` (a new git repo on ``main``
    with an empty root commit, so that ``first^..last`` ranges work)."""
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (root / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / f, dest / f)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "commit", "-q", "--allow-empty", "-m", "root")
    return dest


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; return its stdout."""
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
