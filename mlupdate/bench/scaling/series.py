"""asv's results as series: one benchmark's cells (size params -> value) for one commit."""

from __future__ import annotations

import ast
import math
from collections.abc import Container, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..results.asv_results import CommitResults, read_commit_files, replicas_by_cell
from ..results.instruction_results import PREFIX as COUNTED
from ..stats.cells import SIZE_EXPONENTS, home_of

__all__ = ["SIZE_EXPONENTS", "Cell", "Series", "load_series", "priced_together", "series_of"]


@dataclass
class Cell:
    sizes: dict[str, int]
    value: float
    ci: tuple[float, float] | None = None
    samples: list[float] | None = None
    replicas: list[list[float]] | None = None  # the samples of each replica, when the run had two
    benchmark: str | None = None  # the benchmark it was measured by, where another's series prices it


@dataclass
class Series:
    """One benchmark's cells for one commit, other parameters fixed."""

    commit: str
    machine: str
    date: int
    benchmark: str
    fixed: dict[str, str]
    cells: list[Cell] = field(default_factory=list)
    designed: int = 0  # cells the benchmark's grid defines for this series
    path: Path | None = None  # the asv result file it was read from

    @property
    def key(self) -> str:
        fixed = ", ".join(f"{k}={v}" for k, v in self.fixed.items())
        return f"{self.benchmark}({fixed})" if fixed else self.benchmark

    @property
    def size_names(self) -> list[str]:
        return [k for k in SIZE_EXPONENTS if self.cells and k in self.cells[0].sizes]

    def arrays(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        sizes = {k: np.array([c.sizes[k] for c in self.cells], float) for k in self.size_names}
        return sizes, np.array([c.value for c in self.cells], float)


def _unrepr(value: str) -> object:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def series_of(commit: CommitResults, name: str, meta: dict, replicas: dict | None = None) -> Iterator[Series]:
    """Split one benchmark's results in one commit into series by fixed params (``replicas``:
    :func:`~mlupdate.bench.results.asv_results.replicas_by_cell` of its result file)."""
    names = meta.get("param_names", [])
    sizes = [i for i, p in enumerate(names) if p in SIZE_EXPONENTS]
    if not sizes or name not in commit.names():
        return
    params, values = commit.param_values(name), commit.values(name)
    if not params or all(v is None for v in values):
        return
    combos = commit.cells(name)
    stats, samples = commit.stats(name), commit.samples(name)
    groups: dict[tuple, Series] = {}
    designed = math.prod(len(params[i]) for i in sizes)  # cells per series in the grid
    for idx, combo in enumerate(combos):
        value = values[idx]
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            continue
        fixed = {names[i]: str(_unrepr(v)) for i, v in enumerate(combo) if i not in sizes}
        key = tuple(fixed.items())
        s = groups.setdefault(key, Series(commit.commit, commit.machine, commit.date, name, fixed, designed=designed))
        cell_stats = stats[idx] or {}
        ci = None
        if cell_stats.get("ci_99_a") is not None and cell_stats.get("ci_99_b") is not None:
            ci = (float(cell_stats["ci_99_a"]), float(cell_stats["ci_99_b"]))
        smp = samples[idx] or None
        reps = (replicas or {}).get((name, tuple(map(str, combo))))
        s.cells.append(Cell({names[i]: int(_unrepr(combo[i])) for i in sizes}, float(value), ci, smp, reps))
    yield from groups.values()


def load_series(
    results_dir: Path,
    prefixes: tuple[str, ...] = ("time_", "track_"),
    warn=print,
    commits: Container[str] | None = None,
    counted: bool = False,
) -> list[Series]:
    """Every size-parametrized series of every commit and machine in ``results_dir`` (``commits``:
    only those commits, e.g. the ``main`` branch's, :func:`~mlupdate.bench.results.git.branch_commits`).

    ``counted``: the instruction counts' series (``instructions.<benchmark>``) instead of the
    measured ones; the two channels never mix (counts are exact and not seconds)."""
    benchmarks, found = read_commit_files(Path(results_dir), warn)
    out = []
    for commit in found:
        if commits is not None and commit.commit not in commits:
            continue
        replicas = replicas_by_cell(commit.path)
        held = commit.names()
        if held and not any(n in benchmarks for n in held):
            warn(f"skipping {commit.path}: none of its benchmarks are in benchmarks.json (another project?)")
            continue
        for name, meta in benchmarks.items():
            if name.startswith(COUNTED) != counted:
                continue  # the other channel
            if name in held and name.rsplit(".", 1)[-1].startswith(prefixes):
                for found_series in series_of(commit, name, meta, replicas):
                    found_series.path = commit.path
                    out.append(found_series)
    return out


def priced_together(series: list[Series]) -> list[Series]:
    """``series`` with each benchmark's cells moved into the series of the benchmark whose grid they
    extend (:func:`~mlupdate.bench.stats.cells.home_of`: same commit, machine and fixed parameters),
    each moved cell naming the benchmark it was measured by. A series whose home was not measured
    in that run stays as it is."""

    def key(s: Series, benchmark: str) -> tuple:
        return s.commit, s.machine, benchmark, tuple(s.fixed.items())

    out = {key(s, s.benchmark): s for s in series}
    for s in series:
        home = key(s, home_of(s.benchmark))
        if home == key(s, s.benchmark) or home not in out:
            continue
        moved = [replace(c, benchmark=s.benchmark) for c in s.cells]
        out[home] = replace(out[home], cells=[*out[home].cells, *moved])
        del out[key(s, s.benchmark)]
    return list(out.values())
