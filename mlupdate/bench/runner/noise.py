"""A run's measured noise: how far its two replicas disagreed, cell by cell.

A run in two replicas (:func:`mlupdate.bench.runner.side_by_side.run_replicas`) stores
each cell's samples per replica in a replica file beside its asv result file.
The spread of a cell is ``|log(median_1 / median_2)|``; over the time cells
that ran side by side it says how much one run of this machine can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..results.asv_results import read_replicas, result_files
from .load import CoreLoad, noise_reasons

__all__ = ["Spread", "latest_spreads", "noisy_commits", "run_noise", "spread_of"]


@dataclass(frozen=True)
class Spread:
    """The replicas' disagreement over the time cells that ran side by side (not ``alone``)."""

    cells: int
    median: float | None
    worst: float | None
    worst_cell: str | None
    above: int  # cells whose spread exceeds ``limit``
    limit: float


def spread_of(doc: dict, limit: float = 0.10) -> Spread:
    """:class:`Spread` of a replica file's ``doc``; ``limit`` is a ratio's fraction (0.10: 10%)."""
    rows = [
        c
        for c in doc.get("cells", [])
        if not c["alone"] and c["spread"] is not None and c["benchmark"].rsplit(".", 1)[-1].startswith("time_")
    ]
    if not rows:
        return Spread(0, None, None, None, 0, limit)
    spreads = np.expm1([c["spread"] for c in rows])
    worst = int(np.argmax(spreads))
    label = f"{rows[worst]['benchmark']}({', '.join(rows[worst]['params'])})"
    return Spread(
        len(rows), float(np.median(spreads)), float(spreads[worst]), label, int((spreads > limit).sum()), limit
    )


def run_noise(doc: dict) -> list[str]:
    """Why the run of a replica file's ``doc`` is noisy (:func:`~mlupdate.bench.runner.load.noise_reasons`:
    the other load on its cores, steal time, its replicas' median spread); empty when it is not.
    Files written before the load was recorded are judged by their spread alone."""
    load = CoreLoad.from_json(doc["load"]) if doc.get("load") else None
    return noise_reasons(load, spread_of(doc).median)


def noisy_commits(results_dir: Path) -> dict[str, list[str]]:
    """Per commit (full hash) whose newest replica file says its run was noisy, why."""
    newest: dict[str, tuple[float, list[str]]] = {}
    for path in result_files(results_dir):
        doc = read_replicas(path)
        if not doc or "commit" not in doc:
            continue
        stamp = path.stat().st_mtime
        if doc["commit"] not in newest or stamp > newest[doc["commit"]][0]:
            newest[doc["commit"]] = (stamp, run_noise(doc))
    return {commit: reasons for commit, (_, reasons) in newest.items() if reasons}


def latest_spreads(results_dir: Path) -> list[tuple[str, str, Spread]]:
    """Per machine, the newest result file with replicas: ``(machine, commit, spread)``."""
    newest: dict[str, tuple[float, str, Spread]] = {}
    for path in result_files(results_dir):
        doc = read_replicas(path)
        if not doc:
            continue
        machine, stamp = path.parent.name, path.stat().st_mtime
        if machine not in newest or stamp > newest[machine][0]:
            newest[machine] = (stamp, doc.get("commit", path.stem[:8]), spread_of(doc))
    return [(m, commit, spread) for m, (_, commit, spread) in sorted(newest.items())]
