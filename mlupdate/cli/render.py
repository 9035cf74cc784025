"""Everything the command line prints, rendered: tables (plain text or Markdown), reports, plans,
exponents, predictions and comparisons (text, Markdown or JSON).

Columns are sized from their values, so no figure runs into its neighbour.
Durations are worded by :mod:`mlupdate.durations`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from ..durations import format_amount, format_instructions, format_seconds, in_unit, short_seconds
from ..plan import Plan
from ..report import UpdateReport

__all__ = [
    "delta_table",
    "exponent_lines",
    "format_report",
    "plan_table",
    "prediction_table",
    "render_comparison",
    "table",
]


def table(head: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False) -> list[str]:
    """Lines of a table: the first column left-aligned, the others right-aligned."""
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return lines + ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]

    def line(r: Sequence[str]) -> str:
        cells = (x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths, strict=True)))
        return "  ".join(cells).rstrip()

    return [line(head), *map(line, rows)]


def _features(names: list[str], shown: int = 12) -> str:
    return ", ".join(names[:shown]) + (f", ... ({len(names) - shown} more)" if len(names) > shown else "")


def format_report(report: UpdateReport) -> str:
    """A readable plain-text rendering of an :class:`UpdateReport`."""
    c = report.config
    lines = [
        f"update of {c['n_models']} models x {c['n_batches']} batches "
        f"({_rows(c)} rows), order {c['order']}, strategy {c['strategy']}, "
        f"executor {c['executor']} ({c['n_workers']} worker(s), {c['blas_threads']} BLAS thread(s) each)",
        f"preprocessor {c.get('preprocessor', '?')} over {len(c.get('features', []))} feature(s): "
        + _features(c.get("features", [])),
        *(
            [
                f"triggered: refits a model whose R2 on the new batches fell by more than the threshold below its "
                f"deploy-time R2 on {c.get('validation')}"
            ]
            if c["strategy"] == "triggered"
            else []
        ),
        f"wall time {report.wall_seconds:.3f} s",
        "",
    ]
    ops = []
    for key, done in report.counts.items():
        mark = "<=" if c["strategy"] == "triggered" and key in ("fit", "rows_trained") else ""
        secs = f"{report.seconds[key]:.3f}" if key in report.seconds else ""
        ops.append([key, mark + format(report.planned[key], ","), format(done, ","), secs])
    lines += table(["operation", "planned", "done", "seconds"], ops)
    if c.get("batch_rows"):
        low, high = c["batch_rows"]
        lines.append(
            f"(batches of {low:,} to {high:,} rows: the plan counts {c['rows_per_batch']:,} rows, the first batch's, "
            "for every batch, so its row counts differ from the rows done)"
        )
    lines.append("")
    models = []
    for i, (before, after, retrained) in enumerate(zip(report.before, report.after, report.retrained, strict=True)):
        est = report.estimators[i]
        targets = report.config.get("targets") or []
        name = f"{i} {targets[i]}" if i < len(targets) else str(i)
        name += f" {type(est).__name__}" if est is not None else " (failed)"
        models.append(
            [name, _metric(before, "r2"), _metric(after, "r2"), _metric(after, "mae"), "yes" if retrained else "no"]
        )
    lines += table(["model", "R2 new batches", "R2 holdout", "MAE holdout", "retrained"], models)
    lines += ["(R2 new batches: the deployed model, mean over the new batches; holdout: after the retrain)"]
    lines += _fusion_lines(report.fusion)
    return "\n".join(lines)


def _rows(config: dict) -> str:
    """A batch's rows: ``1000``, or ``998-1003`` when the batches differ."""
    if config.get("batch_rows"):
        return "{}-{}".format(*config["batch_rows"])
    return str(config["rows_per_batch"])


def _fusion_lines(fusion: dict | None) -> list[str]:
    """What the fused executor fused, and what ran alone and why."""
    if not fusion:
        return []
    out = ["", f"fused: {len(fusion['fused_models'])} model(s) in {fusion['fused_calls']} call(s)"]
    for name, reason in fusion.get("fallback", {}).items():
        out.append(f"ran alone: {name}: {reason}")
    for name, note in fusion.get("notes", {}).items():
        out.append(f"fused, with a note: {name}: {note}")
    return out


