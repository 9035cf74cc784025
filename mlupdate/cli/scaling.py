"""``mlupdate scaling report | compare | predict``: exponents and unit costs from asv results."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from ..errors import UsageError
from ..strategies import STRATEGIES
from . import options
from .render import delta_table, exponent_lines, prediction_table

__all__ = ["add_parser"]

EXIT_GREW = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scaling", help="scaling exponents per commit from asv results")
    ssub = p.add_subparsers(dest="scaling_command", required=True, parser_class=options.Parser)
    rep = ssub.add_parser("report", help="fit every commit's series; write JSON, plots and an HTML page")
    rep.add_argument("--results", type=Path, default=Path(".asv/results"), help="asv results directory")
    rep.add_argument("--out", type=Path, default=Path(".asv/html/scaling"), help="output directory")
    rep.add_argument("--boot", type=options.count, default=200, help="bootstrap refits per series (default 200)")
    rep.add_argument(
        "--benchmarks", type=Path, default=Path("benchmarks"), help="the suite (its workloads give the counts)"
    )
    rep.set_defaults(func=report)
    cmp_ = ssub.add_parser("compare", help="exponents of commit A vs B; exit 1 if one grew significantly")
    cmp_.add_argument("a", help="base commit (hash, prefix, branch or tag)")
    cmp_.add_argument("b", help="new commit")
    cmp_.add_argument("--results", type=Path, default=Path(".asv/results"))
    cmp_.add_argument("--boot", type=options.count, default=200)
    cmp_.add_argument("--markdown", action="store_true", help="print a Markdown table (for CI job summaries)")
    cmp_.set_defaults(func=compare)
    pred = ssub.add_parser("predict", help="seconds of each series' workload at MxN sizes, from fitted unit costs")
    pred.add_argument(
        "sizes",
        nargs="*",
        type=options.size,
        default=options.SEED_SIZES,
        help="MxN sizes (default 10x10 100x100 1000x1000)",
    )
    pred.add_argument(
        "--series", default=None, help="regex over series names (default: every series that can be fitted)"
    )
    pred.add_argument("--results", type=Path, default=Path(".asv/results"))
    pred.add_argument("--commit", default=None, help="commit whose results to use (default: the newest)")
    pred.add_argument(
        "--benchmarks", type=Path, default=Path("benchmarks"), help="the suite (its workloads give the counts)"
    )
    pred.add_argument(
        "--fleet",
        default=None,
        metavar="ID",
        help="a fleet registered by `mlupdate bench`: predict its own series (own.OwnFleetGrid)",
    )
    pred.add_argument(
        "--strategy",
        action="append",
        default=[],
        choices=list(STRATEGIES),
        dest="strategies",
        help="also predict these strategies' plans on the same unit costs (repeatable)",
    )
    pred.add_argument("--json", action="store_true")
    pred.set_defaults(func=predict)


def report(args: argparse.Namespace) -> int:
    from ..bench.scaling.exponents import fit_all
    from ..bench.site.scaling_page import write_report
    from ..bench.site.scaling_sections import page_banner, page_sections

    fits = fit_all(args.results, warn=options.warn, n_boot=args.boot)
    if not fits:
        raise UsageError(f"no usable results in {args.results}: nothing to fit")
    page = write_report(
        fits, args.out, page_sections(args.results, args.benchmarks, options.warn), page_banner(args.results)
    )
    print("\n".join(exponent_lines(fits)))
    print(f"scaling report: {page}")
    return 0


def compare(args: argparse.Namespace) -> int:
    from ..bench.scaling.exponents import MIN_GROWTH, exponent_deltas, fit_all

    deltas = exponent_deltas(fit_all(args.results, warn=options.warn, n_boot=args.boot), args.a, args.b)
    if not deltas:
        raise UsageError(f"commits {args.a!r} and {args.b!r} share no fitted series")
    print("\n".join(delta_table(deltas, args.markdown)))
    grew = [d for d in deltas if d.grew]
    if grew:
        print(f"mlupdate: {len(grew)} exponent(s) grew: the whole interval above +{MIN_GROWTH}", file=sys.stderr)
        return EXIT_GREW
    return 0


def predict(args: argparse.Namespace) -> int:
    from ..bench.own_fleets.registry import fleet_entries
    from ..bench.scaling.predict import cost_models, predictions

    pattern = args.series
    if args.fleet is not None:
        if args.series is not None:
            raise UsageError("--fleet and --series both choose the series: give one")
        fleet_entries(args.benchmarks.resolve().parent, [args.fleet])  # a clear line for an unknown fleet
        pattern = "^" + re.escape(f"own.OwnFleetGrid.time_update(fleet={args.fleet})") + "$"
    try:
        models = cost_models(
            args.results, commit=args.commit, pattern=pattern, benchmark_dir=args.benchmarks, warn=options.warn
        )
    except UsageError as exc:
        if args.fleet is None:
            raise
        raise UsageError(
            f"--fleet {args.fleet}: no prediction ({exc}); measure it with `mlupdate bench` on a grid of enough sizes"
        ) from None
    if not models:
        raise UsageError(f"no series in {args.results} can be fitted")
    rows = predictions(models, args.sizes, args.strategies)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("predicted seconds [95% interval], each series from the newest commit that measured it:")
    print("\n".join(prediction_table(rows, [f"{m}x{n}" for m, n in args.sizes])))
    for sc in models:
        print(f"{sc.model.series}: {sc.model.describe()}")
    for r in rows:
        if r.get("saves") is not None:
            least = "at least " if r.get("upper_bound") else ""
            print(f"{r['series']} at {r['size']}: saves {least}{r['saves']:.0%} against {r['against']}")
    return 0
