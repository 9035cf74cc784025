"""``mlupdate publish``: asv's site, the scaling report and offline assets, in one folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import options

__all__ = ["add_parser", "publish_site"]

EXIT_FAILED = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "publish", help="asv publish, the scaling report and offline assets: a site that needs no internet"
    )
    p.add_argument("--config", type=Path, default=Path("asv.conf.json"), help="asv config (default asv.conf.json)")
    p.add_argument(
        "--all-branches",
        action="store_true",
        help="the scaling page and cost tables read every branch's results (default: the config's branches, "
        "main, as asv's own pages)",
    )
    p.set_defaults(log_to_stdout=True, func=lambda args: publish_site(args.config, args.all_branches))


def publish_site(config: Path, all_branches: bool = False) -> int:
    """Publish the site of the project whose asv config is ``config``; the exit status."""
    from ..bench.site.publish import SiteError, publish_project

    try:
        page = publish_project(config, all_branches=all_branches)
    except SiteError as exc:
        options.error(str(exc))
        return EXIT_FAILED
    print(f"site: {page}")
    return 0
