"""The scaling page's sections after the exponents, as HTML: the cost model and the machine history."""

from __future__ import annotations

import html
from collections.abc import Callable, Container, Sequence
from pathlib import Path

from ...durations import format_seconds, short_seconds
from ..results.asv_results import ResultsError
from ..runner.noise import Spread, latest_spreads, noisy_commits
from ..scaling.exponents import SeriesFit, fit_all
from ..scaling.machines import MachineRow, machine_history
from ..scaling.predict import SEED_SIZES, SeriesCosts, cost_models
from .chain_section import step_history_html
from .plots import share_plots
from .templating import noisy_banner

__all__ = ["costs_html", "counts_html", "history_html", "noise_html", "page_banner", "page_sections"]


def page_banner(results_dir: Path) -> str:
    """The scaling page's banner of noisy runs (empty when there is none)."""
    return noisy_banner(
        noisy_commits(results_dir),
        "the cost model below takes each series from the newest quiet run that measured it, and from a noisy "
        "one only when no quiet one did.",
    )


def page_sections(
    results_dir: Path,
    benchmark_dir: Path = Path("benchmarks"),
    warn: Callable[[str], None] = print,
    commits: Container[str] | None = None,
) -> Callable[[Path], str]:
    """``sections(out_dir)`` for :func:`mlupdate.bench.site.scaling_page.write_report` (``commits``: the
    cost model reads only those, e.g. the ``main`` branch's)."""

    def render(out_dir: Path) -> str:
        unfitted: list[str] = []  # counted series with too few counted cells: said in their section
        try:
            models = cost_models(results_dir, benchmark_dir=benchmark_dir, warn=warn, commits=commits)
        except (ResultsError, ValueError) as exc:  # e.g. results with too few cells to fit
            warn(f"no cost model on the page: {exc}")
            models = []
        return (
            noise_html(latest_spreads(results_dir))
            + counts_html(fit_all(results_dir, warn=unfitted.append, commits=commits, counted=True), unfitted)
            + costs_html(models, out_dir)
            + history_html(machine_history(results_dir))
            + step_history_html(results_dir, out_dir)
        )

    return render


def counts_html(fits: list[SeriesFit], unfitted: Sequence[str] = ()) -> str:
    """The instruction counts' channel: the same fit on each counted cell's count, per commit, labelled
    apart from time (``unfitted``: why some counted series were not fitted; empty when nothing was counted)."""
    if not fits and not unfitted:
        return ""
    skipped = "".join(f"<li>{html.escape(why)}</li>" for why in unfitted)
    rows = "".join(
        f"<tr><td><code>{f.series.commit[:8]}</code></td><td>{html.escape(f.series.key)}</td>"
        f"<td>{html.escape(f.describe())}</td></tr>"
        for f in sorted(fits, key=lambda f: (f.series.date, f.series.key), reverse=True)
    )
    return (
        '<h2 id="instructions">Instruction counts (callgrind): exponents</h2>'
        "<p>The second channel: each counted cell's instructions for the timed call alone, one count per "
        "cell under callgrind (<code>nightly --mode both</code>), fitted as the times above. A count reads "
        "the same on any runner of the CPU family, so two commits' exponents differ only where the work "
        "does; the intervals are the fit's alone. Threads, worker pools and large cells are not counted.</p>"
        "<table><tr><th>commit</th><th>series</th><th>exponents of the counts [95% interval]</th></tr>"
        f"{rows}</table>" + (f"<p>Counted, not fitted:</p><ul>{skipped}</ul>" if skipped else "")
    )


def noise_html(spreads: list[tuple[str, str, Spread]]) -> str:
    """The run's measured noise: per machine, how far the newest run's two replicas disagreed."""
    if not spreads:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(m)}</td><td><code>{commit[:8]}</code></td><td>{s.cells}</td>"
        f"<td>{100 * s.median:.1f}%</td><td>{100 * s.worst:.1f}% <small>{html.escape(s.worst_cell or '')}</small></td>"
        f"<td>{s.above}</td></tr>"
        for m, commit, s in spreads
        if s.cells
    )
    return (
        "<h2>Run noise</h2><p>Each run measures every single-threaded cell twice at once, one replica per core. "
        "The spread of a cell is how far its two replicas' medians disagree; the exponent intervals above "
        "resample the replicas, so they include it.</p>"
        '<table id="noise"><tr><th>machine</th><th>commit</th><th>time cells</th><th>median spread</th>'
        f"<th>worst</th><th>above 10%</th></tr>{rows}</table>"
    )


