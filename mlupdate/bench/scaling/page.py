"""The scaling page: ``scaling.json``, the plots and ``index.html``."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path

from .exponents import SeriesFit, by_commit
from .plots import history_plots, latest_plots, pyplot

__all__ = ["write_report"]


def write_report(
    fits: list[SeriesFit], out_dir: Path, sections: Callable[[Path], str] | None = None, banner: str = ""
) -> Path:
    """Write ``scaling.json``, plots and ``index.html`` to ``out_dir``.

    ``sections(out_dir)``: HTML placed after the exponent table (it may write its
    own images to ``out_dir``), e.g. the cost model and the machine history;
    ``banner``: HTML placed under the title (the noisy runs).
    """
    pyplot()  # refuse before writing anything when matplotlib is missing
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scaling.json").write_text(json.dumps([f.to_dict() for f in fits], indent=1))
    commits = sorted(by_commit(fits).items(), key=lambda kv: kv[1][0].series.date)
    latest_commit, latest = commits[-1]
    images = latest_plots(latest, latest_commit, out_dir) + history_plots(commits, out_dir)
    (out_dir / "index.html").write_text(_page(commits, images, sections(out_dir) if sections else "", banner))
    return out_dir / "index.html"


def _page(
    commits: list[tuple[str, list[SeriesFit]]], images: list[tuple[str, str]], machines: str, banner: str = ""
) -> str:
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
{banner}
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
