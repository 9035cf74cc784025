"""What a timed benchmark times: the whole update, or part of it, and so which counts price it.

Every ``time_`` benchmark of the suite times a whole update, whose time is a sum over all its
counts (visits, fits, scores, rows trained, ...). A benchmark that sets asv's ``timer`` to a clock
of its own times part of the update: ``strategies.StrategyGrowthTraining.time_training`` reads
the update's training stages alone (``benchmarks/common.py``: ``training_clock``), so its cost
model has only the training counts as terms; a visit or a score costs it nothing. Such a time
is not an instruction count either: callgrind counts the whole call
(:func:`mlupdate.bench.instructions.cells.not_counted` leaves it out).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PART_TIMED", "part_timed", "timed_counts"]

#: The benchmarks that time part of the update (their own asv ``timer``), and the counts their time
#: is made of. Every other timed benchmark times the whole update, all of its counts.
PART_TIMED: dict[str, tuple[str, ...]] = {
    "strategies.StrategyGrowthTraining.time_training": ("fit", "partial_fit", "rows_trained"),
}


def part_timed(series: str) -> tuple[str, ...] | None:
    """The counts of a benchmark (or of a series, ``benchmark(fixed=value, ...)``) that times part
    of the update (:data:`PART_TIMED`); None when it times the whole update."""
    return PART_TIMED.get(series.split("(", 1)[0])


def timed_counts(series: str, counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` of one cell of ``series`` as its time is made of them: all of them, or for a
    benchmark that times part of the update (:data:`PART_TIMED`) only that part's."""
    keep = part_timed(series)
    return dict(counts) if keep is None else {k: v for k, v in counts.items() if k in keep}
