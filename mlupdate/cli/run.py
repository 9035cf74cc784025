"""``mlupdate run``: the update loop on a synthetic fleet, or on your own data and models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..datafiles import own_fleet
from ..errors import UsageError
from ..executors import EXECUTORS, get_executor
from ..fleet import ESTIMATOR_KINDS, Fleet, make_estimators
from ..loop import update_fleet
from ..plan import ORDERS
from ..strategies import STRATEGIES, check_estimators, get_strategy
from ..synthetic import SyntheticTask
from . import options
from .render import format_report

__all__ = ["add_parser"]

EXIT_FAILURES = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the update loop on a synthetic fleet, or yours, and report what it did")
    p.add_argument(
        "--models",
        "-m",
        type=options.models,
        default=None,
        help="deployed models m (default 8), or a joblib file of your own: a list of estimators, "
        "one estimator, a dict of 'estimators' and 'preprocessor', or a fitted Fleet",
    )
    options.add_data_options(p)
    p.add_argument("--batches", "-n", type=options.count, default=16, help="new batches n (default 16)")
    p.add_argument("--rows", type=options.count, default=1000, help="rows per batch (default 1000)")
    p.add_argument("--features", type=options.count, default=20, help="raw features (default 20)")
    p.add_argument(
        "--history-rows", type=options.count, default=10_000, help="historical training rows (default 10000)"
    )
    p.add_argument("--drift", type=float, default=0.0, help="weight drift at the end of the stream (default 0)")
    p.add_argument("--estimators", choices=list(ESTIMATOR_KINDS), default="mixed", help="estimator mix (default mixed)")
    p.add_argument("--order", choices=ORDERS, default="model-major")
    p.add_argument("--strategy", choices=list(STRATEGIES), default="full")
    p.add_argument("--threshold", type=float, default=0.1, help="R^2 drop that triggers a refit (strategy triggered)")
    p.add_argument("--executor", choices=list(EXECUTORS), default="serial")
    p.add_argument("--n-jobs", type=options.n_jobs, default=None, help="joblib workers (-1 = all cores)")
    p.add_argument("--backend", default=None, help="joblib backend: loky (default), threading, multiprocessing, dask")
    p.add_argument(
        "--scheduler",
        default=None,
        help="dask scheduler address tcp://HOST:PORT (--backend dask; default: a LocalCluster)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: on a TTY)",
    )
    p.set_defaults(func=run)


def _executor(args: argparse.Namespace) -> Any:
    if (args.n_jobs is not None or args.backend is not None) and args.executor != "joblib":
        raise UsageError(f"--n-jobs/--backend apply to --executor joblib, not {args.executor!r}")
    if args.scheduler is not None and args.backend != "dask":
        raise UsageError("--scheduler applies to --executor joblib --backend dask")
    params = {"n_jobs": args.n_jobs, "backend": args.backend, "scheduler": args.scheduler}
    return get_executor(args.executor, **{k: v for k, v in params.items() if v is not None})


def _synthetic(args: argparse.Namespace, strategy: Any) -> tuple[Fleet, Any, Any]:
    m = 8 if args.models is None else args.models
    task = SyntheticTask(
        n_targets=m,
        n_features=args.features,
        rows_per_batch=args.rows,
        history_rows=args.history_rows,
        drift=args.drift,
        seed=args.seed,
    )
    estimators = make_estimators(m, args.estimators)
    check_estimators(strategy, estimators)  # refuse before deploying
    fleet = Fleet.deploy(task, estimators, progress=args.progress)
    return fleet, task.stream(args.batches), task.holdout(args.batches)


def _own(args: argparse.Namespace) -> tuple[Fleet, Any, Any]:
    if args.data is None:
        raise UsageError(f"--models {args.models}: a models file goes with --data FILE")
    models = args.models if isinstance(args.models, Path) else None
    if models is None and args.models is not None:
        raise UsageError("--models N is the synthetic fleet's size; with --data, give a models file or --estimators")
    kind = args.estimators
    fleet, data = own_fleet(
        args.data, models, args.targets, args.batch_column, lambda m: make_estimators(m, kind), progress=args.progress
    )
    return fleet, data.batches, data.holdout


def run(args: argparse.Namespace) -> int:
    executor = _executor(args)
    strategy = get_strategy(args.strategy, threshold=args.threshold) if args.strategy == "triggered" else args.strategy
    with executor.warming():  # the workers start while the fleet deploys
        own = args.data is not None or isinstance(args.models, Path)
        fleet, batches, holdout = _own(args) if own else _synthetic(args, strategy)
    report = update_fleet(
        fleet, batches, holdout, strategy=strategy, order=args.order, executor=executor, progress=args.progress
    )
    if args.data is not None:
        report.config.update(data=str(args.data), models=str(args.models) if isinstance(args.models, Path) else None)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report))
    for failure in report.failures:
        print(f"mlupdate: {failure}", file=sys.stderr)
    return EXIT_FAILURES if report.failures else 0