def _metric(scores: dict[str, float], key: str) -> str:
    return f"{scores[key]:.3f}" if key in scores else "-"


def plan_table(plans: Sequence[Plan], predicted: Sequence[str] | None = None) -> list[str]:
    """The counts of each plan, one row per size and strategy (and a predicted-seconds column)."""
    rows = []
    for p in plans:
        c = p.counts()
        bound = "<=" if p.data_dependent else ""
        rows.append(
            [
                f"{p.n_models}x{p.n_batches}",
                p.strategy,
                p.summary(),
                format(c["preprocess"], ","),
                bound + format(c["fit"], ","),
                format(c["partial_fit"], ","),
                bound + format(c["rows_trained"], ","),
            ]
        )
    head = ["m x n", "strategy", "stage calls + retrains", "preprocess", "fit", "partial_fit", "rows trained"]
    if predicted is not None:
        head.append("predicted")
        rows = [[*row, p] for row, p in zip(rows, predicted, strict=True)]
    return table(head, rows)


def prediction_table(rows: Sequence[dict], sizes: Sequence[str], markdown: bool = False) -> list[str]:
    """One row per series, one column per size: ``seconds [low, high]``."""
    by_series: dict[str, dict[str, str]] = {}
    for r in rows:
        cell = f"{format_seconds(r['seconds'])} [{format_seconds(r['low'])}, {format_seconds(r['high'])}]"
        by_series.setdefault(r["series"], {})[r["size"]] = cell
    body = [[name, *(cells.get(size, "") for size in sizes)] for name, cells in by_series.items()]
    return table(["series", *sizes], body, markdown)


def exponent_lines(fits: Sequence[Any]) -> list[str]:
    """One line per fitted series: commit, series, exponents with their intervals."""
    lines = [f"{'commit':<10}{'series':<58}exponents [95% interval]"]
    return lines + [f"{f.series.commit[:8]:<10}{f.series.key[:57]:<58}{f.describe()}" for f in fits]


def delta_table(deltas: Sequence[Any], markdown: bool = False) -> list[str]:
    """Exponents of two commits, their difference with its interval, and the verdict."""
    rows = [
        [
            d.series,
            d.exponent,
            f"{d.a:.3f}",
            f"{d.b:.3f}",
            f"{d.delta:+.3f}",
            f"[{d.lo:+.3f}, {d.hi:+.3f}]",
            d.verdict.upper() if d.grew else d.verdict,
        ]
        for d in deltas
    ]
    head = ["series", "exp", "A (log-log)", "B (log-log)", "delta", "95% interval", "verdict"]
    return table(head, rows, markdown)


def _value(cell: Any, v: float, mode: str = "time") -> str:
    if mode == "instructions":
        return f"{v:,.0f}"
    if cell.kind == "time":
        return short_seconds(v)
    if cell.kind in ("peakmem", "mem"):
        return f"{v / 2**20:.1f}M"
    return f"{v:,.4g}"


def _cell_rows(cmp: Any) -> list[list[str]]:
    rows = []
    for c in cmp.cells:
        name = f"{c.benchmark}({', '.join(c.params)})" if c.params else c.benchmark
        name += "  (alone)" if (c.benchmark, c.params) in cmp.alone else ""
        mde = "-" if c.mde is None else f"{100 * c.mde:.1f}%"
        rows.append(
            [
                name,
                _value(c, c.base, cmp.mode),
                _value(c, c.head, cmp.mode),
                f"{c.ratio:.3f}",
                f"[{c.low:.3f}, {c.high:.3f}]",
                mde,
                str(c.rounds),
                c.verdict,
            ]
        )
    return rows


def _exponent_rows(cmp: Any) -> list[list[str]]:
    return [
        [
            e.series,
            e.exponent,
            f"{e.base:.3f}",
            f"{e.head:.3f}",
            f"{e.delta:+.3f}",
            f"[{e.low:+.3f}, {e.high:+.3f}]",
            e.verdict,
        ]
        for e in cmp.exponents
    ]


def _series_rows(cmp: Any) -> list[list[str]]:
    return [
        [
            s.series,
            str(s.cells),
            str(s.rounds),
            f"{s.ratio:.3f}",
            f"[{s.low:.3f}, {s.high:.3f}]",
            "-" if s.mde is None else f"{100 * s.mde:.1f}%",
            s.verdict,
        ]
        for s in cmp.series
    ]


