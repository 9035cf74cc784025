"""Two commits judged by instruction counts: each counted cell once per side, the one verdict rule.

Both sides are installed as for time (:func:`~mlupdate.bench.side_by_side.open_sides`); each runs
one counting server under callgrind (:mod:`.server`), both at once. A count repeats within 0.1%
(``tests/bench/test_instructions.py``), so a cell's ratio is judged from its one round as exact
(:func:`~mlupdate.bench.compare.judge` with ``exact``), with a default band of 1%.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ...errors import UsageError
from ..asv_private import interpreter
from ..compare.rounds import RoundValues
from ..duet import duet_cores
from ..side_by_side import open_sides
from .cells import not_counted
from .hooks import build_hooks, valgrind
from .server import PINS, CountServer, count_both

__all__ = ["DEFAULT_FACTOR", "count_commits"]

logger = logging.getLogger(__name__)

#: The default threshold of ``--mode instructions``: counts repeat within 0.1%, so 1% is a change.
DEFAULT_FACTOR = 1.01


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
    cores = duet_cores()
    with open_sides(project, (base, head), names, labels=("base", "head"), only=cells) as (
        sides,
        benchmarks,
        found,
        conf,
    ):
        bdir = Path(conf.benchmark_dir)
        reasons = {
            c: not_counted(c.name, c.params, bdir) for c in found if c.name.rsplit(".", 1)[-1].startswith("time_")
        }
        counted = [c for c, why in reasons.items() if why is None]
        if not counted:
            first = next(iter(reasons.items()), None)
            if first is None:
                raise UsageError("--mode instructions counts timed cells, and the selection has none")
            cell, why = first
            raise UsageError(
                f"{cell.name}({', '.join(cell.params)}) {why}: instruction counts cover small single-threaded cells only"
            )
        left = len(reasons) - len(counted)
        logger.info(
            f"counting {len(counted)} cell(s) on both sides under callgrind ({left} not counted: threads, pools or too large)"
        )
        ids = [f"{c.name}-{c.index}" if c.params else c.name for c in counted]
        with tempfile.TemporaryDirectory(prefix="mlupdate-instructions-") as tmp:
            servers = []
            try:
                for k, side in enumerate(sides):
                    env = {**os.environ, **side.env.env_vars}
                    servers.append(
                        CountServer(
                            tool, interpreter(side.env), bdir, hooks, ids, Path(tmp) / f"side-{k}", env, cores[k]
                        )
                    )
                counts = count_both(servers, ids, logger.info)
            finally:
                for server in servers:
                    server.close()
        values = RoundValues(base, head, 1, benchmarks=dict(benchmarks), mode="instructions")
        for cell, cid in zip(counted, ids, strict=True):
            b, h = counts[0][cid], counts[1][cid]
            if b is not None and h is not None:
                values.add((cell.name, cell.params), "base", float(b))
                values.add((cell.name, cell.params), "head", float(h))
        values.pins = dict(PINS)
        values.not_counted = {f"{c.name}({', '.join(c.params)})": why for c, why in reasons.items() if why}
    return values
