"""Which cells are counted: a timed, single-threaded cell small enough for valgrind.

Callgrind serialises threads and does not follow a worker pool's processes into their work as one
count, so a cell whose workload runs on joblib, Dask or the fused executor's shards is not counted.
Under callgrind a model-batch visit costs about 2.5 s here (measured: 8x2 took 26 s, 1x1 5 s, with
setup and the untimed warm-up), so cells above :data:`MAX_VISITS` visits are left out: the counted
set of GrowthGrid's serial cells and the diagonal's ``k <= 2`` stays within the gate's minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ...errors import UsageError
from ..suite.catalog import NoWorkload, cell_labels, workload_of
from ..suite.timed import part_timed

__all__ = ["MAX_VISITS", "check_counted", "not_counted", "require_counted"]

#: The most model-batch visits (m x n) a counted cell may have.
MAX_VISITS = 8


def not_counted(benchmark: str, params: tuple[str, ...], benchmark_dir: Path) -> str | None:
    """Why the cell ``benchmark(params)`` is not counted (one phrase), or None when it is."""
    if not benchmark.rsplit(".", 1)[-1].startswith("time_"):
        return "is not a timed call"
    if part_timed(benchmark) is not None:
        return "times part of its call (its own clock), and callgrind counts the whole call"
    try:
        w = workload_of(benchmark, list(params), benchmark_dir)
    except NoWorkload:
        return "states no workload"
    if w.executor != "serial":
        return f"runs on the {w.executor} executor (threads or worker processes)"
    if w.n_models * w.n_batches > MAX_VISITS:
        return f"has {w.n_models * w.n_batches} model-batch visits, above the {MAX_VISITS} counted under valgrind"
    return None


def require_counted(reasons: dict[str, str | None]) -> int:
    """How many of the timed cells ``reasons`` names (label -> why not counted, None when counted) are
    counted; a :class:`~mlupdate.errors.UsageError` naming the first and why, when none is."""
    counted = sum(why is None for why in reasons.values())
    if not counted:
        if not reasons:
            raise UsageError("--mode instructions counts timed cells, and the selection has none")
        label, why = next(iter(reasons.items()))
        raise UsageError(f"{label} {why}: instruction counts cover small single-threaded cells only")
    return counted


def check_counted(project: Path, names: Sequence[str], wants: Callable[[str, str], bool]) -> int:
    """How many selected timed cells are counted; a :class:`~mlupdate.errors.UsageError` naming the
    first selected cell and why, when none is (before anything is installed)."""
    bdir = Path(project) / "benchmarks"
    reasons: dict[str, str | None] = {}
    for name in names:
        if not name.rsplit(".", 1)[-1].startswith("time_"):
            continue
        for label in cell_labels(project, name):
            if wants(label, name):
                params = tuple(label[len(name) + 1 : -1].split(", ")) if label != name else ()
                reasons[label] = not_counted(name, params, bdir)
    return require_counted(reasons)
