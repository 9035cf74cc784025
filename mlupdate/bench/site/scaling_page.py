"""The scaling page: ``scaling.json``, the plots and ``index.html``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..scaling.exponents import SeriesFit, by_commit
from .plots import history_plots, latest_plots, pyplot
from .templating import Markup, render

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
    rows = [
        {
            "commit": commit,
            "series": f.series.key,
            "exponents": f.describe(),
            "baseline": ", ".join(f"{k} = {v:.3f}" for k, v in f.baseline.items()),
        }
        for commit, group in reversed(commits)
        for f in group
    ]
    return render("scaling.html", banner=Markup(banner), rows=rows, sections=Markup(machines), images=images)
