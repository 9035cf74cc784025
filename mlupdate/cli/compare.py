"""``mlupdate compare BASE HEAD``: two commits benchmarked in alternating rounds, judged with intervals."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import options
from .render import render_comparison

__all__ = ["add_parser"]

EXIT_FAILED = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument(
        "--factor", type=options.factor, default=1.1, help="a ratio at or above this is a slowdown (default 1.1)"
    )
    p.add_argument(
        "--rounds", type=options.rounds, default=4, help="alternating rounds per commit (default 4: A B, B A, A B, B A)"
    )
    p.add_argument("--results", type=Path, default=None, help="asv results directory (default: the config's)")
    p.add_argument("--machine", default=None, help="asv machine name (default: this machine's)")
    p.add_argument("--quick", action="store_true", help="one sample per cell and round (smoke runs, tests)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the comparison as JSON")
    out.add_argument("--markdown", action="store_true", help="print Markdown tables (for CI job summaries)")
    p.add_argument("--project", type=Path, default=Path("."), help="project checkout (default .)")
    p.set_defaults(func=compare)


def compare(args: argparse.Namespace) -> int:
    from ..bench.compare import CompareError, benchmarks_to_compare, judge, resolve, run_rounds

    chosen = benchmarks_to_compare(args.project, args.bench, args.ci)
    base, head = resolve(args.base, args.project), resolve(args.head, args.project)
    options.progress(
        f"comparing {base[:8]} -> {head[:8]}: {len(chosen)} benchmark(s), {args.rounds} alternating rounds"
    )
    try:
        values = run_rounds(
            args.project, base, head, chosen, args.rounds,
            results_dir=args.results, machine=args.machine, quick=args.quick, log=options.progress,
        )  # fmt: skip
    except CompareError as exc:
        options.progress(f"compare failed: {exc}")  # the rounds already run stay in the results
        return EXIT_FAILED
    comparison = judge(values, args.factor)
    print(render_comparison(comparison, "json" if args.json else "markdown" if args.markdown else "text"))
    return EXIT_FAILED if comparison.failed else 0
