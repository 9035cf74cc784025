"""Scaling exponents: every series of every commit fitted, and the unpaired gate between two commits.

The fits themselves are :mod:`.fit`; this module applies them to asv's series
(:func:`fit_all`) and compares two commits' exponents (:func:`exponent_deltas`).
The paired comparison of two commits is :mod:`mlupdate.bench.compare`.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import UsageError
from ..results.asv_results import ResultsError
from ..results.git import resolve
from ..stats import EXPONENT_WORDS, MIN_GROWTH, verdict
from .fit import Fit, fit_loglog, fit_surface
from .series import SIZE_EXPONENTS, Series, load_series

__all__ = [
    "MIN_GROWTH",
    "Delta",
    "SeriesFit",
    "by_commit",
    "exponent_deltas",
    "fit_all",
    "fit_series",
    "resolve_commit",
    "sizes_by_exponent",
]


@dataclass
class SeriesFit:
    """A series and its fit: the exponents with intervals (timings) or exact (count tracks)."""

    series: Series
    fit: Fit | None
    exact: dict[str, float] | None
    baseline: dict[str, float]

    @property
    def exponents(self) -> dict[str, float]:
        return self.fit.exponents if self.fit else (self.exact or {})

    def describe(self) -> str:
        """``a = 1.003 [0.980, 1.030], b = ...``, or the exact exponents of a count track."""
        if self.fit:
            return ", ".join(
                f"{k} = {v:.3f} [{self.fit.intervals[k][0]:.3f}, {self.fit.intervals[k][1]:.3f}]"
                for k, v in self.fit.exponents.items()
            )
        return ", ".join(f"{k} = {v:g} (exact)" for k, v in (self.exact or {}).items())

    def to_dict(self) -> dict:
        s = self.series
        out = {
            "commit": s.commit,
            "machine": s.machine,
            "date": s.date,
            "series": s.key,
            "cells": len(s.cells),
            "loglog_baseline": self.baseline,
        }
        if self.fit:
            out |= {"exponents": self.fit.exponents, "intervals": self.fit.intervals, "c": self.fit.c, "d": self.fit.d}
        if self.exact is not None:
            out["exact_exponents"] = self.exact
        return out


def sizes_by_exponent(s: Series) -> dict[str, np.ndarray]:
    """A series' sizes keyed by the exponent each one gets (``n_models`` -> ``a``, ...)."""
    sizes, _ = s.arrays()
    return {SIZE_EXPONENTS[k]: v for k, v in sizes.items()}


def fit_series(s: Series, n_boot: int = 200) -> SeriesFit:
    """Fit ``t = c * prod(size ** exponent) + d`` to a timed series (bootstrap intervals over
    ``n_boot`` refits), or read a count track's exact exponents from its log-log slope."""
    sizes, t = sizes_by_exponent(s), s.arrays()[1]
    baseline = fit_loglog(sizes, t)
    deterministic = s.benchmark.rsplit(".", 1)[-1].startswith("track_") and all(
        c.ci is None and c.samples is None for c in s.cells
    )
    if deterministic:  # count tracks: exact values, the log-log slope is the exponent
        return SeriesFit(s, None, {k: round(v, 4) for k, v in baseline.items()}, baseline)
    return SeriesFit(
        s,
        fit_surface(
            sizes,
            t,
            cis=[c.ci for c in s.cells],
            samples=[c.samples for c in s.cells],
            replicas=[c.replicas for c in s.cells],
            n_boot=n_boot,
            seed=zlib.crc32(f"{s.commit}{s.key}".encode()),
        ),
        None,
        baseline,
    )


def fit_all(
    results_dir: Path,
    warn=print,
    n_boot: int = 200,
    only: str | None = None,
    commits: Container[str] | None = None,
    counted: bool = False,
) -> list[SeriesFit]:
    """Fit every series of every commit (``commits``: only those); series with too few cells are warned about.
    ``counted``: the instruction counts' series instead (:func:`~mlupdate.bench.scaling.series.load_series`)."""
    fits = []
    for s in load_series(results_dir, warn=warn, commits=commits, counted=counted):
        if only is not None and not s.commit.startswith(only):
            continue
        need = len(s.size_names) + 3  # c, d and the exponents, plus one degree of freedom
        if s.designed < need:
            continue  # a grid too small to fit by design (e.g. two sizes): not an error
        if len(s.cells) < need:
            warn(f"commit {s.commit[:8]}: {s.key} has {len(s.cells)} cells, too few to fit (needs {need})")
            continue
        fits.append(fit_series(s, n_boot))
    return fits


def by_commit(fits: list[SeriesFit]) -> dict[str, list[SeriesFit]]:
    """The fits grouped by commit."""
    out: dict[str, list[SeriesFit]] = defaultdict(list)
    for f in fits:
        out[f.series.commit].append(f)
    return out


def resolve_commit(ref: str, commits: set[str], repo: Path = Path(".")) -> str:
    """A commit hash (or unique prefix) in the results, or a git ref resolved to one."""
    matches = [c for c in commits if c.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    try:
        sha = resolve(ref, repo)
    except UsageError:
        sha = None
    if sha in commits:
        return sha
    raise ResultsError(f"commit {ref!r} has no results; known: {', '.join(sorted(c[:8] for c in commits)) or 'none'}")


@dataclass
class Delta:
    """One exponent of one series in commits A and B; ``grew`` fails the gate."""

    series: str
    exponent: str
    a: float
    b: float
    lo: float
    hi: float

    @property
    def delta(self) -> float:
        return self.b - self.a

    @property
    def verdict(self) -> str:
        """The core's one verdict rule on the interval, against +-MIN_GROWTH: grew, fell, same, undecided."""
        return EXPONENT_WORDS[verdict(self.lo, self.hi, MIN_GROWTH, MIN_GROWTH)]

    @property
    def grew(self) -> bool:
        return self.verdict == "grew"


def exponent_deltas(fits: list[SeriesFit], ref_a: str, ref_b: str) -> list[Delta]:
    """Exponents of commit A against B, each commit's own fit (unpaired), with the bootstrap
    interval of B - A: the gate behind ``mlupdate scaling compare``."""
    by = by_commit(fits)
    a, b = resolve_commit(ref_a, set(by)), resolve_commit(ref_b, set(by))
    fa = {f.series.key: f for f in by[a] if f.fit}
    out = []
    for fb in by[b]:
        fa_ = fa.get(fb.series.key)
        if fa_ is None or fb.fit is None:
            continue
        for k, vb in fb.fit.exponents.items():
            diff = fb.fit.draws[k] - fa_.fit.draws[k]
            lo, hi = (
                (np.percentile(diff, 2.5), np.percentile(diff, 97.5)) if len(diff) else (vb - fa_.fit.exponents[k],) * 2
            )
            out.append(Delta(fb.series.key, k, fa_.fit.exponents[k], vb, float(lo), float(hi)))
    return out
