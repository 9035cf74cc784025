"""Command line: ``mlupdate run | plan | ...``.

Errors a user can cause print one line on stderr and exit with status 2;
a run in which some models failed prints them and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .data import SyntheticTask
from .datafile import own_fleet
from .errors import ExecutorError
from .executors import EXECUTORS, get_executor
from .fleet import ESTIMATOR_KINDS, Fleet, make_estimators
from .loop import update_fleet
from .plan import ORDERS, Plan
from .strategies import STRATEGIES, get_strategy
from .tables import format_report, plan_table, prediction_table, seconds, table

__all__ = ["main"]

EXIT_FAILURES = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        raise UsageError(message)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 is not allowed; use -1 (all cores), -k (all but k-1) or k >= 1")
    return value


def _models(text: str) -> int | Path:
    """``--models``: a count of synthetic models, or a joblib file of your own."""
    return _count(text) if text.strip().lstrip("+-").isdigit() else Path(text)


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not MxN (e.g. 10x10)")
    return _count(parts[0]), _count(parts[1])


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the update loop on a synthetic fleet, or yours, and report what it did")
    p.add_argument(
        "--models",
        "-m",
        type=_models,
        default=None,
        help="deployed models m (default 8), or a joblib file of your own: a list of estimators, "
        "one estimator, a dict of 'estimators' and 'preprocessor', or a fitted Fleet",
    )
    _add_data_options(p)
    p.add_argument("--batches", "-n", type=_count, default=16, help="new batches n (default 16)")
    p.add_argument("--rows", type=_count, default=1000, help="rows per batch (default 1000)")
    p.add_argument("--features", type=_count, default=20, help="raw features (default 20)")
    p.add_argument("--history-rows", type=_count, default=10_000, help="historical training rows (default 10000)")
    p.add_argument("--drift", type=float, default=0.0, help="weight drift at the end of the stream (default 0)")
    p.add_argument("--estimators", choices=list(ESTIMATOR_KINDS), default="mixed", help="estimator mix (default mixed)")
    p.add_argument("--order", choices=ORDERS, default="model-major")
    p.add_argument("--strategy", choices=list(STRATEGIES), default="full")
    p.add_argument("--threshold", type=float, default=0.1, help="R^2 drop that triggers a refit (strategy triggered)")
    p.add_argument("--executor", choices=list(EXECUTORS), default="serial")
    p.add_argument("--n-jobs", type=_n_jobs, default=None, help="joblib workers (-1 = all cores)")
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
    p.set_defaults(func=_cmd_run)


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="your data: a CSV or Parquet file with a batch column, or a directory of one file per batch; "
        "in batch order the first is the history, the last the holdout, the rest the new batches "
        "(the synthetic-task options are then unused)",
    )
    p.add_argument("--targets", type=_names, default=None, help="target columns, one per model: a,b,c")
    p.add_argument("--batch-column", default="batch", help="the column that numbers the batches (default batch)")


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no columns; give them as a,b,c")
    return names


def _synthetic(args: argparse.Namespace, strategy) -> tuple[Fleet, Any, Any]:
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
    get_strategy(strategy).check(_FleetShape(estimators))  # refuse before deploying
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


def _cmd_run(args: argparse.Namespace) -> int:
    if (args.n_jobs is not None or args.backend is not None) and args.executor != "joblib":
        raise UsageError(f"--n-jobs/--backend apply to --executor joblib, not {args.executor!r}")
    if args.scheduler is not None and args.backend != "dask":
        raise UsageError("--scheduler applies to --executor joblib --backend dask")
    executor = args.executor
    if args.executor == "joblib":
        params = {"n_jobs": args.n_jobs, "backend": args.backend, "scheduler": args.scheduler}
        executor = get_executor("joblib", **{k: v for k, v in params.items() if v is not None})
    strategy = get_strategy(args.strategy, threshold=args.threshold) if args.strategy == "triggered" else args.strategy
    with _pool_started(executor):  # the workers start while the fleet deploys
        fleet, batches, holdout = (
            _own(args) if args.data or isinstance(args.models, Path) else _synthetic(args, strategy)
        )
    report = update_fleet(
        fleet, batches, holdout, strategy=strategy, order=args.order, executor=executor, progress=args.progress
    )
    if args.data is not None:
        report.config.update(data=str(args.data), models=str(args.models) if isinstance(args.models, Path) else None)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_report(report))
    if report.failures:
        for failure in report.failures:
            print(f"mlupdate: {failure}", file=sys.stderr)
        return EXIT_FAILURES
    return 0


@contextmanager
def _pool_started(executor: object) -> Iterator[None]:
    """Start loky's workers in a thread during the block: its pool outlives the warm-up and serves the run."""
    if getattr(executor, "backend", None) != "loky":
        yield
        return
    thread = threading.Thread(target=executor.warm_up, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


class _FleetShape:
    """Just enough of a Fleet for ``RetrainStrategy.check`` before fitting."""

    def __init__(self, estimators: Sequence[object]) -> None:
        from .fleet import DeployedModel

        self.models = [DeployedModel(i, e, float("nan")) for i, e in enumerate(estimators)]
        self.n_models = len(self.models)


def _add_plan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="print the operation counts of updates without running anything")
    p.add_argument(
        "sizes",
        nargs="*",
        type=_size,
        default=[(10, 10), (100, 100), (1000, 1000)],
        help="MxN sizes (default 10x10 100x100 1000x1000)",
    )
    p.add_argument("--rows", type=_count, default=1000)
    p.add_argument("--history-rows", type=_count, default=10_000)
    p.add_argument("--order", choices=ORDERS, default="model-major")
    p.add_argument("--strategy", choices=list(STRATEGIES), nargs="+", default=["full", "shared"])
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--predict", action="store_true", help="add predicted seconds, from the unit costs of the newest results"
    )
    p.add_argument("--results", type=Path, default=Path(".asv/results"), help="asv results (with --predict)")
    p.add_argument("--benchmarks", type=Path, default=Path("benchmarks"), help="the suite (with --predict)")
    p.set_defaults(func=_cmd_plan)