def _short(side: str) -> str:
    """A commit hash as its first 8 digits; anything else (a fleet's id) whole."""
    return side[:8] if len(side) == 40 and all(ch in "0123456789abcdef" for ch in side) else side


def comparison_summary(cmp: Any, min_growth: float) -> list[str]:
    """The lines a reader needs first: what failed, how noisy, how the machine drifted."""
    counts = {v: sum(c.verdict == v for c in cmp.cells) for v in ("slower", "faster", "same", "undecided")}
    noise = "n/a" if cmp.noise is None else f"{cmp.noise:.3f}"
    band = cmp.factor - 1 if cmp.same_within is None else cmp.same_within
    how = "counted under callgrind, one count a side" if cmp.mode == "instructions" else "side by side on two cores"
    lines = [
        f"{_short(cmp.base)} -> {_short(cmp.head)}: {len(cmp.cells)} cells, {how}, up to {cmp.rounds} "
        f"rounds in {cmp.seconds / 60:.1f} min; {counts['slower']} slower, {counts['faster']} faster "
        f"(factor {cmp.factor:g}), {counts['same']} same (within {100 * band:g}%), {counts['undecided']} undecided; "
        f"noise sd(log ratio) {noise} over the time cells",
    ]
    for s in cmp.sentinel:
        lines.append(
            f"drift sentinel {s.benchmark}: HEAD/BASE {s.ratio:.3f} [{s.low:.3f}, {s.high:.3f}] ({s.verdict})"
            + (
                "; the machine moved between the two sides, so read the verdicts with care"
                if s.verdict != "same"
                else ""
            )
        )
    levels = {v: sum(x.verdict == v for x in cmp.series) for v in ("slower", "faster", "same", "undecided")}
    if cmp.series:
        lines.insert(
            0,
            f"series (decided first, from all their cells): {levels['slower']} slower, {levels['faster']} faster, "
            f"{levels['same']} same, {levels['undecided']} undecided; exponents: "
            + ", ".join(f"{e.series} {e.exponent} {e.verdict}" for e in cmp.exponents),
        )
    if cmp.counts:
        shown = ", ".join(
            f"{c.benchmark.rsplit('.', 1)[-1]}({', '.join(c.params)}) {c.base:,.0f} -> {c.head:,.0f}"
            for c in cmp.counts[:6]
        )
        lines.insert(
            0,
            f"{len(cmp.counts)} exact count(s) changed ({len(cmp.counts_grew)} grew; the work itself changed): {shown}"
            + (" ..." if len(cmp.counts) > 6 else ""),
        )
    if cmp.slower_series:
        lines.append(f"{len(cmp.slower_series)} series slower: the whole level interval above {cmp.factor:g}x")
    if cmp.slower:
        lines.append(f"{len(cmp.slower)} time cell(s) slower alone: the whole interval above {cmp.factor:g}x")
    if cmp.grew:
        lines.append(f"{len(cmp.grew)} exponent(s) grew: the whole interval above +{min_growth}")
    if cmp.open:
        lines.append(
            f"{len(cmp.open)} undecided: {', '.join(cmp.open[:4])}{' ...' if len(cmp.open) > 4 else ''}; the rounds "
            "ran out before the interval cleared the factor or fell inside the band (more --max-rounds or --budget)"
        )
    elif cmp.undecided:
        lines.append(
            f"{len(cmp.undecided)} cell(s) undecided alone (their series are decided; each cell's mde says what it "
            "could have seen)"
        )
    return lines


def _si(seconds: float) -> str:
    value, unit = in_unit(seconds)
    return f"{value:.3g} {unit}"


def _with_interval(value: float, interval: Sequence[float], fmt=short_seconds) -> str:
    if value != value:  # nan: not fitted on this side
        return "-"
    return f"{fmt(value)} [{fmt(interval[0])}, {fmt(interval[1])}]"


def _seed_rows(cmp: Any) -> list[list[str]]:
    """Each priced series at the seed's sizes: both sides' seconds (or instructions) and their ratio."""
    from ..bench.scaling.prices import ratio_text

    return [
        [
            p.series,
            row.size,
            _with_interval(row.base, row.base_interval, functools.partial(format_amount, unit=p.unit)),
            _with_interval(row.head, row.head_interval, functools.partial(format_amount, unit=p.unit)),
            ratio_text(row.ratio, row.low, row.high),
        ]
        for p in cmp.prices
        for row in p.predicted
    ]


