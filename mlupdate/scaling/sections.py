"""The scaling page's sections after the exponents: the cost model and the machine history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .machines import history_html, machine_history
from .predict import cost_models, costs_html
from .results import ResultsError

__all__ = ["page_sections"]


def page_sections(
    results_dir: Path, benchmark_dir: Path = Path("benchmarks"), warn: Callable[[str], None] = print
) -> Callable[[Path], str]:
    """``sections(out_dir)`` for :func:`mlupdate.scaling.report.write_report`."""

    def render(out_dir: Path) -> str:
        try:
            models = cost_models(results_dir, benchmark_dir=benchmark_dir, warn=warn)
        except (ResultsError, ValueError) as exc:
            warn(f"no cost model on the page: {exc}")
            models = []
        return costs_html(models, out_dir) + history_html(machine_history(results_dir))

    return render
