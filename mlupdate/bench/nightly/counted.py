"""A step's second channel (``nightly --mode both``): instruction counts beside the time.

BASE and HEAD are counted once each under callgrind (:func:`~mlupdate.bench.instructions.compare.count_commits`,
the cells :mod:`~mlupdate.bench.instructions.cells` counts) and judged as exact by the one verdict rule
(:func:`~mlupdate.bench.compare.judge` with ``exact``). A count repeats within 0.1%, so a counted cell
beyond the band is a change at its commit at once: it needs no fresh rounds to be confirmed, and its
item in the step file says so (``"confirm": {"verdict": "confirmed", "how": "exact count"}``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..compare.judge import judge
from ..instructions.compare import DEFAULT_FACTOR, count_commits

__all__ = ["EXACT", "count_step"]

#: How an exact count's move is confirmed: by being a count.
EXACT = {"verdict": "confirmed", "how": "exact count"}


def count_step(
    project: Path,
    base: str,
    head: str,
    names: Sequence[str],
    only: Callable | None = None,
    factor: float = DEFAULT_FACTOR,
) -> dict:
    """The step file's ``instructions`` entry: every counted cell's counts, ratio and verdict, the
    cells left out and why, the pins, each series priced in instructions, and the minutes it took."""
    started = time.monotonic()
    values = count_commits(project, base, head, names, cells=only)
    comparison = judge(values, factor, exact=True)
    cells = []
    for cell in comparison.cells:
        moved = {"slower": 1, "faster": -1}.get(cell.verdict, 0)
        cells.append({**cell.to_dict(), "moved": moved, "confirm": dict(EXACT) if moved else None})
    return {
        "factor": factor,
        "pins": dict(values.pins),
        "not_counted": dict(values.not_counted),
        "cells": cells,
        "prices": [p.to_dict() for p in comparison.prices],
        "seconds": time.monotonic() - started,
    }
