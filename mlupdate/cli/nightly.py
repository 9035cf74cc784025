"""``mlupdate nightly``: benchmark new commits of main, keep the results on a branch, publish the site."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import options

__all__ = ["add_parser"]

EXIT_FAILED = 1


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
    p.set_defaults(func=nightly)


def nightly(args: argparse.Namespace) -> int:
    from ..bench.nightly import NightlyConfig, NightlyError, run_nightly
    from ..bench.site import SiteError

    cfg = NightlyConfig(
        project=args.project, remote=args.remote, out=args.out, branch=args.branch, machine=args.machine,
        work=args.work, max_commits=args.max_commits, bench=args.bench, quick=args.quick,
    )  # fmt: skip
    try:
        result = run_nightly(cfg, log=options.info)
    except (NightlyError, SiteError) as exc:  # git failures come as NightlyError
        options.progress(f"nightly failed: {exc}")
        options.progress(
            f"the previous site in {cfg.out} is untouched; results not yet pushed are kept in {cfg.work}/results"
        )
        return EXIT_FAILED
    print(
        f"nightly: {len(result.benchmarked)} commit(s) benchmarked, {result.commits_in_results} in {cfg.branch}"
        f" (pushed in {result.push_attempts} attempt(s))"
    )
    print(f"site: {result.site}")
    print(f"serve it: python -m http.server -d {cfg.out} -b 127.0.0.1 8080")
    return 0
