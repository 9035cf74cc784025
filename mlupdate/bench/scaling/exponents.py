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
from ..asv_results import ResultsError
from ..git import resolve
from ..stats import EXPONENT_WORDS, MIN_GROWTH, CellData, Estimate, fit_series_model, verdict_of
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
    results_dir: Path, warn=print, n_boot: int = 200, only: str | None = None, commits: Container[str] | None = None
) -> list[SeriesFit]:
    """Fit every series of every commit (``commits``: only those); series with too few cells are warned about."""
    fits = []
    for s in load_series(results_dir, warn=warn, commits=commits):
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
    """One exponent of one series in commits A and B: the change B - A by the series model of the
    one statistical core, with its 95% interval and verdict (``grew`` fails the gate)."""

    series: str
    exponent: str
    a: float  # A's log-log exponent
    b: float  # B's
    delta: float
    lo: float
    hi: float
    verdict: str = "undecided"  # "grew", "fell", "same" or "undecided"

    @property
    def grew(self) -> bool:
        return self.verdict == "grew"


#: The interval level of ``scaling compare`` (one look at two stored runs).
DELTA_LEVEL = 0.95


def _cell_change(ca, cb) -> CellData | None:
    """One cell's log change B/A and its variance, from each commit's samples (unpaired: the two
    commits ran apart, so their samples' variances add)."""
    a = np.log(np.asarray(ca.samples or [ca.value], float))
    b = np.log(np.asarray(cb.samples or [cb.value], float))
    if len(a) < 2 or len(b) < 2:
        return None
    var = float(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return CellData("", dict(cb.sizes), float(b.mean() - a.mean()), 1, var, float(min(len(a), len(b)) - 1))


def _series_delta(sa: Series, sb: Series) -> dict[str, Estimate]:
    """The series model's exponent changes between two commits' cells of one series."""
    cells_a = {tuple(sorted(c.sizes.items())): c for c in sa.cells}
    data = []
    for cb in sb.cells:
        ca = cells_a.get(tuple(sorted(cb.sizes.items())))
        found = _cell_change(ca, cb) if ca is not None else None
        if found is not None and found.var > 0:
            data.append(CellData(str(len(data)), found.sizes, found.mean, 1, found.var, found.df))
    if len(data) < 3:
        return {}
    return fit_series_model(sb.key, data).deltas


def _loglog(series: Series) -> dict[str, float]:
    data = [CellData(str(i), dict(c.sizes), float(np.log(c.value)), 1, 0.0, np.inf) for i, c in enumerate(series.cells)]
    return {k: e.mean for k, e in fit_series_model(series.key, data).deltas.items()}


def exponent_deltas(fits: list[SeriesFit], ref_a: str, ref_b: str) -> list[Delta]:
    """Exponents of commit A against B: the gate behind ``mlupdate scaling compare``. The change is
    the series model's (:mod:`mlupdate.bench.stats.model`, the estimator ``compare`` and the steps
    use), its cells' variances from the two runs' samples, unpaired; the verdict the core's rule."""
    by = by_commit(fits)
    a, b = resolve_commit(ref_a, set(by)), resolve_commit(ref_b, set(by))
    fa = {f.series.key: f for f in by[a]}
    out = []
    for fb in by[b]:
        fa_ = fa.get(fb.series.key)
        if fa_ is None or not fb.series.size_names:
            continue
        loglog_a, loglog_b = _loglog(fa_.series), _loglog(fb.series)
        for k, est in _series_delta(fa_.series, fb.series).items():
            lo, hi = est.interval(DELTA_LEVEL)
            word = EXPONENT_WORDS[verdict_of(est, MIN_GROWTH, MIN_GROWTH, DELTA_LEVEL)]
            out.append(
                Delta(fb.series.key, k, loglog_a.get(k, np.nan), loglog_b.get(k, np.nan), est.mean, lo, hi, word)
            )
    return out
