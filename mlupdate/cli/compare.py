"""``mlupdate compare BASE HEAD``: two commits benchmarked side by side in rounds until every cell has a verdict.

``--mode instructions`` counts instead: each small single-threaded cell's instructions under valgrind,
once per side, judged as exact with a 1% band (same exit statuses; 2 when valgrind is missing).

Exit status: 0 when every series and every untimed cell is decided and none got
worse; 1 when a series' level or a time cell is ``slower``, an exponent grew, or an
exact count grew (a count is not noise: any change is the code's); 3
when nothing failed but a series (its level or an exponent) or an untimed cell is
still ``undecided`` (the rounds or the budget ran out); 2 for bad input; 5, under ``--strict``, when
nothing failed but other work shared the cores (the rounds were noisy).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from . import options
from .render import render_comparison

__all__ = ["add_parser"]

EXIT_FAILED = 1
EXIT_UNDECIDED = 3
EXIT_NOISY = 5


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="benchmark two commits side by side (one core each) in rounds until every cell has a verdict; "
        "ratios with intervals, exponents; exit 1 on a slowdown, 3 if cells stay undecided",
    )
    p.add_argument("base", nargs="?", help="base commit (hash, branch or tag)")
    p.add_argument("head", nargs="?", help="new commit")
    p.add_argument(
        "--fleet",
        nargs="+",
        default=[],
        metavar="ID",
        help="registered fleets (`mlupdate bench`): `--fleet A B` compares fleet A with fleet B on this checkout's "
        "commit; `--fleet ID BASE HEAD` compares one fleet across two commits",
    )
    p.add_argument(
        "--bench", "-b", action="append", default=[], help="benchmark regex, as asv's -b (repeatable; default all)"
    )
    p.add_argument("--ci", action="store_true", help="the pull-request gate's subset (added to any --bench)")
    p.add_argument(
        "--mode",
        choices=("time", "instructions"),
        default="time",
        help="time: paired rounds of wall time; instructions: each small single-threaded cell's instruction "
        "count under valgrind, once per side (exact, the same on any runner of a CPU family; default band 1%%)",
    )
    p.add_argument(
        "--factor",
        type=options.factor,
        default=None,
        help="a ratio at or above this is a slowdown (default 1.1; 1.01 with --mode instructions)",
    )
    p.add_argument(
        "--same-within",
        type=options.percent,
        default=None,
        metavar="PCT",
        help="a cell whose whole interval lies within +-PCT%% is `same` (default: the factor's, 10%% for 1.1)",
    )
    p.add_argument(
        "--rounds",
        type=options.rounds,
        default=4,
        metavar="N",
        help="rounds before the first verdict (default 4; the cores swap every round)",
    )
    p.add_argument("--max-rounds", type=options.count, default=12, help="stop after this many rounds (default 12)")
    p.add_argument(
        "--budget",
        type=options.minutes,
        default=None,
        metavar="MINUTES",
        help="start no round that would end past this many minutes (default: no limit but --max-rounds)",
    )
    _add_limits(p)
    p.set_defaults(func=compare)


def _add_limits(p: argparse.ArgumentParser) -> None:
    """Where results go, and how the output and the exit status are shaped."""
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="asv results directory (default: the config's; with --fleet, .asv/own/compared, so that the "
        "rounds never replace what `mlupdate bench` stored for the fleets)",
    )
    p.add_argument("--machine", default=None, help="asv machine name (default: this machine's)")
    sampling = p.add_mutually_exclusive_group()
    sampling.add_argument(
        "--quick", action="store_true", help="one sample per cell and round (the default; kept for scripts)"
    )
    sampling.add_argument(
        "--suite-sampling",
        action="store_true",
        help="each benchmark's own repeat, number and warm-up in every round (default: one sample per cell and "
        "round; rounds, not samples, narrow a paired interval)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the comparison as JSON")
    out.add_argument("--markdown", action="store_true", help="print Markdown tables (for CI job summaries)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 5 when nothing failed but other work shared the cores during the rounds",
    )
    p.add_argument("--project", type=Path, default=Path("."), help="project checkout (default .)")


def compare(args: argparse.Namespace) -> int:
    from ..bench.compare import CompareError, Stopping, benchmarks_to_compare, judge, run_rounds
    from ..bench.compare.rounds import check_project
    from ..bench.runner.duet import duet_cores

    if args.max_rounds < args.rounds:
        raise UsageError(f"--max-rounds {args.max_rounds} is below --rounds {args.rounds}")
    if args.mode == "instructions":
        return _compare_instructions(args)
    args.factor = args.factor or 1.1
    check_project(args.project)
    base, head = _sides(args)
    if args.fleet and args.results is None:
        # one asv result file per commit and environment: the rounds would rewrite the entry in which
        # `mlupdate bench` stored the fleet's own grid (cells the compare does not run included)
        args.results = args.project / ".asv" / "own" / "compared"
        options.progress(f"the fleets' rounds are stored in {args.results}")
    patterns = [*args.bench, *([r"own\.OwnFleetGrid\.(time|peakmem)_update"] if args.fleet else [])]
    chosen = benchmarks_to_compare(args.project, patterns, args.ci)
    duet_cores()  # two cores, or a clear error before anything is installed
    stopping = Stopping(args.factor, args.same_within, args.rounds, args.max_rounds, args.budget)
    options.progress(
        f"comparing {base[:8]} -> {head[:8]}: {len(chosen.names)} benchmark(s) side by side, "
        f"{args.rounds} to {args.max_rounds} rounds" + (f" within {args.budget / 60:g} min" if args.budget else "")
    )
    try:
        values = run_rounds(
            args.project,
            base,
            head,
            chosen.names,
            stopping,
            results_dir=args.results,
            machine=args.machine,
            quick=args.quick,
            suite_sampling=args.suite_sampling,
            fleets=args.fleet,
            cells=lambda cell: chosen.wants(cell.label, cell.name),
        )
    except CompareError as exc:
        options.progress(f"compare failed: {exc}")  # the rounds already run stay in the results
        return EXIT_FAILED
    comparison = judge(values, args.factor, args.same_within)
    print(render_comparison(comparison, "json" if args.json else "markdown" if args.markdown else "text"))
    if comparison.noisy:
        options.warn(f"noisy rounds: {'; '.join(comparison.noisy)}")
    if comparison.failed:
        return EXIT_FAILED
    if comparison.open:
        return EXIT_UNDECIDED
    return EXIT_NOISY if args.strict and comparison.noisy else 0


def _compare_instructions(args: argparse.Namespace) -> int:
    """``--mode instructions``: both commits' counted cells once each, judged as exact."""
    from ..bench.compare import benchmarks_to_compare, judge
    from ..bench.compare.rounds import check_project
    from ..bench.instructions.cells import check_counted
    from ..bench.instructions.compare import DEFAULT_FACTOR, count_commits
    from ..bench.instructions.hooks import valgrind

    if args.fleet:
        raise UsageError("--mode instructions compares two commits; --fleet runs in this Python, not counted")
    valgrind()  # one line and exit 2 before anything is installed
    factor = args.factor or DEFAULT_FACTOR
    check_project(args.project)
    base, head = _sides(args)
    if args.fleet and args.results is None:
        # one asv result file per commit and environment: the rounds would rewrite the entry in which
        # `mlupdate bench` stored the fleet's own grid (cells the compare does not run included)
        args.results = args.project / ".asv" / "own" / "compared"
        options.progress(f"the fleets' rounds are stored in {args.results}")
    chosen = benchmarks_to_compare(args.project, args.bench, args.ci)
    check_counted(args.project, chosen.names, chosen.wants)  # one line and exit 2 before any install
    options.progress(
        f"counting {base[:8]} -> {head[:8]}: {len(chosen.names)} benchmark(s), instructions under valgrind"
    )
    values = count_commits(
        args.project, base, head, chosen.names, cells=lambda cell: chosen.wants(cell.label, cell.name)
    )
    comparison = judge(values, factor, args.same_within)
    print(render_comparison(comparison, "json" if args.json else "markdown" if args.markdown else "text"))
    return EXIT_FAILED if comparison.failed else 0


def _sides(args: argparse.Namespace) -> tuple[str, str]:
    """BASE and HEAD as full hashes: the two commits given, or (``--fleet A B``) this checkout's commit twice."""
    from ..bench.compare import resolve
    from ..bench.own_fleets.registry import fleet_entries, project_commit, require_this_environment

    if len(args.fleet) > 2:
        raise UsageError(f"--fleet takes one fleet (with BASE HEAD) or two (A B), not {len(args.fleet)}")
    if len(args.fleet) == 2:
        if args.base or args.head:
            raise UsageError("--fleet A B compares two fleets on one commit: give no BASE HEAD")
        require_this_environment(fleet_entries(args.project, args.fleet))
        commit = project_commit(args.project.resolve(), shown=args.project)
        return commit, commit
    if not (args.base and args.head):
        raise UsageError("give BASE and HEAD (two commits), or --fleet A B (two fleets)")
    if args.fleet:
        require_this_environment(fleet_entries(args.project, args.fleet))
    return resolve(args.base, args.project), resolve(args.head, args.project)
