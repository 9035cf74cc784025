"""The scaling report (JSON + HTML with plots) and the commit comparison gate."""

from __future__ import annotations

import html
import json
import subprocess
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fit import Fit, fit_loglog, fit_surface
from .results import SIZE_EXPONENTS, ResultsError, Series, load_series

__all__ = ["SeriesFit", "compare", "fit_all", "write_report"]

#: An exponent that grew by at least this much, with an interval excluding 0, fails the gate.
MIN_GROWTH = 0.1


@dataclass
class SeriesFit:
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


def _renamed(s: Series) -> dict[str, np.ndarray]:
    sizes, _ = s.arrays()
    return {SIZE_EXPONENTS[k]: v for k, v in sizes.items()}


def fit_series(s: Series, n_boot: int = 200) -> SeriesFit:
    sizes, t = _renamed(s), s.arrays()[1]
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
            n_boot=n_boot,
            seed=zlib.crc32(f"{s.commit}{s.key}".encode()),
        ),
        None,
        baseline,
    )


def fit_all(results_dir: Path, warn=print, n_boot: int = 200, only: str | None = None) -> list[SeriesFit]:
    """Fit every series of every commit; series with too few cells are warned about."""
    fits = []
    for s in load_series(results_dir, warn=warn):
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


def _by_commit(fits: list[SeriesFit]) -> dict[str, list[SeriesFit]]:
    out: dict[str, list[SeriesFit]] = defaultdict(list)
    for f in fits:
        out[f.series.commit].append(f)
    return out


def _save(fig, out_dir: Path, name: str) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    return name


def write_report(fits: list[SeriesFit], out_dir: Path, sections: Callable[[Path], str] | None = None) -> Path:
    """Write ``scaling.json``, plots and ``index.html`` to ``out_dir``.

    ``sections(out_dir)``: HTML placed after the exponent table (it may write its
    own images to ``out_dir``), e.g. the cost model and the machine history.
    """
    try:
        import matplotlib
    except ImportError:
        raise ImportError("the scaling report's plots need matplotlib: pip install 'mlupdate[bench]'") from None
    matplotlib.use("Agg")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scaling.json").write_text(json.dumps([f.to_dict() for f in fits], indent=1))
    commits = sorted(_by_commit(fits).items(), key=lambda kv: kv[1][0].series.date)
    latest_commit, latest = commits[-1]
    images = _latest_plots(latest, latest_commit, out_dir) + _history_plots(commits, out_dir)
    (out_dir / "index.html").write_text(_page(commits, images, sections(out_dir) if sections else ""))
    return out_dir / "index.html"


def _latest_plots(latest: list[SeriesFit], commit: str, out_dir: Path) -> list[tuple[str, str]]:
    """Log-log curves of each fitted timing series of the newest commit, with its model."""
    import matplotlib.pyplot as plt

    images = []
    for i, f in enumerate(x for x in latest if x.fit):
        s = f.series
        sizes, t = _renamed(s), s.arrays()[1]
        fig, ax = plt.subplots(figsize=(5.5, 4))
        xname = "a" if "a" in sizes else "p"
        other = [k for k in sizes if k != xname]
        groups = sorted(set(sizes[other[0]])) if other else [None]
        for g in groups:
            mask = np.ones(len(t), bool) if g is None else sizes[other[0]] == g
            xs = sizes[xname][mask]
            order = np.argsort(xs)
            label = None if g is None else f"n_batches={int(g)}"
            line = ax.plot(xs[order], t[mask][order], "o", label=label)[0]
            grid = np.geomspace(xs.min(), xs.max(), 50)
            pred_sizes = {xname: grid} | ({other[0]: np.full(50, g)} if other else {})
            ax.plot(grid, f.fit.predict(pred_sizes), "-", color=line.get_color(), alpha=0.7)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("n_models" if xname == "a" else "k (= n_models = n_batches)")
        ax.set_ylabel("seconds")
        exps = ", ".join(f"{k}={v:.2f}" for k, v in f.fit.exponents.items())
        ax.set_title(f"{s.key}\n{exps}", fontsize=8)
        if other:
            ax.legend(fontsize=6)
        images.append(
            (_save(fig, out_dir, f"latest_{i}.png"), f"{s.key} at {commit[:8]}: points measured, lines fitted")
        )
    return images


