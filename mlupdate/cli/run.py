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
#: The synthetic fleet's sizes: flag, default, what it is.
SYNTHETIC = (
    ("--batches", 16, "new batches n"),
    ("--rows", 1000, "rows per batch"),
    ("--history-rows", 10_000, "historical training rows"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the update loop on a synthetic fleet, or yours, and report what it did")
    p.add_argument(
        "--models",
        "-m",
        type=options.models,
        default=None,
        help="deployed models m (default 8), or a joblib file of your own: a list of estimators, "
        "one estimator, a dict of 'estimators' and 'preprocessor', or a fitted Fleet. Your models read your "
        "features through the file's 'preprocessor', else a plain StandardScaler (the synthetic fleet: "
        "StandardScaler + SplineTransformer)",
    )
    options.add_data_options(p, synthetic_features=True)
    synthetic = p.add_argument_group("the synthetic fleet (not with --data)")
    for flag, default, what in SYNTHETIC:
        short = ["-n"] if flag == "--batches" else []
        synthetic.add_argument(flag, *short, type=options.count, default=None, help=f"{what} (default {default})")
    synthetic.add_argument(
        "--drift", type=float, default=None, help="weight drift at the end of the stream (default 0)"
    )
    p.add_argument(
        "--estimators",
        choices=list(ESTIMATOR_KINDS),
        default=None,
        help="estimator mix of the synthetic fleet, or of your data without --models (default mixed)",
    )
    p.add_argument("--order", choices=ORDERS, default="model-major", help="loop order (default model-major)")
    p.add_argument("--strategy", choices=list(STRATEGIES), default="full", help="retrain strategy (default full)")
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="R^2 drop that triggers a refit, with --strategy triggered only (default 0.1)",
    )
    p.add_argument("--executor", choices=list(EXECUTORS), default="serial", help="executor (default serial)")
    p.add_argument(
        "--n-jobs",
        type=options.n_jobs,
        default=None,
        help="workers: joblib's, or fused's column shards (-1 = all cores; fused default 1)",
    )
    p.add_argument(
        "--backend",
        default=None,
        help="joblib backend: loky (default), threading, multiprocessing, dask; fused: loky (default) or dask",
    )
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
    if (args.n_jobs is not None or args.backend is not None) and args.executor not in ("joblib", "fused"):
        raise UsageError(f"--n-jobs/--backend apply to --executor joblib or fused, not {args.executor!r}")
    if args.scheduler is not None and args.backend != "dask":
        raise UsageError("--scheduler applies to --executor joblib --backend dask")
    params = {"n_jobs": args.n_jobs, "backend": args.backend, "scheduler": args.scheduler}
    return get_executor(args.executor, **{k: v for k, v in params.items() if v is not None})


def _value(args: argparse.Namespace, flag: str, default: Any) -> Any:
    value = getattr(args, flag.lstrip("-").replace("-", "_"))
    return default if value is None else value


def _synthetic(args: argparse.Namespace, strategy: Any) -> tuple[Fleet, Any, Any]:
    if args.targets is not None:
        raise UsageError("--targets names your data's columns: it goes with --data FILE")
    m = 8 if args.models is None else args.models
    for flag in ("--exclude", "--history-batches", "--validation-batches"):
        if _value(args, flag, None) is not None:
            raise UsageError(f"{flag} chooses from your data's columns and batches: it goes with --data FILE")
    sizes = {flag: _value(args, flag, default) for flag, default, _ in SYNTHETIC}
    task = SyntheticTask(
        n_targets=m,
        n_features=_feature_count(args.features),
        rows_per_batch=sizes["--rows"],
        history_rows=sizes["--history-rows"],
        drift=_value(args, "--drift", 0.0),
        seed=args.seed,
    )
    estimators = make_estimators(m, args.estimators or "mixed")
    check_estimators(strategy, estimators)  # refuse before deploying
    fleet = Fleet.deploy(task, estimators, progress=args.progress)
    return fleet, task.stream(sizes["--batches"]), task.holdout(sizes["--batches"])


def _own(args: argparse.Namespace, strategy: Any) -> tuple[Fleet, Any, Any]:
    if args.data is None:
        raise UsageError(f"--models {args.models}: a models file goes with --data FILE")
    models = args.models if isinstance(args.models, Path) else None
    if models is None and args.models is not None:
        raise UsageError("--models N is the synthetic fleet's size; with --data, give a models file or --estimators")
    if models is not None and args.estimators is not None:
        raise UsageError(f"--estimators {args.estimators} and --models {models}: the models file gives the estimators")
    given = [flag for flag, *_ in (*SYNTHETIC, ("--drift",)) if getattr(args, flag[2:].replace("-", "_")) is not None]
    if given:
        raise UsageError(f"{given[0]} sizes the synthetic fleet; with --data the sizes are your data's")
    kind = args.estimators or "mixed"
    fleet, data = own_fleet(
        args.data,
        models,
        args.targets,
        args.batch_column,
        lambda m: make_estimators(m, kind),
        progress=args.progress,
        strategy=strategy,
        select=_names("--features", args.features) if args.features else (),
        exclude=args.exclude or (),
        history_batches=args.history_batches or 1,
        validation_batches=args.validation_batches or 0,
    )
    return fleet, data.batches, data.holdout


def _feature_count(text: str | None) -> int:
    """``--features`` on the synthetic task: how many raw features (default 20)."""
    if text is None:
        return 20
    try:
        return options.count(text)
    except argparse.ArgumentTypeError:
        raise UsageError(
            f"--features {text!r}: on the synthetic task it is a number of features >= 1; "
            "column names go with --data FILE"
        ) from None


def _names(flag: str, text: str) -> list[str]:
    try:
        return options.names(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    executor = _executor(args)
    if args.threshold is not None and args.strategy != "triggered":
        raise UsageError(f"--threshold {args.threshold:g} applies to --strategy triggered, not {args.strategy!r}")
    strategy = (
        get_strategy(args.strategy, **({} if args.threshold is None else {"threshold": args.threshold}))
        if args.strategy == "triggered"
        else args.strategy
    )
    with executor.warming():  # the workers start while the fleet deploys
        own = args.data is not None or isinstance(args.models, Path)
        fleet, batches, holdout = _own(args, strategy) if own else _synthetic(args, strategy)
    report = update_fleet(
        fleet, batches, holdout, strategy=strategy, order=args.order, executor=executor, progress=args.progress
    )
    if args.data is not None:
        report.config.update(data=str(args.data), models=str(args.models) if isinstance(args.models, Path) else None)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report))
    for failure in report.failures:
        print(f"mlupdate: {failure}", file=sys.stderr)
    return EXIT_FAILURES if report.failures else 0
