"""``mlupdate plan``: the exact operation counts of updates, and their predicted seconds."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..durations import format_seconds
from ..errors import UsageError
from ..plan import ORDERS, Plan
from ..strategies import STRATEGIES
from . import options
from .render import plan_table

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="print the operation counts of updates without running anything")
    p.add_argument(
        "sizes",
        nargs="*",
        type=options.size,
        default=options.SEED_SIZES,
        help="MxN sizes (default 10x10 100x100 1000x1000)",
    )
    p.add_argument(
        "--rows",
        type=options.count,
        default=None,
        help="rows per batch (default 1000; with --predict, the rows of the measured series that prices the plan)",
    )
    p.add_argument(
        "--history-rows",
        type=options.count,
        default=None,
        help="history rows (default 10000; with --predict, those of the measured series)",
    )
    p.add_argument("--order", choices=ORDERS, default="model-major", help="loop order (default model-major)")
    p.add_argument(
        "--strategy",
        choices=list(STRATEGIES),
        nargs="+",
        default=["full", "shared"],
        help="retrain strategies (default full shared)",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--predict", action="store_true", help="add predicted seconds, from the unit costs of the newest results"
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="plan your data's update instead: its models (--targets), new batches, rows and history "
        "(--batch-column, --history-batches as for `run`)",
    )
    p.add_argument("--targets", type=options.names, default=None, help="with --data: the target columns, a,b,c")
    p.add_argument("--batch-column", default="batch", help="with --data (default batch)")
    p.add_argument("--history-batches", type=options.count, default=1, metavar="K", help="with --data (default 1)")
    p.add_argument(
        "--fleet",
        default=None,
        metavar="ID",
        help="with --predict: the unit costs of a fleet registered by `mlupdate bench` (default: the "
        "suite's serial series of each strategy and order)",
    )
    p.add_argument("--results", type=Path, default=Path(".asv/results"), help="asv results (with --predict)")
    p.add_argument("--benchmarks", type=Path, default=Path("benchmarks"), help="the suite (with --predict)")
    p.set_defaults(func=plan)


def _predictions(plans: list[Plan], args: argparse.Namespace) -> list[dict | None]:
    from ..bench.scaling.predict import fleet_plans, predict_plans

    if args.fleet is not None:
        return fleet_plans(plans, args.fleet, args.results, args.benchmarks, warn=options.warn)
    return predict_plans(plans, _models(args), strict=True)


def _models(args: argparse.Namespace) -> list:
    from ..bench.scaling.predict import cost_models

    if getattr(args, "_models", None) is None:
        args._models = cost_models(args.results, benchmark_dir=args.benchmarks, warn=options.warn)
    return args._models


def _measured_rows(args: argparse.Namespace, strategy: str) -> tuple[int, int]:
    """Rows per batch and history rows of a plan: as given, or (``--predict`` on the suite's series)
    those of the measured series that prices it, so that its counts and its seconds are one workload."""
    rows, history = args.rows, args.history_rows
    if args.predict and args.fleet is None and args.data is None and (rows is None or history is None):
        w = next(
            (
                sc.model.workload
                for sc in _models(args)
                if (sc.model.workload.strategy, sc.model.workload.order, sc.model.workload.executor)
                == (strategy, args.order, "serial")
            ),
            None,
        )
        if w is not None:
            rows = w.rows_per_batch if rows is None else rows
            history = w.history_rows if history is None else history
    return (1000 if rows is None else rows), (10_000 if history is None else history)


def _plans(args: argparse.Namespace) -> list[Plan]:
    if args.data is None:
        if args.targets is not None:
            raise UsageError("--targets names your data's columns: it goes with --data FILE")
        return [Plan(m, n, *_measured_rows(args, s), args.order, s) for s in args.strategy for m, n in args.sizes]
    from ..datafiles import read_data

    data = read_data(args.data, args.targets or [], args.batch_column, history_batches=args.history_batches)
    m, n, rows = len(data.targets), len(data.batches), round(sum(len(x) for x, _ in data.batches) / len(data.batches))
    return [Plan(m, n, rows, len(data.history[0]), args.order, s) for s in args.strategy]


def plan(args: argparse.Namespace) -> int:
    if args.fleet is not None and not args.predict:
        raise UsageError("--fleet gives the unit costs of a prediction: it goes with --predict")
    plans = _plans(args)
    predicted = _predictions(plans, args) if args.predict else None
    if args.json:
        rows = [
            {"n_models": p.n_models, "n_batches": p.n_batches, "order": p.order, "strategy": p.strategy, **p.counts()}
            | ({} if predicted is None else {"predicted": predicted[i]})
            for i, p in enumerate(plans)
        ]
        print(json.dumps(rows, indent=2))
        return 0
    print(f"order {args.order}; a stage call is one preprocess-predict-evaluate visit of a (model, batch)")
    cells = None if predicted is None else [format_seconds(p["seconds"]) if p else "-" for p in predicted]
    print("\n".join(plan_table(plans, cells)))
    for series, w in sorted({(p["series"], p["workload"]) for p in predicted or [] if p}):
        print(f"predicted: unit costs of {series} ({w})")
    for note in sorted({p["note"] for p in predicted or [] if p and "note" in p}):
        print(f"note: {note}")
    unresolved = {(p["series"], tuple(p["not_resolved"])) for p in predicted or [] if p and "not_resolved" in p}
    for series, terms in sorted(unresolved):
        named = ", ".join("the fixed cost t0" if t == "t0" else f"the cost per {t}" for t in terms)
        print(f"note: {series} could not separate {named} from zero (not resolved): priced at its fit")
    return 0
