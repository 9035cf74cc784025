"""Two commits judged by instruction counts: each counted cell once per commit, the one verdict rule.

Both commits are counted in one asv environment at one path, one after the other: BASE installed
and counted by a counting server under callgrind (:mod:`.server`), then HEAD installed in its place
and counted. Two environments at two paths (``env-a``, ``env-b``, as time uses) read the same code
0.1-0.4 million instructions apart per call: memcpy's alignment work and the hashes of the install
paths moved with them (0.9% of a 1x1 update, measured with ``callgrind_annotate``). One path takes
that away at the price of the second core. A count repeats within 0.1%
(``tests/bench/test_instructions.py``), so a cell's ratio is judged from its one round as exact
(:func:`~mlupdate.bench.compare.judge` with ``exact``), with a default band of 1%.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ..compare.rounds import RoundValues
from ..results.counts import COUNTS_DIR_VAR, RecordedCounts, collect
from ..runner.asv_private import interpreter
from ..runner.asv_side import Cell, asv_conf, discover_cells, install
from ..runner.duet import duet_cores
from .cells import not_counted, require_counted
from .hooks import build_hooks, valgrind
from .server import CODE_PINS, PINS, CountServer

__all__ = ["DEFAULT_FACTOR", "count_commits"]

logger = logging.getLogger(__name__)

#: The default threshold of ``--mode instructions``: counts repeat within 0.1%, so 1% is a change.
DEFAULT_FACTOR = 1.01


def _counted(found: Sequence[Cell], bdir: Path) -> tuple[list[Cell], dict[str, str]]:
    """The timed cells that are counted, and the others with why not (none counted: a
    :class:`~mlupdate.errors.UsageError`, :func:`~.cells.require_counted`)."""
    reasons = {c: not_counted(c.name, c.params, bdir) for c in found if c.name.rsplit(".", 1)[-1].startswith("time_")}
    require_counted({c.label: why for c, why in reasons.items()})
    return [c for c, why in reasons.items() if why is None], {c.label: why for c, why in reasons.items() if why}


def count_commits(
    project: Path,
    base: str,
    head: str,
    names: Sequence[str],
    *,
    cells: Callable | None = None,
) -> RoundValues:
    """Every counted cell of ``names`` on ``base`` and ``head``: one round of exact counts.

    Raises :class:`~mlupdate.bench.instructions.hooks.InstructionsUnavailable` (before anything is
    installed) without valgrind, and :class:`~mlupdate.errors.UsageError` when no selected cell
    can be counted, naming the first and why.
    """
    tool = valgrind()
    hooks = build_hooks()
    core = duet_cores()[0]
    counts: list[dict[str, int | None]] = []
    recorded: list[RecordedCounts] = []
    with tempfile.TemporaryDirectory(prefix="mlupdate-instructions-") as tmp:
        conf = asv_conf(Path(project).resolve(), Path(tmp) / "asv.json")
        bdir = Path(conf.benchmark_dir)
        benchmarks, counted, ids, left = None, [], [], {}
        for k, commit in enumerate((base, head)):
            logger.info(f"{('base', 'head')[k]}: installing {commit[:8]} in {conf.env_dir}")
            env = install(conf, commit)
            if benchmarks is None:
                benchmarks, found = discover_cells(conf, env, commit, names)
                counted, left = _counted([c for c in found if cells is None or cells(c)], bdir)
                ids = [f"{c.name}-{c.index}" if c.params else c.name for c in counted]
                logger.info(f"counting {len(counted)} cell(s) under callgrind ({len(left)} not counted)")
            notes = Path(tmp) / f"counts-{k}"  # what each cell's update counted (fits, visits): its own counts
            notes.mkdir()
            environ = {**os.environ, **env.env_vars, COUNTS_DIR_VAR: str(notes)}
            out = Path(tmp) / f"side-{k}"
            server = CountServer(tool, interpreter(env), bdir, hooks, ids, out, environ, core, scratch=Path(tmp))
            try:
                found_counts = {}
                for i, cid in enumerate(ids, 1):
                    found_counts[cid] = server.count(cid)
                    logger.info(f"{('base', 'head')[k]} [{i}/{len(ids)}] {counted[i - 1].label}  {found_counts[cid]}")
                counts.append(found_counts)
            finally:
                server.close()
            recorded.append(collect(notes, commit))
    values = RoundValues(base, head, 1, benchmarks=dict(benchmarks), mode="instructions")
    for cell, cid in zip(counted, ids, strict=True):
        b, h = counts[0][cid], counts[1][cid]
        if b is not None and h is not None:
            values.add((cell.name, cell.params), "base", float(b))
            values.add((cell.name, cell.params), "head", float(h))
    values.counts = (recorded[0], recorded[1])
    values.benchmark_dir = bdir  # the cells' workloads: each series priced in instructions
    values.pins = {**PINS, **CODE_PINS}
    values.not_counted = left
    return values
