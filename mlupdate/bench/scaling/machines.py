"""Which machine each result ran on, and what the drift sentinel read there.

A hosted runner can change hardware from one night to the next. Each asv
result file keeps the machine's CPU model (``params["cpu"]``); this module
lists the results in date order, marks where the CPU changed, and puts the
drift sentinel's time beside each, so that a reader can tell "the machine
changed or was slower that night" from "the code got slower".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..results.asv_results import CommitResults, read_commit_files

__all__ = ["SENTINEL_BENCHMARK", "MachineRow", "machine_history"]

SENTINEL_BENCHMARK = "sentinel.DriftSentinel.time_fixed_numpy"


@dataclass
class MachineRow:
    commit: str
    date: int
    machine: str
    cpu: str
    sentinel: float | None  # seconds
    cpu_changed: bool = False
    sentinel_ratio: float | None = None  # against the first sentinel reading on this machine


def _sentinel(commit: CommitResults) -> float | None:
    if SENTINEL_BENCHMARK not in commit.names():
        return None
    value = next(iter(commit.values(SENTINEL_BENCHMARK)), None)
    return float(value) if isinstance(value, (int, float)) else None


def machine_history(results_dir: Path) -> list[MachineRow]:
    """Every result file, oldest commit first, per machine name."""
    _, commits = read_commit_files(Path(results_dir), warn=lambda _: None)
    rows = sorted(
        (MachineRow(c.commit, c.date, c.machine, str(c.params.get("cpu", "unknown")), _sentinel(c)) for c in commits),
        key=lambda r: (r.machine, r.date),
    )
    previous: dict[str, MachineRow] = {}
    first: dict[str, float] = {}
    for row in rows:
        before = previous.get(row.machine)
        row.cpu_changed = before is not None and before.cpu != row.cpu
        if row.sentinel is not None:
            first.setdefault(row.machine, row.sentinel)
            row.sentinel_ratio = row.sentinel / first[row.machine]
        previous[row.machine] = row
    return rows
