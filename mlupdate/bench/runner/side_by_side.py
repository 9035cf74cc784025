"""Two sides of asv's suite at once: two commits (a comparison) or two replicas of one.

:func:`open_sides` installs each side's commit in an asv environment of its own
(two folders beside the config's ``env_dir``, :data:`SIDE_SUFFIXES`, one drawn
for each side by the run's :class:`~mlupdate.bench.runner.design.Design`: two
commits cannot share an environment while both run; two replicas of one commit
share the config's), discovers the suite and starts a forkserver per side.
:func:`run_replicas` is the single-commit run of ``make bench``, the nightly and
``mlupdate bench``: both replicas in lockstep, their samples stored together in
the commit's ordinary asv result file, and their disagreement, the run's
measured noise, in a replica file beside it (:func:`replica_path`).

Replica file (JSON, ``<machine>/<hash8>-<env>.replicas`` in the results folder;
asv reads only ``*.json``)::

    {"version": 1, "commit": "...", "machine": "...", "rounds": 2, "seconds": 312.5,
     "cells": [{"benchmark": "growth.GrowthGrid.time_update", "params": ["1", "4", "'serial'"],
                "alone": false, "replicas": [[r1 samples...], [r2 samples...]],
                "medians": [0.0123, 0.0125], "spread": 0.016, "seats": [[0, 1, 0, 3, 40], ...]}],
     "design": {"seed": 1234, "blocks": 4}, "load": {"foreign": 0.01, ...}, "round_load": [...]}

``spread`` is ``|logger.info(median_1 / median_2)|``; ``alone`` marks cells that need
both cores and so ran one replica after the other. ``seats`` gives, per round,
``[round, core of replica 1, replica started first, position, cells in the round]``
(:class:`~mlupdate.bench.runner.lockstep.Seat`); ``design`` the seed they were drawn from;
``load`` the other load on the two cores over the run
(:class:`~mlupdate.bench.runner.load.CoreLoad`), ``round_load`` per round.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np

from ...errors import first_line
from ..results.asv_results import read_replicas, replica_path
from ..results.counts import RecordedCounts, collect, write_counts
from ..results.paired_results import keep_paired
from .asv_side import (
    Cell,
    SideError,
    SideResults,
    asv_conf,
    create_env,
    discover_cells,
    export_package,
    install,
    open_spawner,
    results_of,
)
from .design import Design
from .duet import duet_cores
from .lockstep import Lockstep, Side, run_lockstep

logger = logging.getLogger(__name__)

__all__ = ["PAIRED", "QUICK", "WARM_BELOW", "open_sides", "read_replicas", "replica_path", "run_replicas", "save_sides"]

#: asv_runner attributes of a quick run: one sample per cell and round, no warm-up.
QUICK = {"number": 1, "repeat": 1, "warmup_time": 0}
#: asv_runner attributes of a compare's rounds: one untimed call, then one timed sample per cell and
#: round. A paired log ratio scatters mostly from process to process: more samples in a round
#: barely narrow its interval, more rounds do (``tools/measure_compare.py`` on a README-only pair:
#: the suite's own sampling took 10-15 min and 8-10 rounds of 1.6 min). But the first call in a
#: freshly forked process pays for the pages it copies and the code it loads: in two compares of
#: the same pair an hour apart, a cold sample of the 1x1 update took 35 ms and a warm one 15 ms,
#: and short cells' per-round log ratios scattered by 0.1-0.35 cold against 0.03-0.25 warm. Cold
#: samples gave 0.9 min rounds and a 99% serial level interval 0.13 wide after 7 rounds; one call
#: first, 1.2 min rounds and 0.05 wide after 6. ``warmup_time`` is asv's: its warm-up loop makes at least one call, and a
#: positive time this short stops it there.
PAIRED = {**QUICK, "warmup_time": 1e-6}
#: Seconds a cell's first round must take for compare's later rounds to skip its untimed call
#: (:func:`~mlupdate.bench.runner.lockstep.run_lockstep`'s ``warm_below``).
WARM_BELOW = 0.25


def _step(what: str, func, *args, **kwargs):
    """``func(*args, **kwargs)``, its failure a :class:`SideError` that names ``what``."""
    from asv.util import ProcessError, UserError

    try:
        return func(*args, **kwargs)
    except (ProcessError, UserError, RuntimeError, OSError) as exc:
        cause = first_line(str(exc), last=True) or type(exc).__name__
        raise SideError(f"{what} failed: {cause}") from exc


#: The two commits' environment folders, beside the config's ``env_dir`` and of equal length,
#: so that neither side's paths are longer (module paths, ``.pyc`` names, ``sys.path``).
SIDE_SUFFIXES = ("-a", "-b")


def _seed(template: Path, target: Path) -> None:
    """Start a side's environments as a copy of ``template`` (same matrix, so the same packages): a
    second instead of a minute of installs. The compiled ``__pycache__`` files come along, the same
    for both sides: Python names a code object loaded from a ``.pyc`` by the file it was loaded
    from, so they name each side's own paths, and a side that may not write bytecode
    (``PYTHONDONTWRITEBYTECODE``) does not compile scikit-learn again in every process. asv runs only
    ``python -m`` in them, which a copied virtualenv serves from its new place; asv then checks it
    and installs the commit."""
    if template.is_dir() and not target.exists():
        logger.info(f"seeding {target} from {template}")
        shutil.copytree(template, target, symlinks=True)


def _share_builds(env_dirs: Sequence[Path], commits: Sequence[str]) -> None:
    """Give each side the wheel the other side built of its commit (asv's build cache, one per
    environment): a nightly step's BASE was the HEAD of the step before, built in the other
    environment. The same wheel, not built twice; asv still installs it afresh."""
    for mine, other, commit in zip(env_dirs, reversed(env_dirs), commits, strict=True):
        for built in other.glob(f"*/asv-build-cache/{commit}.timestamp"):
            target = mine / built.parent.parent.name / "asv-build-cache"
            if target.parent.is_dir() and not (target / built.name).exists():
                target.mkdir(exist_ok=True)
                shutil.copytree(built.with_suffix(""), target / commit, dirs_exist_ok=True)
                shutil.copy2(built, target / built.name)  # asv's mark of a finished build, copied last


def _fresh_install(conf, env) -> None:
    """Make asv install the commit again even where it is installed already, so that both sides
    are installed the same way right before the rounds (an anchor's HEAD is already there)."""
    status = Path(conf.env_dir) / env.dir_name / "asv-install-status.json"
    status.unlink(missing_ok=True)


def _both(func: Callable[[int], object]) -> list:
    """``[func(0), func(1)]``, run at once in two threads (each waits on its own subprocesses);
    the first failure is raised once both have ended."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="side") as pool:
        futures = [pool.submit(func, i) for i in range(2)]
        wait(futures)
    return [f.result() for f in futures]


def _install_sides(project, conf, commits, paths, tmp, existing, labels, folders=(0, 1)) -> list:
    """Each side's environment with its commit installed (replicas of one commit: one, shared).

    Two commits get two environments built alike: both copied from the config's environment
    (created first where it does not exist), both installed afresh, then the disk synced, so
    that neither side's first round pays for the other's writes. ``folders``: the index in
    :data:`SIDE_SUFFIXES` of side 0's folder and of side 1's (:meth:`Design.folders`)."""
    if commits[0] == commits[1] or existing:
        env = _step(f"installing {commits[0][:8]}", install, conf, commits[0], existing=existing)
        if commits[0] == commits[1]:
            return [env, env]
        return [env, _step(f"installing {commits[1][:8]}", install, conf, commits[1], existing=existing)]
    if not all(Path(conf.env_dir + suffix).exists() for suffix in SIDE_SUFFIXES):
        logger.info(f"preparing {conf.env_dir}, the template of both sides' environments")
        _step("creating the environment", create_env, conf)

    def side(i: int):
        env_dir = Path(conf.env_dir + SIDE_SUFFIXES[folders[i]])
        side_conf = asv_conf(project, Path(tmp) / f"asv{i}.json", env_dir=env_dir, **paths)
        _seed(Path(conf.env_dir), env_dir)
        logger.info(f"side {labels[i]}: installing {commits[i][:8]} in {side_conf.env_dir}")
        prepare = functools.partial(_fresh_install, side_conf)
        return _step(f"installing {commits[i][:8]}", install, side_conf, commits[i], prepare=prepare)

    _share_builds([Path(conf.env_dir + SIDE_SUFFIXES[k]) for k in folders], commits)
    # both at once: the same work on each side at the same time (built alike), in half the wait
    envs = _both(side)
    os.sync()
    return envs


@contextlib.contextmanager
def open_sides(
    project: Path,
    commits: tuple[str, str],
    names: Sequence[str],
    *,
    results_dir: Path | None = None,
    existing: bool = False,
    labels: tuple[str, str] = ("A", "B"),
    only: Callable[[Cell], bool] | None = None,
    design: Design | None = None,
) -> Iterator[tuple[tuple[Side, Side], object, list, object]]:
    """Both sides ready to run: ``(sides, benchmarks, cells, conf)``; forkservers closed on exit.

    ``existing``: both sides in this Python (asv's ``existing`` environment, for a user's own
    fleet, whose estimators' packages live here); two commits then run each its own
    ``mlupdate`` (:func:`~mlupdate.bench.runner.asv_side.export_package`). ``only``: keep the cells it
    accepts. ``design``: the run's seats, whose :meth:`~Design.folders` draws each side's
    environment folder (side 0 in the first without one). Each side's ``restart(core)`` starts a fresh forkserver pinned to ``core``."""
    project = Path(project).resolve()
    with tempfile.TemporaryDirectory(prefix="mlupdate-sides-") as tmp:
        paths = {"results_dir": Path(results_dir).resolve()} if results_dir else {}
        conf = asv_conf(project, Path(tmp) / "asv.json", **paths)
        drawn = design.folders() if design is not None else (0, 1)
        envs = _install_sides(project, conf, commits, paths, tmp, existing, labels, drawn)
        benchmarks, cells = _step("discovering the suite", discover_cells, conf, envs[0], commits[0], names)
        cells = [c for c in cells if only is None or only(c)]
        sources = [None, None]
        if existing and commits[0] != commits[1]:
            sources = [export_package(project, c, Path(tmp) / f"side-{i}") for i, c in enumerate(commits)]
        spawners: list = []
        sides: tuple[Side, ...] = ()
        folders = [Path(tmp) / f"counts-{i}" for i in range(2)]
        try:
            # one after the other, from this thread: a forkserver dies with the thread that started it
            # (its parent-death signal), so a pool's thread cannot start one
            for env, source, folder in zip(envs, sources, folders, strict=True):
                folder.mkdir()
                spawners.append(
                    _step(
                        "starting asv's forkserver",
                        open_spawner,
                        env,
                        conf.benchmark_dir,
                        source,
                        counts_dir=folder,
                        scratch=Path(tmp),
                    )
                )
            sides = tuple(
                Side(
                    labels[i],
                    commits[i],
                    envs[i],
                    spawners[i],
                    restart=functools.partial(
                        _step,
                        "restarting asv's forkserver",
                        open_spawner,
                        envs[i],
                        conf.benchmark_dir,
                        sources[i],
                        counts_dir=folders[i],
                        scratch=Path(tmp),
                    ),
                    counts_dir=folders[i],
                )
                for i in range(2)
            )
            yield sides, benchmarks, cells, conf  # type: ignore[misc]
        finally:
            for spawner in [side.spawner for side in sides] if sides else spawners:
                spawner.close()


def save_sides(conf, benchmarks, sides: Sequence[Side], machine: str | None) -> list[Path]:
    """Write each side's asv result file (replicas of one commit: one file, both replicas' samples)."""
    from asv.results import get_filename

    groups: dict[str, SideResults] = {}
    envs = {}
    counted: dict[str, RecordedCounts] = {}
    for side in sides:
        groups[side.commit] = groups[side.commit].merged(side.results) if side.commit in groups else side.results
        envs[side.commit] = side.env
        if side.counts_dir is not None:
            found = collect(side.counts_dir, side.commit)
            counted[side.commit] = counted[side.commit].merged(found) if side.commit in counted else found
    paths = []
    for commit, merged in groups.items():
        result = results_of(conf, envs[commit], commit, benchmarks, merged, machine)
        result.save(conf.results_dir)
        paths.append(Path(conf.results_dir) / get_filename(result.params["machine"], commit, result.env_name))
        keep_paired(paths[-1])
        if commit in counted:
            write_counts(paths[-1], counted[commit])
    return paths


def _replica_doc(state: Lockstep, machine: str) -> dict:
    cells = []
    for cell in state.cells:
        reps = [state.sides[k].results.samples.get(cell) or state.sides[k].results.values.get(cell) for k in (0, 1)]
        if not all(reps):
            continue
        medians = [float(np.median(r)) for r in reps]
        spread = abs(math.log(medians[0] / medians[1])) if min(medians) > 0 else None
        cells.append(
            {
                "benchmark": cell.name,
                "params": list(cell.params),
                "alone": cell in state.alone,
                "replicas": reps,
                "medians": medians,
                "spread": spread,
                "seats": [seat.to_json() for seat in state.seats.get(cell, [])],
            }
        )
    total = state.total_load
    return {
        "version": 1,
        "commit": state.sides[0].commit,
        "machine": machine,
        "rounds": state.rounds,
        "seconds": state.seconds,
        "design": state.design.to_json() if state.design else None,
        "load": total.to_json() if total else None,
        "round_load": [load.to_json() for load in state.load],
        "cells": cells,
    }


def run_replicas(
    project: Path,
    commit: str,
    names: Sequence[str],
    *,
    machine: str | None = None,
    results_dir: Path | None = None,
    rounds: int | None = None,
    quick: bool = False,
    existing: bool = False,
    alone: Sequence[str] = (),
    only: Callable[[Cell], bool] | None = None,
) -> tuple[Path, Lockstep]:
    """Benchmark ``commit`` in two replicas side by side; its result file and the run's state.

    ``rounds`` defaults to each benchmark's own ``rounds`` (the largest of the cells
    run), so a replica runs what one ``asv run`` would, and the pair twice that.
    """
    with open_sides(
        project,
        (commit, commit),
        names,
        results_dir=results_dir,
        existing=existing,
        labels=("replica 1", "replica 2"),
        only=only,
    ) as (sides, benchmarks, cells, conf):
        want = rounds or max((int(benchmarks[c.name].get("rounds", 1)) for c in cells), default=1)
        if quick:
            want = 1

        def wanted(state: Lockstep) -> set:
            limit = {c: 1 if quick else rounds or benchmarks[c.name].get("rounds", 1) for c in cells}
            return {c for c in cells if state.rounds < limit[c] and not state.dropped(c)}

        def save(state: Lockstep) -> None:
            (path,) = save_sides(conf, benchmarks, sides, machine)
            replica_path(path).write_text(json.dumps(_replica_doc(state, path.parent.name)))

        logger.info(f"{len(cells)} cells of {commit[:8]} in two replicas, {want} round(s)")
        state = run_lockstep(
            sides,
            benchmarks,
            cells,
            cores=duet_cores(),
            wanted=wanted,
            save=save,
            alone=alone,
            alone_once=True,
            extra=QUICK if quick else None,
        )
        (path,) = save_sides(conf, benchmarks, sides, machine)
        replica_path(path).write_text(json.dumps(_replica_doc(state, path.parent.name)))
    return path, state
