"""Paired results that a plain asv command cannot clobber: a copy kept beside each result file.

asv writes one result file per machine and commit (``<hash8>-<env>.json``), and a plain
``asv run`` of that commit rewrites the entries of the benchmarks it ran, so one cold sample of a
quick run could replace the rounds a paired run measured. Every result file the instruments
write is therefore copied beside it (``<hash8>-<env>.paired``; asv reads only ``*.json``).
:func:`restore_paired` merges the copies back: for each benchmark the paired run measured, its
entry is put back over the plain run's, and the benchmarks only asv ran are kept. Each restored
file is named in one warning. ``mlupdate publish`` (and so the nightly and ``make bench``) runs it
before ``asv publish``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

__all__ = ["keep_paired", "paired_copy", "restore_paired"]

logger = logging.getLogger(__name__)


def paired_copy(result_file: Path) -> Path:
    """The copy of a paired result file, beside it."""
    return Path(result_file).with_suffix(".paired")


def keep_paired(result_file: Path) -> None:
    """Copy ``result_file``, just written by a paired run, beside it."""
    paired_copy(result_file).write_text(Path(result_file).read_text())


def _entries(doc: dict) -> dict[str, list]:
    return doc.get("results", {}) if isinstance(doc, dict) else {}


def restore_paired(results_dir: Path) -> list[Path]:
    """Put every paired run's entries back into its result file where a plain asv command replaced
    them; the files restored (each also named in a warning)."""
    restored = []
    for copy in sorted(Path(results_dir).glob("*/*.paired")):
        path = copy.with_suffix(".json")
        try:
            ours, now = json.loads(copy.read_text()), json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # the result file is gone or broken: nothing to merge into
        changed = sorted(n for n, row in _entries(ours).items() if _entries(now).get(n) != row)
        if not changed or ours.get("result_columns") != now.get("result_columns"):
            continue
        now["results"] = {**_entries(now), **{n: _entries(ours)[n] for n in changed}}
        path.write_text(json.dumps(now))
        keep_paired(path)
        logger.warning(
            f"{path.name}: {len(changed)} benchmark(s) measured in pairs were rewritten by a plain asv run "
            f"({', '.join(changed[:3])}{' ...' if len(changed) > 3 else ''}); the paired rounds are restored"
        )
        restored.append(path)
    return restored
