"""``mlupdate bench``: your own fleet measured by the asv suite, and published with the site."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..executors import EXECUTORS
from ..fleet import ESTIMATOR_KINDS
from ..plan import ORDERS
from ..strategies import STRATEGIES
from . import options
from .publish import publish_site
from .render import render_replicas

__all__ = ["add_parser"]

EXIT_FAILED = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="measure your own fleet with the asv suite: time, peak memory and counts over an m x n grid, "
        "written as ordinary asv results and published with the site",
    )
    p.add_argument("--models", type=Path, default=None, help="a joblib file of your models (as for `run`)")
    p.add_argument("--estimators", choices=list(ESTIMATOR_KINDS), default=None, help="without --models (default mixed)")
    options.add_data_options(p)
    p.add_argument(
        "--name", default=None, help="the fleet's name in the benchmark's id (default: the data file's stem)"
    )
    p.add_argument("--strategy", choices=list(STRATEGIES), default="full", help="retrain strategy (default full)")
    p.add_argument("--order", choices=ORDERS, default="batch-major", help="loop order (default batch-major)")
    p.add_argument("--executor", choices=list(EXECUTORS), default="serial", help="executor (default serial)")
    p.add_argument(
        "--sizes",
        type=options.grid,
        default=None,
        metavar="M1,M2,...xN1,N2,...",
        help="the models and batches to measure, e.g. 1,4,22x1,2,8 (default: 1, 2, 4, ... up to and "
        "including the fleet's own models and new batches)",
    )
    p.add_argument(
        "--bench",
        "-b",
        action="append",
        default=[],
        help="asv's -b regex over own.OwnFleetGrid's benchmarks and this fleet's cells name(params) "
        "(repeatable; default all)",
    )
    p.add_argument("--project", type=Path, default=Path("."), help="the mlupdate checkout (default .)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.set_defaults(func=bench)


def bench(args: argparse.Namespace) -> int:
    from ..bench.own_fleets.registry import grid_cells, own_selection, project_commit, register, run_bench
    from ..bench.suite.catalog import compile_patterns

    project = args.project.resolve()
    commit = project_commit(project, shown=args.project)
    if args.data is None:
        raise UsageError("--data FILE is required: the data to measure your fleet on")
    if args.models is not None and args.estimators is not None:
        raise UsageError(
            f"--estimators {args.estimators} and --models {args.models}: the models file gives the estimators"
        )
    compile_patterns(args.bench)  # a bad regex is one line and exit 2 before anything is stored
    entry = register(
        project,
        args.data,
        args.models,
        args.targets,
        name=args.name,
        batch_column=args.batch_column,
        estimators=args.estimators or "mixed",
        strategy=args.strategy,
        order=args.order,
        executor=args.executor,
        progress=args.progress,
        select=args.features or (),
        exclude=args.exclude or (),
        history_batches=args.history_batches or 1,
        sizes=args.sizes,
        validation_batches=args.validation_batches or 0,
    )
    options.info(
        f"fleet {entry.id}: {entry.n_models} models, {entry.n_batches} batches, stored in .asv/own/{entry.bundle}"
    )
    chosen = own_selection(entry, args.bench)  # a pattern that matches none of the fleet's cells: exit 2
    options.info(
        f"measuring {grid_cells(entry, chosen)} cells of own.OwnFleetGrid "
        f"({len(chosen.names)} benchmark(s); m in {entry.grid_models}, n in {entry.grid_batches})"
    )
    try:
        path, state = run_bench(project, entry, commit, chosen)
    except RuntimeError as exc:  # SideError too: an asv step failed
        options.error(f"{exc}; the fleet stays registered (.asv/own/fleets.json)")
        return EXIT_FAILED
    print(render_replicas(state, path))
    failed = state.failed
    if failed:
        options.error(f"{len(failed)} cell(s) failed: {', '.join(failed[:3])}; the fleet stays registered")
        return EXIT_FAILED
    return publish_site(project / "asv.conf.json")