def _cmd_plan(args: argparse.Namespace) -> int:
    plans = [Plan(m, n, args.rows, args.history_rows, args.order, s) for s in args.strategy for (m, n) in args.sizes]
    predicted = _plan_predictions(plans, args) if args.predict else None
    if args.json:
        rows = []
        for i, p in enumerate(plans):
            row = {
                "n_models": p.n_models,
                "n_batches": p.n_batches,
                "order": p.order,
                "strategy": p.strategy,
                **p.counts(),
            }
            if predicted is not None:
                row["predicted"] = predicted[i]
            rows.append(row)
        print(json.dumps(rows, indent=2))
        return 0
    print(f"order {args.order}; a stage call is one preprocess-predict-evaluate visit of a (model, batch)")
    cells = None if predicted is None else [seconds(p["seconds"]) if p else "-" for p in predicted]
    print("\n".join(plan_table(plans, cells)))
    for series, w in sorted({(p["series"], p["workload"]) for p in predicted or [] if p}):
        print(f"predicted: unit costs of {series} ({w})")
    return 0


def _plan_predictions(plans: list[Plan], args: argparse.Namespace) -> list[dict | None]:
    """Per plan, the seconds of the newest serial series with its strategy and order (or None)."""
    from .scaling.predict import cost_models

    models = cost_models(args.results, benchmark_dir=args.benchmarks, warn=_warn)
    out: list[dict | None] = []
    for plan in plans:
        match = next(
            (sc for sc in models if (sc.model.workload.strategy, sc.model.workload.order, sc.model.workload.executor)
             == (plan.strategy, plan.order, "serial")),
            None,
        )  # fmt: skip
        if match is None:
            out.append(None)
            continue
        w = match.model.workload
        point, low, high = match.model.predict(plan.n_models, plan.n_batches)
        about = f"{w.estimators} fleet, {w.rows_per_batch} rows per batch, {w.history_rows} history rows"
        out.append({"series": match.model.series, "workload": about, "seconds": point, "low": low, "high": high})
    return out


