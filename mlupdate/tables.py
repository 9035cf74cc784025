"""Plain-text and Markdown tables of what the CLI prints: reports, plans, exponents.

Columns are sized from their values, so no figure runs into its neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence

from .plan import Plan
from .report import UpdateReport

__all__ = ["format_report", "plan_table", "prediction_table", "seconds", "table"]


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


def format_report(report: UpdateReport) -> str:
    """A readable plain-text rendering of an :class:`UpdateReport`."""
    c = report.config
    lines = [
        f"update of {c['n_models']} models x {c['n_batches']} batches "
        f"({c['rows_per_batch']} rows), order {c['order']}, strategy {c['strategy']}, "
        f"executor {c['executor']} ({c['n_workers']} worker(s), {c['blas_threads']} BLAS thread(s) each)",
        f"wall time {report.wall_seconds:.3f} s",
        "",
    ]
    ops = []
    for key, done in report.counts.items():
        mark = "<=" if c["strategy"] == "triggered" and key in ("fit", "rows_trained") else ""
        secs = f"{report.seconds[key]:.3f}" if key in report.seconds else ""
        ops.append([key, mark + format(report.planned[key], ","), format(done, ","), secs])
    lines += [*table(["operation", "planned", "done", "seconds"], ops), ""]
    models = []
    for i, (before, after, retrained) in enumerate(zip(report.before, report.after, report.retrained, strict=True)):
        est = report.estimators[i]
        targets = report.config.get("targets") or []
        name = f"{i} {targets[i]}" if i < len(targets) else str(i)
        name += f" {type(est).__name__}" if est is not None else " (failed)"
        models.append(
            [name, _metric(before, "r2"), _metric(after, "r2"), _metric(after, "mae"), "yes" if retrained else "no"]
        )
    lines += table(["model", "R2 before", "R2 after", "MAE after", "retrained"], models)
    return "\n".join(lines)


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


def seconds(value: float) -> str:
    """``850 ms``, ``12.3 s``, ``1.2 h``: a duration a reader takes in at a glance."""
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def prediction_table(rows: Sequence[dict], sizes: Sequence[str], markdown: bool = False) -> list[str]:
    """One row per series, one column per size: ``seconds [low, high]``."""
    by_series: dict[str, dict[str, str]] = {}
    for r in rows:
        cell = f"{seconds(r['seconds'])} [{seconds(r['low'])}, {seconds(r['high'])}]"
        by_series.setdefault(r["series"], {})[r["size"]] = cell
    body = [[name, *(cells.get(size, "") for size in sizes)] for name, cells in by_series.items()]
    return table(["series", *sizes], body, markdown)
