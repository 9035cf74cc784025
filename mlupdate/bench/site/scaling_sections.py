"""The scaling page's sections after the exponents, as HTML: the cost model and the machine history."""

from __future__ import annotations

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
from .templating import noisy_banner, render

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

    def sections(out_dir: Path) -> str:
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

    return sections


def counts_html(fits: list[SeriesFit], unfitted: Sequence[str] = ()) -> str:
    """The instruction counts' channel: the same fit on each counted cell's count, per commit, labelled
    apart from time (``unfitted``: why some counted series were not fitted; empty when nothing was counted)."""
    if not fits and not unfitted:
        return ""
    ordered = sorted(fits, key=lambda f: (f.series.date, f.series.key), reverse=True)
    return render("sections/counts.html", fits=ordered, unfitted=list(unfitted))


def noise_html(spreads: list[tuple[str, str, Spread]]) -> str:
    """The run's measured noise: per machine, how far the newest run's two replicas disagreed."""
    if not spreads:
        return ""
    return render("sections/noise.html", spreads=[(m, commit, s) for m, commit, s in spreads if s.cells])


def _seed_rows(models: list[SeriesCosts]) -> list[dict]:
    return [
        {
            "series": sc.model.series,
            "commit": sc.series.commit,
            "seconds": [tuple(map(format_seconds, sc.model.predict(m, n))) for m, n in SEED_SIZES],
            "unpriced": list(sc.model.unresolved),
        }
        for sc in models
    ]


def _held_out_rows(models: list[SeriesCosts]) -> list[dict]:
    return [
        {
            "series": sc.model.series,
            "sizes": str(h["sizes"]),
            "measured": format_seconds(h["seconds"]),
            "cost_error": f"{h['cost_model_error']:+.1%}",
            "power_error": "-" if h.get("exponent_model_error") is None else f"{h['exponent_model_error']:+.1%}",
        }
        for sc in models
        for h in sc.held_out
    ]


def costs_html(models: list[SeriesCosts], out_dir: Path) -> str:
    """The page's cost-model sections: the seed table in seconds, term shares, held-out errors."""
    if not models:
        return ""
    return render(
        "sections/costs.html",
        sizes=[f"{m}x{n}" for m, n in SEED_SIZES],
        seed=_seed_rows(models),
        unit_costs=[(sc.model.series, sc.model.describe()) for sc in models],
        held_out=_held_out_rows(models),
        images=share_plots(models, out_dir),
    )


def history_html(rows: list[MachineRow]) -> str:
    """An HTML table of the rows, the CPU changes marked."""
    if not rows:
        return ""
    shown = [
        {
            "machine": r.machine,
            "commit": r.commit,
            "cpu": r.cpu,
            "cpu_changed": r.cpu_changed,
            "sentinel": "-" if r.sentinel is None else short_seconds(r.sentinel),
            "ratio": "-" if r.sentinel_ratio is None else f"{r.sentinel_ratio:.3f}",
        }
        for r in rows
    ]
    return render("sections/machines.html", rows=shown)