def _add_scaling(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scaling", help="scaling exponents per commit from asv results")
    ssub = p.add_subparsers(dest="scaling_command", required=True, parser_class=_Parser)
    rep = ssub.add_parser("report", help="fit every commit's series; write JSON, plots and an HTML page")
    rep.add_argument("--results", type=Path, default=Path(".asv/results"), help="asv results directory")
    rep.add_argument("--out", type=Path, default=Path(".asv/html/scaling"), help="output directory")
    rep.add_argument("--boot", type=_count, default=200, help="bootstrap refits per series (default 200)")
    rep.add_argument(
        "--benchmarks", type=Path, default=Path("benchmarks"), help="the suite (its workloads give the counts)"
    )
    rep.set_defaults(func=_cmd_scaling_report)
    cmp_ = ssub.add_parser("compare", help="exponents of commit A vs B; exit 1 if one grew significantly")
    cmp_.add_argument("a", help="base commit (hash, prefix, branch or tag)")
    cmp_.add_argument("b", help="new commit")
    cmp_.add_argument("--results", type=Path, default=Path(".asv/results"))
    cmp_.add_argument("--boot", type=_count, default=200)
    cmp_.add_argument("--markdown", action="store_true", help="print a Markdown table (for CI job summaries)")
    cmp_.set_defaults(func=_cmd_scaling_compare)
    pred = ssub.add_parser("predict", help="seconds of each series' workload at MxN sizes, from fitted unit costs")
    pred.add_argument(
        "sizes", nargs="*", type=_size, default=[(10, 10), (100, 100), (1000, 1000)],
        help="MxN sizes (default 10x10 100x100 1000x1000)",
    )  # fmt: skip
    pred.add_argument(
        "--series", default=None, help="regex over series names (default: every series that can be fitted)"
    )
    pred.add_argument("--results", type=Path, default=Path(".asv/results"))
    pred.add_argument("--commit", default=None, help="commit whose results to use (default: the newest)")
    pred.add_argument(
        "--benchmarks", type=Path, default=Path("benchmarks"), help="the suite (its workloads give the counts)"
    )
    pred.add_argument("--json", action="store_true")
    pred.set_defaults(func=_cmd_scaling_predict)


def _warn(message: str) -> None:
    print(f"mlupdate: warning: {message}", file=sys.stderr)


def _cmd_scaling_report(args: argparse.Namespace) -> int:
    from .scaling.report import fit_all, write_report
    from .scaling.sections import page_sections

    fits = fit_all(args.results, warn=_warn, n_boot=args.boot)
    if not fits:
        raise UsageError(f"no usable results in {args.results}: nothing to fit")
    page = write_report(fits, args.out, page_sections(args.results, args.benchmarks, _warn))
    print(f"{'commit':<10}{'series':<58}exponents [95% interval]")
    for f in fits:
        print(f"{f.series.commit[:8]:<10}{f.series.key[:57]:<58}{f.describe()}")
    print(f"scaling report: {page}")
    return 0


def _cmd_scaling_compare(args: argparse.Namespace) -> int:
    from .scaling.report import MIN_GROWTH, compare, fit_all

    fits = fit_all(args.results, warn=_warn, n_boot=args.boot)
    deltas = compare(fits, args.a, args.b)
    if not deltas:
        raise UsageError(f"commits {args.a!r} and {args.b!r} share no fitted series")
    rows = [
        [
            d.series,
            d.exponent,
            f"{d.a:.3f}",
            f"{d.b:.3f}",
            f"{d.delta:+.3f}",
            f"[{d.lo:+.3f}, {d.hi:+.3f}]",
            "GREW" if d.grew else "ok",
        ]
        for d in deltas
    ]
    print("\n".join(table(["series", "exp", "A", "B", "delta", "95% interval", "verdict"], rows, args.markdown)))
    grew = [d for d in deltas if d.grew]
    if grew:
        print(
            f"mlupdate: {len(grew)} exponent(s) grew by >= {MIN_GROWTH} with an interval excluding 0", file=sys.stderr
        )
        return EXIT_FAILURES
    return 0


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 1") from None
    if not value > 1 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 1 (e.g. 1.1: 10% slower)")
    return value


def _rounds(text: str) -> int:
    value = _count(text)
    if value < 3:
        raise argparse.ArgumentTypeError(f"{text!r} rounds are too few to pair; use 3 or more (default 4)")
    return value


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="benchmark two commits in alternating rounds; ratios with intervals, exponents; exit 1 on a slowdown",
    )
    p.add_argument("base", help="base commit (hash, branch or tag)")
    p.add_argument("head", help="new commit")
    p.add_argument(
        "--bench", "-b", action="append", default=[], help="benchmark regex, as asv's -b (repeatable; default all)"
    )
    p.add_argument("--ci", action="store_true", help="the pull-request gate's subset (added to any --bench)")
    p.add_argument("--factor", type=_factor, default=1.1, help="a ratio at or above this is a slowdown (default 1.1)")
    p.add_argument(
        "--rounds", type=_rounds, default=4, help="alternating rounds per commit (default 4: A B, B A, A B, B A)"
    )
    p.add_argument("--results", type=Path, default=None, help="asv results directory (default: the config's)")
    p.add_argument("--machine", default=None, help="asv machine name (default: this machine's)")
    p.add_argument("--quick", action="store_true", help="one sample per cell and round (smoke runs, tests)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the comparison as JSON")
    out.add_argument("--markdown", action="store_true", help="print Markdown tables (for CI job summaries)")
    p.add_argument("--project", type=Path, default=Path("."), help="project checkout (default .)")
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import SENTINEL, CompareError, discover, judge, resolve, run_rounds, select
    from .compare.render import render
    from .compare.rounds import CI_BENCHMARKS

    if not (args.project / "asv.conf.json").is_file():
        raise UsageError(f"{args.project} has no asv.conf.json: run from the project root or pass --project")
    base, head = resolve(args.base, args.project), resolve(args.head, args.project)
    names = discover(args.project)
    patterns = [*args.bench, *(CI_BENCHMARKS if args.ci else ())]
    chosen = select(names, patterns) if patterns else names
    if not chosen:
        raise UsageError(f"no benchmark matched {' or '.join(map(repr, args.bench))}; {len(names)} benchmarks exist")
    chosen = sorted(set(chosen) | set(select(names, [SENTINEL])))
    _progress(f"comparing {base[:8]} -> {head[:8]}: {len(chosen)} benchmark(s), {args.rounds} alternating rounds")
    try:
        values = run_rounds(
            args.project, base, head, chosen, args.rounds,
            results_dir=args.results, machine=args.machine, quick=args.quick, log=_progress,
        )  # fmt: skip
    except CompareError as exc:
        print(f"mlupdate: compare failed: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    comparison = judge(values, args.factor)
    print(render(comparison, "json" if args.json else "markdown" if args.markdown else "text"))
    return EXIT_FAILURES if comparison.failed else 0


def _cmd_scaling_predict(args: argparse.Namespace) -> int:
    from .scaling.predict import cost_models

    models = cost_models(
        args.results, commit=args.commit, pattern=args.series, benchmark_dir=args.benchmarks, warn=_warn
    )
    if not models:
        raise UsageError(f"no series in {args.results} can be fitted")
    rows = []
    for sc in models:
        for m, n in args.sizes:
            seconds, low, high = sc.model.predict(m, n)
            rows.append({"series": sc.model.series, "size": f"{m}x{n}", "seconds": seconds, "low": low, "high": high})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("predicted seconds [95% interval], each series from the newest commit that measured it:")
    print("\n".join(prediction_table(rows, [f"{m}x{n}" for m, n in args.sizes])))
    for sc in models:
        print(f"{sc.model.series}: {sc.model.describe()}")
    return 0


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="measure your own fleet with the asv suite: time, peak memory and counts over an m x n grid, "
        "written as ordinary asv results and published with the site",
    )
    p.add_argument("--models", type=Path, default=None, help="a joblib file of your models (as for `run`)")
    p.add_argument(
        "--estimators", choices=list(ESTIMATOR_KINDS), default="mixed", help="without --models (default mixed)"
    )
    _add_data_options(p)
    p.add_argument(
        "--name", default=None, help="the fleet's name in the benchmark's id (default: the data file's stem)"
    )
    p.add_argument("--strategy", choices=list(STRATEGIES), default="full")
    p.add_argument("--order", choices=ORDERS, default="batch-major")
    p.add_argument("--executor", choices=list(EXECUTORS), default="serial")
    p.add_argument("--project", type=Path, default=Path("."), help="the mlupdate checkout (default .)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.set_defaults(func=_cmd_bench)


def _cmd_bench(args: argparse.Namespace) -> int:
    import subprocess

    from .ownbench import GRID_BATCHES, GRID_MODELS, register, run_bench

    project = args.project.resolve()
    if not (project / "asv.conf.json").is_file() or not (project / "benchmarks" / "own.py").is_file():
        raise UsageError(f"--project {args.project}: not an mlupdate checkout (no asv.conf.json and benchmarks/own.py)")
    if args.data is None:
        raise UsageError("--data FILE is required: the data to measure your fleet on")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True)
    if head.returncode != 0:
        raise UsageError(f"--project {args.project}: not a git checkout with a commit to record the results on")
    entry = register(
        project, args.data, args.models, args.targets, name=args.name, batch_column=args.batch_column,
        estimators=args.estimators, strategy=args.strategy, order=args.order, executor=args.executor,
        progress=args.progress,
    )  # fmt: skip
    _info(f"fleet {entry.id}: {entry.n_models} models, {entry.n_batches} batches, stored in .asv/own/{entry.bundle}")
    cells = sum(m <= entry.n_models for m in GRID_MODELS) * sum(n <= entry.n_batches for n in GRID_BATCHES)
    _info(f"measuring {cells} cells of own.OwnFleet (m in {GRID_MODELS}, n in {GRID_BATCHES}, up to the fleet's size)")
    try:
        run_bench(project, entry, head.stdout.strip(), _info)
    except RuntimeError as exc:
        print(f"mlupdate: error: {exc}; the fleet stays registered (.asv/own/fleets.json)", file=sys.stderr)
        return EXIT_FAILURES
    return _cmd_publish(argparse.Namespace(config=project / "asv.conf.json"))


