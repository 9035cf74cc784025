"""``mlupdate suite [COMMIT]``: one commit's suite in two replicas side by side, one core each.

What ``make bench`` runs. Twice the samples of one ``asv run`` in about its
time; the replicas' disagreement is the run's measured noise, stored beside
the results and shown on the scaling page. Exit 1 if a benchmark failed (its
cells are recorded as failed, as asv records them). A run whose cores carried other
work, or whose replicas disagreed beyond what the design expects, says so in one
line at its end and is marked noisy on the site; with ``--strict`` it exits 5.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import options
from .render import render_replicas

__all__ = ["add_parser"]

EXIT_FAILED = 1
EXIT_NOISY = 5


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "suite",
        help="benchmark one commit's suite in two replicas side by side (one core each); "
        "the results, and the replicas' spread as the run's noise",
    )
    p.add_argument("commit", nargs="?", default="HEAD", help="the commit to benchmark (default HEAD)")
    p.add_argument(
        "--bench", "-b", action="append", default=[], help="benchmark regex, as asv's -b (repeatable; default all)"
    )
    p.add_argument("--results", type=Path, default=None, help="asv results directory (default: the config's)")
    p.add_argument("--machine", default=None, help="asv machine name (default: this machine's)")
    p.add_argument("--quick", action="store_true", help="one sample per cell and replica (smoke runs, tests)")
    p.add_argument(
        "--rounds",
        type=options.count,
        default=None,
        help="rounds per replica (default: each benchmark's own rounds; 1: as many samples as one asv run "
        "takes, since the two replicas run at once)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 5 when the run was noisy (other load on its cores, steal time, or replicas that disagree)",
    )
    p.add_argument("--project", type=Path, default=Path("."), help="project checkout (default .)")
    p.set_defaults(func=suite)


def suite(args: argparse.Namespace) -> int:
    from ..bench.compare import benchmarks_to_compare, resolve
    from ..bench.results.asv_results import read_replicas
    from ..bench.runner.asv_side import SideError
    from ..bench.runner.duet import duet_cores
    from ..bench.runner.noise import run_noise
    from ..bench.runner.side_by_side import run_replicas

    chosen = benchmarks_to_compare(args.project, args.bench)
    commit = resolve(args.commit, args.project)
    duet_cores()
    try:
        path, state = run_replicas(
            args.project,
            commit,
            chosen.names,
            machine=args.machine,
            results_dir=args.results,
            quick=args.quick,
            rounds=args.rounds,
            only=lambda cell: chosen.wants(cell.label, cell.name),
        )
    except SideError as exc:
        options.error(f"{exc}; rounds already finished stay in the results")
        return EXIT_FAILED
    print(render_replicas(state, path))
    failed = state.failed
    if failed:
        options.error(f"{len(failed)} cell(s) failed and are recorded as failed: {', '.join(failed[:5])}")
        return EXIT_FAILED
    noisy = run_noise(read_replicas(path) or {})
    if noisy:
        options.warn(f"noisy run: {'; '.join(noisy)}; its results are marked noisy on the site")
        if args.strict:
            return EXIT_NOISY
    return 0
