r"""How far instruction counts of the same code move between counting servers, and why.

    python tools/measure_counts.py ENV_DIR BENCHMARK_DIR                  # 4 servers, 3 counts each
    python tools/measure_counts.py ENV_DIR BENCHMARK_DIR --servers 3 --hog  # a busy loop on the core

ENV_DIR is an asv environment with the package installed (``.asv/env/<hash>`` after a compare
``--mode instructions``), BENCHMARK_DIR the suite. Each server (:class:`CountServer`, pinned to
core 1, with the pins a compare uses) counts each ``--cell`` ``--repeat`` times, one forked child
per count. Printed: per server its counts, then the spread within a server (children of one
server: one heap layout) and between servers (a new server: the layout it happened to get).
``--hog`` runs a busy loop on the same core: counts that followed the wall clock would move.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlupdate.bench.instructions.hooks import build_hooks, valgrind
from mlupdate.bench.instructions.server import CountServer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("env_dir", type=Path)
    ap.add_argument("benchmark_dir", type=Path)
    ap.add_argument("--servers", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cell", action="append", default=None, help="asv cell id (default: the 1x1 update)")
    ap.add_argument("--hog", action="store_true", help="a busy loop on the counting core")
    args = ap.parse_args()
    cells = args.cell or ["growth.GrowthGrid.time_update-0"]
    hooks = build_hooks()
    hog = subprocess.Popen(["taskset", "-c", "1", "sh", "-c", "while :; do :; done"]) if args.hog else None
    found: dict[str, list[list[int]]] = {c: [] for c in cells}
    try:
        for s in range(args.servers):
            with tempfile.TemporaryDirectory(prefix="mlupdate-measure-counts-") as tmp:
                started = time.monotonic()
                python = str(args.env_dir / "bin" / "python")
                server = CountServer(
                    valgrind(), python, args.benchmark_dir, hooks, cells, Path(tmp), dict(os.environ), 1
                )
                try:
                    server.wait_ready()
                    for c in cells:
                        found[c].append([server.count(c) for _ in range(args.repeat)])
                finally:
                    server.close()
                print(f"server {s}: {[found[c][-1] for c in cells]} ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        if hog is not None:
            hog.kill()
    for c, runs in found.items():
        within = max((max(r) - min(r)) / min(r) for r in runs)
        firsts = [r[0] for r in runs]
        between = (max(firsts) - min(firsts)) / min(firsts)
        print(f"{c}: within a server {within:.4%}, between servers (first counts) {between:.4%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
