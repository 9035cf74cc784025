"""The same cell twice, side by side on both cores (duet) or one process after the other.

    python tools/measure_duet.py                 # 8x8 mixed serial update, 14 trials of each mode
    python tools/measure_duet.py --trials 6 --rows-b 220   # a known change: side B has 10% more rows

With the same work on both sides every log ratio is noise: the mode with the
smaller sd(log ratio) per minute of wall time measures a change better. With
``--rows-b`` side B does more work, and both modes should read the same ratio. Trials
of the two modes alternate in time, and the duet's cores swap every trial.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from mlupdate.bench.runner.duet import duet_cores, run_side_by_side

CELL = """
import statistics, sys, time
from mlupdate.bench.suite.workloads import Workload
prepared = Workload(int(sys.argv[1]), int(sys.argv[2]), rows_per_batch=int(sys.argv[4])).prepare()
prepared.run()  # warm-up, untimed
samples = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    prepared.run()
    samples.append(time.perf_counter() - start)
print(statistics.median(samples))
"""


def _sequential(cmd_a: list[str], cmd_b: list[str]) -> tuple[float, float]:
    import subprocess

    a, b = (float(subprocess.run(c, capture_output=True, text=True, check=True).stdout) for c in (cmd_a, cmd_b))
    return a, b


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=14)
    p.add_argument("-m", type=int, default=8)
    p.add_argument("-n", type=int, default=8)
    p.add_argument("--samples", type=int, default=5, help="timed updates per process (median)")
    p.add_argument("--rows", type=int, default=200, help="rows per batch of side A")
    p.add_argument("--rows-b", type=int, default=None, help="rows per batch of side B (default: side A's)")
    a = p.parse_args()
    cmd = [sys.executable, "-c", CELL, str(a.m), str(a.n), str(a.samples), str(a.rows)]
    cmd_b = [*cmd[:-1], str(a.rows if a.rows_b is None else a.rows_b)]
    cores = duet_cores()
    ratios: dict[str, list[float]] = {"duet": [], "sequential": []}
    times: dict[str, list[float]] = {"duet": [], "sequential": []}
    wall = {"duet": 0.0, "sequential": 0.0}
    for trial in range(a.trials):
        for mode in ("duet", "sequential") if trial % 2 == 0 else ("sequential", "duet"):
            start = time.perf_counter()
            if mode == "duet":
                pair = cores if trial % 2 == 0 else cores[::-1]
                sides = run_side_by_side((cmd, cmd_b), pair)
                x, y = (float(s.stdout) for s in sides)
            else:
                x, y = _sequential(cmd, cmd_b)
            wall[mode] += time.perf_counter() - start
            ratios[mode].append(float(np.log(y / x)))
            times[mode] += [x, y]
        print(f"trial {trial + 1}/{a.trials}", file=sys.stderr, flush=True)
    rows = f"{a.rows} rows per batch" + ("" if a.rows_b in (None, a.rows) else f" (side B {a.rows_b})")
    print(f"{a.m}x{a.n} serial update, {rows}, {a.samples} samples per process, {a.trials} trials per mode")
    print(f"{'mode':<12}{'B/A':>7}{'sd(log ratio)':>15}{'wall s':>9}{'mean s':>9}{'precision per minute':>22}")
    for mode in ratios:
        sd = statistics.stdev(ratios[mode])
        per_minute = 1 / (sd**2 * wall[mode] / 60)  # inverse variance per minute of wall time
        ratio = float(np.exp(np.mean(ratios[mode])))
        print(
            f"{mode:<12}{ratio:>7.3f}{sd:>15.3f}{wall[mode]:>9.0f}{statistics.mean(times[mode]):>9.3f}{per_minute:>22.0f}"
        )


if __name__ == "__main__":
    main()
