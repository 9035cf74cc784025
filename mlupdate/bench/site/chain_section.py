"""The scaling page's history from the paired steps: exponents and unit costs per commit.

Each series' exponents (log-log slopes: a step's change of one is the slope of
its log ratios over log size) are its first step's BASE exponent plus the chained
steps' deltas; its unit costs (seconds per model-batch visit, per fit, ...) are
the first step's BASE unit costs times the chained ratios
(:mod:`mlupdate.bench.scaling.chain`). So "what each commit did to the cost" reads in
milliseconds per visit, with 95% intervals, and the confirmed changes marked.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ..results.step_files import machines_with_steps, read_steps
from ..scaling.chain import Track, scaled, tracks
from .plots import pyplot, save_png
from .templating import band, render

__all__ = ["step_history_html"]


def _panel(ax, group: list[Track], ms: bool) -> None:
    for t in group:
        read = scaled(t)
        x = list(range(len(t.points)))
        factor = 1e3 if ms else 1.0
        values = [read(p.value) * factor for p in t.points]
        bands = [[read(v) * factor for v in p.interval()] for p in t.points]
        label = t.what.removeprefix("unit ").removeprefix("exponent ")
        ax.fill_between(x, [b[0] for b in bands], [b[1] for b in bands], alpha=0.2)
        ax.plot(x, values, marker="o", ms=3, label=f"per {label}" if ms else label)
        for i, p in enumerate(t.points):
            if p.change:
                ax.axvline(i, color="red", lw=0.8)
    ax.set_xticks(range(len(group[0].points)), [p.commit[:7] for p in group[0].points], rotation=60, fontsize=7)
    ax.set_ylabel("ms" if ms else "exponent", fontsize=8)
    if ms:
        ax.set_yscale("log")
    ax.legend(fontsize=7)


def _rows(series: str, group: list[Track]) -> list[dict]:
    rows = []
    for t in group:
        read, p = scaled(t), t.points[-1]
        low, high = (read(v) for v in p.interval())
        if t.what.startswith("unit"):
            shown = f"{read(p.value) * 1e3:.3g} ms " + band(low, high, lambda v: f"{v * 1e3:.3g}")
        else:
            shown = f"{read(p.value):.3f} " + band(low, high, lambda v: f"{v:.3f}")
        first = f"{read(t.points[0].value) * (1e3 if t.what.startswith('unit') else 1):.3g}"
        what = t.what.replace("exponent", "log-log exponent").replace("unit ", "seconds per ")
        rows.append({"series": series, "what": what, "first": first, "commit": p.commit, "shown": shown})
    return rows


def _machine(results_dir: Path, machine: str, out_dir: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    """One machine's rows and plots (written to ``out_dir``)."""
    by_series: dict[str, list[Track]] = defaultdict(list)
    for t in tracks(read_steps(results_dir, machine, warn=lambda _: None)):
        if t.what != "level" and len(t.points) > 1:
            by_series[t.series].append(t)
    rows, images = [], []
    for i, (series, group) in enumerate(sorted(by_series.items())):
        exps = [t for t in group if t.what.startswith("exponent")]
        units = [t for t in group if t.what.startswith("unit")]
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.0))
        for ax, part, ms in ((axes[0], exps, False), (axes[1], units, True)):
            if part:
                _panel(ax, part, ms)
            else:
                ax.set_visible(False)
        fig.suptitle(f"{series} on {machine}: from the paired steps", fontsize=8)
        images.append((save_png(fig, out_dir, f"steps_{machine}_{i}.png"), series))
        rows += _rows(series, exps + units)
    return rows, images


def step_history_html(results_dir: Path, out_dir: Path) -> str:
    """The section (plots written to ``out_dir``); empty when no machine has steps."""
    machines = []
    for machine in machines_with_steps(results_dir):
        rows, images = _machine(results_dir, machine, out_dir)
        if rows:
            machines.append((machine, rows, images))
    return render("sections/from_steps.html", machines=machines) if machines else ""
