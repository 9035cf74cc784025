"""Time one strategy's update at sizes the suite never runs, in a side's own environment.

    python tools/time_sizes.py ENV_PYTHON BENCHMARKS_DIR full 2x128 4x64 1x256 [--repeat 3] [--core 1]

A held-out check of a cost model's extrapolation: ``ENV_PYTHON`` is the Python of the environment a
compare installed a commit in (``DIR/dev/.asv/env-a/<hash>/bin/python`` for BASE, ``env-b`` for
HEAD), so the commit's own ``mlupdate`` runs; ``BENCHMARKS_DIR`` is the suite whose
``strategy_workload`` builds the workload (StrategyGrowth's: model-major, ``drift=2.0``). Each size
runs once untimed and then ``--repeat`` times, pinned to one core with one BLAS thread, and prints
its median seconds and the fits the update made. Compare them with ``compare``'s predictions at the
same sizes (``tools/reprice.py``'s ``price_series`` with ``sizes=``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: Run inside the side's environment, with only the benchmarks folder importable beside it, so that the
#: environment's installed ``mlupdate`` (not a checkout's) is the one measured.
CHILD = """
import statistics, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.strategies import strategy_workload
strategy, repeat = sys.argv[2], int(sys.argv[3])
for size in sys.argv[4:]:
    m, n = map(int, size.split("x"))
    prepared = strategy_workload(strategy, "model-major", m, n).prepare()
    report = prepared.run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        prepared.run()
        times.append(time.perf_counter() - start)
    print(f"{size}: median {statistics.median(times):.3f} s, {report.counts['fit']} fits")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python", type=Path, help="the side's environment's python")
    parser.add_argument("benchmarks", type=Path, help="the suite's benchmarks folder")
    parser.add_argument("strategy")
    parser.add_argument("sizes", nargs="+", help="MxN")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--core", type=int, default=1)
    args = parser.parse_args()
    if not (args.benchmarks / "strategies.py").is_file():
        parser.error(f"{args.benchmarks} is not the suite's benchmarks folder (no strategies.py)")
    threads = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    with tempfile.TemporaryDirectory() as alone:
        # the folder alone on the path: its checkout's root would put the checkout's mlupdate first
        (Path(alone) / "benchmarks").symlink_to(args.benchmarks.resolve())
        command = [str(args.python), "-c", CHILD, alone, args.strategy, str(args.repeat), *args.sizes]
        done = subprocess.run(
            command, env=os.environ | threads, cwd=alone, preexec_fn=lambda: os.sched_setaffinity(0, {args.core})
        )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
