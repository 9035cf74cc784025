"""``mlupdate compare`` output: plain text, Markdown (job summaries) or JSON."""

from __future__ import annotations

import json

from ..tables import table
from .judge import Comparison
from .stats import MIN_GROWTH, CellVerdict

__all__ = ["render"]


def _value(cell: CellVerdict, v: float) -> str:
    if cell.kind == "time":
        return f"{v * 1e3:.1f}ms" if v < 1 else f"{v:.3f}s"
    if cell.kind in ("peakmem", "mem"):
        return f"{v / 2**20:.1f}M"
    return f"{v:,.4g}"


def _cell_rows(cmp: Comparison) -> list[list[str]]:
    rows = []
    for c in cmp.cells:
        name = f"{c.benchmark}({', '.join(c.params)})" if c.params else c.benchmark
        rows.append(
            [name, _value(c, c.base), _value(c, c.head), f"{c.ratio:.3f}", f"[{c.low:.3f}, {c.high:.3f}]", c.verdict]
        )
    return rows


def _exponent_rows(cmp: Comparison) -> list[list[str]]:
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


def summary(cmp: Comparison) -> list[str]:
    """The lines a reader needs first: what failed, how noisy, how the machine drifted."""
    counts = {v: sum(c.verdict == v for c in cmp.cells) for v in ("slower", "faster", "same")}
    noise = "n/a" if cmp.noise is None else f"{cmp.noise:.3f}"
    lines = [
        f"{cmp.base[:8]} -> {cmp.head[:8]}: {len(cmp.cells)} cells over {cmp.rounds} alternating rounds; "
        f"{counts['slower']} slower, {counts['faster']} faster, {counts['same']} same (factor {cmp.factor:g}); "
        f"noise sd(log ratio) {noise} over the time cells judged same",
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
    if cmp.slower:
        lines.append(f"{len(cmp.slower)} time cell(s) slower by >= {cmp.factor:g}x with the interval above 1")
    if cmp.grew:
        lines.append(f"{len(cmp.grew)} exponent(s) grew by >= {MIN_GROWTH} with the interval above 0")
    return lines


def render(cmp: Comparison, fmt: str = "text") -> str:
    """``fmt``: ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(cmp.to_dict(), indent=2)
    md = fmt == "markdown"
    cell_head = ["benchmark (params)", "base", "head", "ratio", "95% interval", "verdict"]
    exp_head = ["series", "exp", "base", "head", "delta", "95% interval", "verdict"]
    out = [*table(cell_head, _cell_rows(cmp), md), ""]
    if cmp.exponents:
        out += [*table(exp_head, _exponent_rows(cmp), md), ""]
    out += [("- " if md else "") + line for line in summary(cmp)]
    return "\n".join(out)
