"""Each core's speed over time: is what the host does to one core shared by the other?

    python tools/measure_cores.py              # 3 trials of 200 pieces of ~30 ms on both cores at once
    python tools/measure_cores.py --trials 5 --pieces 400
    python tools/measure_cores.py --neighbour  # core 0's work alone, then beside a busy loop on core 1

The same pure-Python work is timed piece by piece in two processes started at the same moment,
one pinned to each core. A paired design (both sides at once, one core each) cancels what the
host does to both cores; it cannot cancel what it does to one. Per trial this prints each core's
scatter (sd of log time per piece), their correlation, and the sd of the log ratio of the two
cores' pieces, also over blocks of 5 and 25 pieces (about 0.15 s and 0.75 s: a short and a long
cell). A correlation near 1 and a small sd of the ratio: the cores' speed moves together, and
pairing cancels it. A correlation near 0: each core wanders on its own, and only more rounds
average it out. With ``--neighbour``, the pieces run on core 0 alone and beside a busy loop on
core 1, alternately: a slowdown beside the loop says the two cores share a physical core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CHILD = r"""
import json, os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
start, pieces, size = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
while time.time() < start:
    pass
out = []
for _ in range(pieces):
    t = time.perf_counter()
    s = 0
    for i in range(size):
        s += i * i
    out.append(time.perf_counter() - t)
print(json.dumps(out))
"""


def trial(pieces: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Log seconds of each piece on core 0 and on core 1, timed at the same moments."""
    start = time.time() + 1.0  # both processes started and pinned before the first piece
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(core), str(start), str(pieces), str(size)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for core in (0, 1)
    ]
    a, b = (np.log(json.loads(p.communicate()[0])) for p in procs)
    return a, b


def neighbour(trials: int, pieces: int, size: int) -> None:
    """Median piece on core 0 with core 1 idle, then with a busy loop pinned to core 1, alternately."""
    spin = "import os\nos.sched_setaffinity(0, {1})\nwhile True:\n    pass\n"
    for k in range(trials):
        for label in ("idle", "busy"):
            loop = subprocess.Popen([sys.executable, "-c", spin]) if label == "busy" else None
            try:
                time.sleep(0.5)
                a = np.exp(trial_on(0, pieces, size))
            finally:
                if loop is not None:
                    loop.kill()
                    loop.wait()
            print(f"trial {k}, core 1 {label}: median piece on core 0 {1000 * np.median(a):.1f} ms")


def trial_on(core: int, pieces: int, size: int) -> np.ndarray:
    """Log seconds of each piece on ``core`` alone."""
    args = [sys.executable, "-c", CHILD, str(core), str(time.time()), str(pieces), str(size)]
    return np.log(json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout))


def blocks(x: np.ndarray, width: int) -> np.ndarray:
    """Means of consecutive blocks of ``width`` pieces."""
    return x[: len(x) // width * width].reshape(-1, width).mean(axis=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--pieces", type=int, default=200)
    p.add_argument("--size", type=int, default=200_000, help="loop iterations per piece (about 30 ms here)")
    p.add_argument("--neighbour", action="store_true", help="core 0 alone, then beside a busy loop on core 1")
    args = p.parse_args()
    if args.neighbour:
        neighbour(args.trials, args.pieces, args.size)
        return
    for k in range(args.trials):
        a, b = trial(args.pieces, args.size)
        print(
            f"trial {k}: pieces of {1000 * np.exp(np.median(a)):.1f} ms (core 0), {1000 * np.exp(np.median(b)):.1f} ms (core 1)"
        )
        for width in (1, 5, 25):
            x, y = blocks(a, width), blocks(b, width)
            print(
                f"  blocks of {width:2d}: sd core 0 {x.std():.3f}, core 1 {y.std():.3f}; "
                f"correlation {np.corrcoef(x, y)[0, 1]:+.2f}; sd(log ratio) {(x - y).std():.3f}"
            )


if __name__ == "__main__":
    main()