def _history_plots(commits: list[tuple[str, list[SeriesFit]]], out_dir: Path) -> list[tuple[str, str]]:
    """Each exponent over the commits, with its interval band."""
    import matplotlib.pyplot as plt

    history: dict[str, list[tuple[int, str, str, float, tuple[float, float]]]] = defaultdict(list)
    for commit, group in commits:
        for f in group:
            if f.fit:
                for k, v in f.fit.exponents.items():
                    history[f.series.key].append((f.series.date, commit, k, v, f.fit.intervals[k]))
    images = []
    for i, (key, points) in enumerate(sorted(history.items())):
        fig, ax = plt.subplots(figsize=(5.5, 3))
        for k in sorted({p[2] for p in points}):
            pts = [p for p in points if p[2] == k]
            x = np.arange(len(pts))
            ax.plot(x, [p[3] for p in pts], "o-", label=k)
            ax.fill_between(x, [p[4][0] for p in pts], [p[4][1] for p in pts], alpha=0.25)
            ax.set_xticks(x, [p[1][:7] for p in pts], rotation=45, fontsize=6)
        ax.set_ylabel("exponent")
        ax.set_title(key, fontsize=8)
        ax.legend(fontsize=7)
        images.append((_save(fig, out_dir, f"history_{i}.png"), f"exponent history of {key} (95% bootstrap bands)"))
    return images


def _page(commits: list[tuple[str, list[SeriesFit]]], images: list[tuple[str, str]], machines: str) -> str:
    rows = []
    for commit, group in reversed(commits):
        for f in group:
            base = ", ".join(f"{k} = {v:.3f}" for k, v in f.baseline.items())
            rows.append(
                f"<tr><td><code>{commit[:8]}</code></td><td>{html.escape(f.series.key)}</td>"
                f"<td>{f.describe()}</td><td>{base}</td></tr>"
            )
    figures = "\n".join(
        f'<figure><img src="{n}" alt="{html.escape(c)}"><figcaption>{html.escape(c)}</figcaption></figure>'
        for n, c in images
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>mlupdate scaling exponents</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px}}figure{{display:inline-block;margin:6px}}img{{max-width:520px}}</style>
</head><body>
<h1>Scaling exponents</h1>
<p>Fit of <code>t = c &middot; m<sup>a</sup> &middot; n<sup>b</sup> + d</code> (m models, n batches; diagonal
<code>t ~ k<sup>p</sup></code>) in log space with a robust loss and 95% bootstrap intervals; the plain log-log
slope, biased low by fixed overheads, is shown as the baseline. Count tracks are exact. <a href="../index.html">Benchmark graphs</a>.</p>
<table id="exponents"><tr><th>commit</th><th>series</th><th>exponents [95% interval]</th><th>log-log baseline</th></tr>
{"".join(rows)}
</table>
{machines}
<h2>Plots</h2>
{figures}
</body></html>
"""


def resolve_commit(ref: str, commits: set[str], repo: Path = Path(".")) -> str:
    """A commit hash (or unique prefix) in the results, or a git ref resolved to one."""
    matches = [c for c in commits if c.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], cwd=repo, capture_output=True, text=True
    )
    sha = proc.stdout.strip()
    if proc.returncode == 0 and sha in commits:
        return sha
    raise ResultsError(f"commit {ref!r} has no results; known: {', '.join(sorted(c[:8] for c in commits)) or 'none'}")


@dataclass
class Delta:
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
    def grew(self) -> bool:
        return self.lo > 0 and self.delta >= MIN_GROWTH


def compare(fits: list[SeriesFit], ref_a: str, ref_b: str) -> list[Delta]:
    """Exponents of commit A against B, with the bootstrap interval of B - A."""
    by = _by_commit(fits)
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
