"""Instruction counts as asv results: ``instructions.<benchmark>`` beside each counted benchmark.

A step of ``nightly --mode both`` counts BASE and HEAD once each under callgrind. Those counts
are added to each commit's own asv result file as a benchmark of their own: the id is
``instructions.`` followed by the timed benchmark's id, a ``track`` in unit ``instructions``,
with the timed benchmark's parameters and version. Cells that were not counted are n/a. The
ids are new, never the timed benchmark's, so a timed series' history is not touched, and asv's
graphs plot the counts over commits like any other series.

asv's ``benchmarks.json`` is rewritten by every discovery and knows nothing of these ids, so
:func:`list_counted` adds them to it (from the timed benchmarks' entries) right before ``asv
publish`` reads it.
"""

from __future__ import annotations

import datetime
import itertools
import json
import logging
from collections.abc import Mapping
from pathlib import Path

from .paired_results import keep_paired, paired_copy

__all__ = ["PREFIX", "counted_id", "list_counted", "store_counts"]

logger = logging.getLogger(__name__)

#: What a counted benchmark's id starts with.
PREFIX = "instructions."
#: asv's ``benchmarks.json`` entries that describe how a time benchmark is sampled: not a track's.
_TIMING_KEYS = ("number", "repeat", "min_run_count", "sample_time", "warmup_time", "rounds", "timer")


def counted_id(name: str) -> str:
    """The id under which the instruction counts of benchmark ``name`` are stored."""
    return PREFIX + name


def _counted_entry(name: str, entry: Mapping) -> dict:
    """``benchmarks.json``'s entry for the counts of benchmark ``name``, described by ``entry``."""
    out = {k: v for k, v in entry.items() if k not in _TIMING_KEYS}
    return out | {"name": counted_id(name), "type": "track", "unit": "instructions"}


def store_counts(
    results_dir: Path,
    machine: str,
    commit: str,
    counts: Mapping[tuple[str, tuple[str, ...]], float],
) -> list[Path]:
    """Add ``counts`` (``(benchmark, params) -> instructions``) to ``commit``'s asv result files of
    ``machine`` in ``results_dir``; the files written (none when the commit has no result file yet).

    Each counted benchmark becomes ``instructions.<benchmark>`` with the benchmark's parameters and
    version (read from the results folder's ``benchmarks.json``); its cells not in ``counts`` are n/a.
    """
    from asv.results import Results, get_filename, iter_results_for_machine_and_hash
    from asv.runner import BenchmarkResult
    from asv.util import UserError

    listed = json.loads((Path(results_dir) / "benchmarks.json").read_text())
    written = []
    try:
        found = list(iter_results_for_machine_and_hash(str(results_dir), machine, commit))
    except UserError as exc:  # two result files' commits share the 8 digits asv names files by
        logger.warning(f"instruction counts of {commit[:8]} not stored as asv results: {exc}")
        found = []
    for result in found:
        result: Results
        for name, group in itertools.groupby(sorted(counts), key=lambda cell: cell[0]):
            entry = _counted_entry(name, listed[name])
            combos = [tuple(map(str, c)) for c in itertools.product(*entry["params"])] or [()]
            values: list[float | None] = [None] * len(combos)
            for _, params in group:
                values[combos.index(tuple(params))] = float(counts[(name, params)])
            none = [None] * len(combos)
            result.add_result(
                entry,
                BenchmarkResult(values, none, none, 0, "", None),
                started_at=datetime.datetime.now(datetime.timezone.utc),
            )
        result.save(str(results_dir))
        path = Path(results_dir) / get_filename(machine, result.commit_hash, result.env_name)
        if paired_copy(path).exists():
            keep_paired(path)  # the paired copy holds them too, or a restore would look stale
        written.append(path)
    return written


def list_counted(results_dir: Path) -> list[str]:
    """Add to ``results_dir/benchmarks.json`` every ``instructions.*`` id a result file holds and the
    file does not list (from its timed benchmark's entry); the ids added."""
    listing = Path(results_dir) / "benchmarks.json"
    if not listing.is_file():
        return []
    listed = json.loads(listing.read_text())
    added = []
    for path in Path(results_dir).glob("*/*.json"):
        if path.name == "machine.json":
            continue
        try:
            names = json.loads(path.read_text()).get("results", {})
        except (OSError, json.JSONDecodeError):
            continue  # a broken file is named by the readers that need it
        for name in names:
            timed = name.removeprefix(PREFIX)
            if name.startswith(PREFIX) and name not in listed and timed in listed:
                listed[name] = _counted_entry(timed, listed[timed])
                added.append(name)
    if added:
        listing.write_text(json.dumps(listed, indent=4, sort_keys=True))
    return sorted(added)
