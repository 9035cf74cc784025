"""Cost models of a commit's series: fitted, validated on held-out cells, and predicting sizes.

``mlupdate scaling predict``, ``mlupdate plan --predict`` and the scaling page
share :func:`cost_models`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cells import NoWorkload, WorkloadError
from .costs import CostModel, cell_workloads, design, fit_costs, largest, plan_counts
from .fit import fit_surface
from .report import _renamed, resolve_commit
from .results import ResultsError, Series, load_series

__all__ = ["SEED_SIZES", "SeriesCosts", "cost_models", "costs_html"]

#: The seed's rows: what 10x10, 100x100 and 1000x1000 cost.
SEED_SIZES = ((10, 10), (100, 100), (1000, 1000))


@dataclass
class SeriesCosts:
    """A series' cost model and its held-out check."""

    series: Series
    model: CostModel
    held_out: list[dict]  # per held-out cell: sizes, seconds, cost-model and exponent-model errors

    def to_dict(self) -> dict:
        return {**self.model.to_dict(), "commit": self.series.commit, "held_out": self.held_out}


def _validate(s: Series, workloads, t: np.ndarray) -> list[dict]:
    """Refit without the largest cells and predict them, with both models."""
    hold = largest(s)
    keep = [i for i in range(len(t)) if i not in hold]
    out = []
    try:
        costs = fit_costs(s.key, [workloads[i] for i in keep], t[keep], n_boot=0)
    except ValueError:
        return out
    sizes = _renamed(s)
    try:
        power = fit_surface({k: v[keep] for k, v in sizes.items()}, t[keep], n_boot=0)
    except ValueError:
        power = None
    for i in hold:
        w = workloads[i]
        row = {"sizes": s.cells[i].sizes, "seconds": float(t[i])}
        row["cost_model_error"] = costs.predict(w.n_models, w.n_batches)[0] / t[i] - 1
        if power is not None:
            row["exponent_model_error"] = float(power.predict({k: v[[i]] for k, v in sizes.items()})[0] / t[i] - 1)
        out.append(row)
    return out


def _commit(series: list[Series], commit: str | None) -> str:
    commits = {s.commit for s in series}
    if not commits:
        raise ResultsError("no timed series in the results: run the suite first (make bench)")
    if commit is None:
        return max(series, key=lambda s: s.date).commit
    return resolve_commit(commit, commits)


def cost_models(
    results_dir: Path,
    *,
    commit: str | None = None,
    pattern: str | None = None,
    benchmark_dir: Path = Path("benchmarks"),
    n_boot: int = 200,
    warn: Callable[[str], None] = print,
) -> list[SeriesCosts]:
    """Fit every timed series that ``pattern`` selects, from ``commit`` (default: each
    series from the newest commit that measured it).

    Without a pattern, series too small to fit by design are skipped; a series
    that a pattern selects and that cannot be fitted is a ``ValueError``.
    """
    all_series = [s for s in load_series(results_dir, prefixes=("time_",), warn=warn) if s.size_names]
    if commit is not None:
        sha = _commit(all_series, commit)
        all_series = [s for s in all_series if s.commit == sha]
    elif not all_series:
        raise ResultsError(f"no timed series in {results_dir}: run the suite first (make bench)")
    newest: dict[str, Series] = {}
    for s in sorted(all_series, key=lambda s: s.date):
        newest[s.key] = s  # each series from the newest commit that measured it
    chosen = [s for s in newest.values() if pattern is None or re.search(pattern, s.key)]
    if pattern is not None and not chosen:
        raise ValueError(f"no series in {results_dir} matches {pattern!r}")
    out = []
    for s in chosen:
        try:
            workloads = cell_workloads(s, benchmark_dir)
        except WorkloadError as exc:
            if pattern is not None:
                raise
            if not isinstance(exc, NoWorkload):
                warn(f"{s.key}: skipped, {exc}")
            continue
        need = len(design([plan_counts(w) for w in workloads])[0]) + 2
        if len(s.cells) < need:
            if pattern is not None:
                raise ValueError(f"{s.key} at {s.commit[:8]} has {len(s.cells)} cells, too few to fit (needs {need})")
            continue
        t = np.array([c.value for c in s.cells])
        model = fit_costs(s.key, workloads, t, n_boot=n_boot, seed=len(s.key))
        out.append(SeriesCosts(s, model, _validate(s, workloads, t)))
    return out


