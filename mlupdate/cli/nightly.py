"""``mlupdate nightly``: measure new commits of main as paired steps, keep them on a branch, publish the site.

Exit status: 0 when all went well and no step confirmed a change; 4 when one did (the
summary names each: for a job's alerts); 1 when a step of the night failed; 2 for bad input;
5, under ``--strict``, when a step was measured under other load on its cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import options

__all__ = ["add_parser"]

EXIT_FAILED = 1
EXIT_CHANGED = 4
EXIT_NOISY = 5


def add_parser(sub: argparse._SubParsersAction) -> None:
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
        "--max-commits",
        type=options.count,
        default=20,
        help="newest first-parent commits of main to consider (default 20)",
    )
    p.add_argument("--bench", action="append", default=[], help="asv --bench filter (repeatable; default all)")
    p.add_argument("--quick", action="store_true", help="asv --quick: one run per benchmark (smoke runs, tests)")
    p.add_argument(
        "--cells",
        action="append",
        default=[],
        metavar="REGEX",
        help="keep only cells whose label name(param, ...) matches (repeatable; default all)",
    )
    _add_measure_options(p)
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 5 when a step was measured under other load on its cores (and nothing else failed or changed)",
    )
    p.set_defaults(log_to_stdout=True, func=nightly)


def _add_measure_options(p: argparse.ArgumentParser) -> None:
    """How each step is measured and judged: threshold, budget, anchors, rounds, mode."""
    p.add_argument(
        "--threshold",
        type=options.percent,
        default=0.05,
        metavar="PCT",
        help="a step moved what changed by more than PCT percent (default 5)",
    )
    p.add_argument(
        "--budget",
        type=options.minutes,
        default=None,
        metavar="MINUTES",
        help="minutes the night may spend measuring; steps that do not fit are named (default: no limit)",
    )
    p.add_argument(
        "--anchor-every",
        type=options.count,
        default=None,
        metavar="K",
        help="pair every K-th commit of the history with its first commit too (default 4)",
    )
    p.add_argument(
        "--rounds",
        type=options.count,
        default=None,
        help="paired rounds every cell of a step gets first (default: each benchmark's own rounds); "
        "a series whose level is still undecided runs on, two rounds at a time, up to 6",
    )
    p.add_argument(
        "--mode",
        choices=("time", "both"),
        default="time",
        help="both: each step also counts its small single-threaded cells' instructions under valgrind; "
        "a count beyond 1%% is a change at its commit (default time)",
    )


def nightly(args: argparse.Namespace) -> int:
    from ..bench.nightly.job import NightlyConfig, NightlyError, run_nightly
    from ..bench.site.publish import SiteError
    from ..bench.suite.catalog import discover, select_cells

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
        cells=args.cells,
        threshold=args.threshold,
        budget=args.budget / 60 if args.budget else None,
        rounds=args.rounds,
        mode=args.mode,
        **({"anchor_every": args.anchor_every} if args.anchor_every else {}),
    )
    chosen = select_cells(args.project, discover(args.project), [*args.bench, *args.cells])  # bad patterns: exit 2
    if args.mode == "both":
        from ..bench.instructions.cells import check_counted
        from ..bench.instructions.hooks import valgrind

        valgrind()  # one line and exit 2 before the night starts
        check_counted(args.project, chosen.names, chosen.wants)
    try:
        result = run_nightly(cfg)
    except (NightlyError, SiteError) as exc:  # git failures come as NightlyError
        options.progress(f"nightly failed: {exc}")
        site = (
            f"the previous site in {cfg.out} is untouched" if cfg.out.exists() else f"no site was written to {cfg.out}"
        )
        options.progress(f"{site}; results not yet pushed are kept in {cfg.work}/results")
        return EXIT_FAILED
    print(
        f"nightly: {len(result.benchmarked)} commit(s) benchmarked, {len(result.steps)} step(s) and"
        f" {len(result.anchors)} anchor(s) stored, {result.commits_in_results} commit(s) in {cfg.branch}"
        f" (pushed in {result.push_attempts} attempt(s))"
    )
    for head, what in result.changes:
        print(f"confirmed change at {head[:8]}: {what}")
    for head, line in result.priced:
        print(f"priced at {head[:8]}: {line}")
    if result.unconfirmed:
        print(
            f"{len(result.unconfirmed)} move(s) not confirmed by their fresh rounds: "
            + ", ".join(f"{h[:8]} {w}" for h, w in result.unconfirmed)
        )
    if result.missing:
        print(f"missing steps (budget): {', '.join(c[:8] for c in result.missing)}")
    for head, why in result.noisy:
        options.warn(f"noisy step at {head[:8]}: {why}; marked noisy on the Steps page")
    print(f"site: {result.site}")
    print(f"serve it: python -m http.server -d {cfg.out} -b 127.0.0.1 8080")
    if result.changes:
        return EXIT_CHANGED
    return EXIT_NOISY if args.strict and result.noisy else 0