def _add_publish(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "publish", help="asv publish, the scaling report and offline assets: a site that needs no internet"
    )
    p.add_argument("--config", type=Path, default=Path("asv.conf.json"), help="asv config (default asv.conf.json)")
    p.set_defaults(func=_cmd_publish)


def _cmd_publish(args: argparse.Namespace) -> int:
    from .asvconf import asv_command, read_asv_config
    from .site import SiteError, publish

    if not args.config.is_file():
        raise UsageError(f"{args.config} does not exist: run from the project root or pass --config")
    conf = read_asv_config(args.config)
    root = args.config.resolve().parent
    html = root / conf.get("html_dir", "html")
    try:
        page = publish(asv_command(), args.config, html, root / conf.get("results_dir", "results"), log=_info)
    except SiteError as exc:
        print(f"mlupdate: error: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    print(f"site: {page}")
    return 0


def _add_nightly(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "nightly", help="benchmark new commits of main, push results to a branch, publish the site atomically"
    )
    p.add_argument("--remote", default="origin", help="remote name or URL holding the results branch (default origin)")
    p.add_argument("--branch", default="asv-results", help="results branch (default asv-results)")
    p.add_argument("--machine", default="nightly", help="fixed asv machine name (default nightly)")
    p.add_argument(
        "--out", type=Path, default=Path("site"), help="site folder, replaced when all went well (default site)"
    )
    p.add_argument("--project", type=Path, default=Path("."), help="project checkout (default .)")
    p.add_argument("--work", type=Path, default=None, help="work folder (default PROJECT/.asv/nightly)")
    p.add_argument(
        "--max-commits", type=_count, default=20, help="newest first-parent commits of main to consider (default 20)"
    )
    p.add_argument("--bench", action="append", default=[], help="asv --bench filter (repeatable; default all)")
    p.add_argument("--quick", action="store_true", help="asv --quick: one run per benchmark (smoke runs, tests)")
    p.set_defaults(func=_cmd_nightly)


def _cmd_nightly(args: argparse.Namespace) -> int:
    from .nightly import NightlyConfig, NightlyError, run_nightly
    from .site import SiteError

    cfg = NightlyConfig(
        project=args.project,
        remote=args.remote,
        out=args.out,
        branch=args.branch,
        machine=args.machine,
        work=args.work,
        max_commits=args.max_commits,
        bench=args.bench,
        quick=args.quick,
    )
    try:
        result = run_nightly(cfg, log=_info)
    except (NightlyError, SiteError) as exc:
        print(f"mlupdate: nightly failed: {exc}", file=sys.stderr)
        print(
            f"mlupdate: the previous site in {cfg.out} is untouched; results not yet pushed are kept in {cfg.work}/results",
            file=sys.stderr,
        )
        return EXIT_FAILURES
    print(
        f"nightly: {len(result.benchmarked)} commit(s) benchmarked, {result.commits_in_results} in {cfg.branch}"
        f" (pushed in {result.push_attempts} attempt(s))"
    )
    print(f"site: {result.site}")
    print(f"serve it: python -m http.server -d {cfg.out} -b 127.0.0.1 8080")
    return 0


def _info(message: str) -> None:
    print(f"mlupdate: {message}", flush=True)


def _progress(message: str) -> None:
    """Progress of long work, on stderr: stdout carries the report (and JSON)."""
    print(f"mlupdate: {message}", file=sys.stderr, flush=True)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_run,
    _add_plan,
    _add_scaling,
    _add_compare,
    _add_bench,
    _add_publish,
    _add_nightly,
]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="mlupdate", description="What keeping a fleet of ML models fresh costs.")
    parser.add_argument("--version", action="version", version=f"mlupdate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (UsageError, ValueError, TypeError, ImportError) as exc:
        print(f"mlupdate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ExecutorError as exc:
        print(f"mlupdate: error: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    except KeyboardInterrupt:
        print("mlupdate: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