#: m = n = k for the term-share plots: where the m*n term takes over.
SHARE_KS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000)


def costs_html(models: list[SeriesCosts], out_dir: Path) -> str:
    """The page's cost-model sections: the seed table in seconds, term shares, held-out errors."""
    if not models:
        return ""
    import matplotlib.pyplot as plt

    from ..tables import seconds

    sizes = [f"{m}x{n}" for m, n in SEED_SIZES]
    rows = []
    for sc in models:
        cells = []
        for m, n in SEED_SIZES:
            point, low, high = sc.model.predict(m, n)
            cells.append(f"<td>{seconds(point)} <small>[{seconds(low)}, {seconds(high)}]</small></td>")
        rows.append(
            f"<tr><td>{html.escape(sc.model.series)}</td><td><code>{sc.series.commit[:8]}</code></td>{''.join(cells)}</tr>"
        )
    figures = []
    for i, sc in enumerate(models):
        shares = [sc.model.shares(k, k) for k in SHARE_KS]
        fig, ax = plt.subplots(figsize=(7.5, 3))
        ax.stackplot(SHARE_KS, *[[sh[name] for sh in shares] for name in shares[0]], labels=list(shares[0]))
        ax.set_xscale("log")
        ax.set_xlabel("k (= n_models = n_batches)")
        ax.set_ylabel("share of predicted time")
        ax.set_title(sc.model.series, fontsize=8)
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        fig.savefig(out_dir / f"shares_{i}.png", dpi=90)
        plt.close(fig)
        caption = f"{sc.model.series}: each term's share of the time as m = n = k grows"
        figures.append(
            f'<figure><img src="shares_{i}.png" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
    held = []
    for sc in models:
        for h in sc.held_out:
            power = h.get("exponent_model_error")
            held.append(
                f"<tr><td>{html.escape(sc.model.series)}</td><td>{html.escape(str(h['sizes']))}</td>"
                f"<td>{seconds(h['seconds'])}</td><td>{h['cost_model_error']:+.1%}</td>"
                f"<td>{'-' if power is None else f'{power:+.1%}'}</td></tr>"
            )
    units = "".join(f"<li>{html.escape(sc.model.series)}: {html.escape(sc.model.describe())}</li>" for sc in models)
    return f"""<h2 id="costs">What the seed's sizes cost: unit costs from the plan's counts</h2>
<p>Each series is fitted as <code>t = t0 + &Sigma; u<sub>k</sub> &middot; count<sub>k</sub></code>, the counts exact
from each cell's plan, the unit costs non-negative (robust, in relative error; 95% bootstrap intervals), then
predicted at the seed's sizes, each series from the newest commit that measured it.</p>
<table id="seed-seconds"><tr><th>series</th><th>commit</th>{"".join(f"<th>{s}</th>" for s in sizes)}</tr>
{"".join(rows)}
</table>
<ul id="unit-costs">{units}</ul>
<h3>Held-out check</h3>
<p>Each series refitted without its largest cells, which are then predicted: the cost model against the
power law <code>c&middot;m<sup>a</sup>&middot;n<sup>b</sup> + d</code> on the same cells.</p>
<table id="held-out"><tr><th>series</th><th>held-out cell</th><th>measured</th><th>cost model error</th>
<th>exponent model error</th></tr>
{"".join(held)}
</table>
<h3>Where the time goes as m = n = k grows</h3>
{"".join(figures)}
"""