def _seed_rows(models: list[SeriesCosts]) -> str:
    rows = []
    for sc in models:
        cells = []
        for m, n in SEED_SIZES:
            point, low, high = sc.model.predict(m, n)
            cells.append(
                f"<td>{format_seconds(point)} <small>[{format_seconds(low)}, {format_seconds(high)}]</small></td>"
            )
        unpriced = ", ".join(sc.model.unresolved) or "&ndash;"
        rows.append(
            f"<tr><td>{html.escape(sc.model.series)}</td><td><code>{sc.series.commit[:8]}</code></td>{''.join(cells)}"
            f"<td>{unpriced}</td></tr>"
        )
    return "".join(rows)


def _held_out_rows(models: list[SeriesCosts]) -> str:
    held = []
    for sc in models:
        for h in sc.held_out:
            power = h.get("exponent_model_error")
            held.append(
                f"<tr><td>{html.escape(sc.model.series)}</td><td>{html.escape(str(h['sizes']))}</td>"
                f"<td>{format_seconds(h['seconds'])}</td><td>{h['cost_model_error']:+.1%}</td>"
                f"<td>{'-' if power is None else f'{power:+.1%}'}</td></tr>"
            )
    return "".join(held)


def costs_html(models: list[SeriesCosts], out_dir: Path) -> str:
    """The page's cost-model sections: the seed table in seconds, term shares, held-out errors."""
    if not models:
        return ""
    sizes = [f"{m}x{n}" for m, n in SEED_SIZES]
    figures = "".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for name, caption in share_plots(models, out_dir)
    )
    units = "".join(f"<li>{html.escape(sc.model.series)}: {html.escape(sc.model.describe())}</li>" for sc in models)
    return f"""<h2 id="costs">What the seed's sizes cost: unit costs from each commit's counts</h2>
<p>Each series is fitted as <code>t = t0 + &Sigma; u<sub>k</sub> &middot; count<sub>k</sub></code>, the counts exact:
those the commit's own timed runs recorded (their formulas price the seed's sizes), or the plan's for results
recorded before the counts were (each series says which). The unit costs non-negative (robust, in relative error; 95% bootstrap intervals), then
predicted at the seed's sizes, each series from the newest commit that measured it.</p>
<table id="seed-seconds"><tr><th>series</th><th>commit</th>{"".join(f"<th>{s}</th>" for s in sizes)}
<th>not priced (cannot be told from zero)</th></tr>
{_seed_rows(models)}
</table>
<ul id="unit-costs">{units}</ul>
<h3>Held-out check</h3>
<p>Each series refitted without its largest cells, which are then predicted: the cost model against the
power law <code>c&middot;m<sup>a</sup>&middot;n<sup>b</sup> + d</code> on the same cells.</p>
<table id="held-out"><tr><th>series</th><th>held-out cell</th><th>measured</th><th>cost model error</th>
<th>exponent model error</th></tr>
{_held_out_rows(models)}
</table>
<h3>Where the time goes as m = n = k grows</h3>
{figures}
"""


def history_html(rows: list[MachineRow]) -> str:
    """An HTML table of the rows, the CPU changes marked."""
    if not rows:
        return ""
    body = []
    for r in rows:
        cpu = html.escape(r.cpu) + (" <strong>(CPU changed)</strong>" if r.cpu_changed else "")
        sentinel = "-" if r.sentinel is None else short_seconds(r.sentinel)
        ratio = "-" if r.sentinel_ratio is None else f"{r.sentinel_ratio:.3f}"
        style = ' style="background:#fff3cd"' if r.cpu_changed else ""
        body.append(
            f"<tr{style}><td>{html.escape(r.machine)}</td><td><code>{r.commit[:8]}</code></td>"
            f"<td>{cpu}</td><td>{sentinel}</td><td>{ratio}</td></tr>"
        )
    return (
        '<h2 id="machines">Machines and the drift sentinel</h2>\n'
        "<p>The drift sentinel is fixed numpy work that no commit changes: when it moved with a "
        "benchmark, the machine moved, not the code. Ratios are against the first reading on the "
        "same machine name; rows where the CPU model changed are marked.</p>\n"
        '<table id="machine-history"><tr><th>machine</th><th>commit</th><th>CPU</th>'
        "<th>sentinel</th><th>sentinel ratio</th></tr>\n" + "\n".join(body) + "\n</table>\n"
    )