def _unit_rows(cmp: Any) -> list[list[str]]:
    """Each priced series' unit costs on both sides, their ratio and its verdict."""
    from ..bench.scaling.prices import ratio_text

    return [
        [
            p.series,
            u.per,
            _with_interval(u.base, u.base_interval, format_instructions if p.unit == "instructions" else _si),
            _with_interval(u.head, u.head_interval, format_instructions if p.unit == "instructions" else _si),
            "-" if u.ratio is None else ratio_text(u.ratio, u.low, u.high),
            u.verdict,
        ]
        for p in cmp.prices
        for u in p.unit_costs
    ]


def render_comparison(cmp: Any, fmt: str = "text") -> str:
    """A :class:`~mlupdate.bench.compare.Comparison` as ``text``, ``markdown`` or ``json``."""
    from ..bench.stats import MIN_GROWTH

    if fmt == "json":
        return json.dumps(cmp.to_dict(), indent=2)
    md = fmt == "markdown"
    series_head = ["series", "cells", "rounds", "level", "99% interval", "mde", "verdict"]
    cell_head = ["benchmark (params)", "base", "head", "ratio", "99% interval", "mde", "rounds", "verdict"]
    exp_head = ["series", "exp", "base (log-log)", "head", "delta", "99% interval", "verdict"]
    out = [("- " if md else "") + p.summary() for p in cmp.prices]
    out += [""] if out else []
    if cmp.series:
        out += [*table(series_head, _series_rows(cmp), md), ""]
    if cmp.prices:
        seed_head = ["series", "size", "base", "head", "head/base [95%]"]
        out += [*table(seed_head, _seed_rows(cmp), md), ""]
        unit_head = ["series", "per", "base [95%]", "head [95%]", "head/base [95%]", "verdict"]
        out += [*table(unit_head, _unit_rows(cmp), md), ""]
    if cmp.exponents:
        out += [*table(exp_head, _exponent_rows(cmp), md), ""]
    out += [*table(cell_head, _cell_rows(cmp), md), ""]
    out += [("- " if md else "") + line for line in comparison_summary(cmp, MIN_GROWTH)]
    if cmp.mode == "instructions":
        out += [("- " if md else "") + line for line in _instruction_notes(cmp)]
    return "\n".join(out)


def _instruction_notes(cmp: Any) -> list[str]:
    """What a count comparison measured: instructions of the timed call, pinned, and what it left out."""
    pins = ", ".join(f"{k}={v}" for k, v in cmp.pins.items())
    lines = [f"instructions of each cell's timed call under callgrind (exact: judged from one round); pinned: {pins}"]
    if cmp.not_counted:
        shown = list(cmp.not_counted.items())[:3]
        lines.append(
            f"{len(cmp.not_counted)} timed cell(s) not counted: "
            + "; ".join(f"{cell} {why}" for cell, why in shown)
            + (" ..." if len(cmp.not_counted) > 3 else "")
        )
    return lines


def render_replicas(state: Any, path: Any) -> str:
    """What ``mlupdate suite`` ran, where its results are, and how far its two replicas disagreed."""
    from ..bench.results.asv_results import read_replicas
    from ..bench.runner.noise import spread_of

    spread = spread_of(read_replicas(path) or {})
    alone = len(state.alone)
    lines = [
        f"{len(state.cells)} cells of {state.sides[0].commit[:8]} in two replicas side by side, {state.rounds} "
        f"round(s), {state.seconds / 60:.1f} min ({alone} cell(s) that need both cores ran alone, one replica per round)",
        f"results: {path}",
    ]
    load = state.total_load
    if load is not None:
        lines.append(
            f"other load on cores {', '.join(map(str, load.cores))}: {load.foreign:.1%} of their time"
            f" (steal {load.stolen:.1%})"
        )
    if spread.cells:
        lines.append(
            f"replica spread over {spread.cells} time cells: median {100 * spread.median:.1f}%, worst "
            f"{100 * spread.worst:.1f}% ({spread.worst_cell}); {spread.above} above {100 * spread.limit:g}%"
        )
    return "\n".join(lines)
