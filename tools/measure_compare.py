r"""``mlupdate compare`` on three known pairs: same code, a uniform 5% slowdown, the strategy change.

    python tools/measure_compare.py /tmp/cmp same 3        # a README-only pair, three times
    python tools/measure_compare.py /tmp/cmp slow          # update_fleet busy-waits 5% of its time
    python tools/measure_compare.py /tmp/cmp strategy      # `full` refits after every batch
    python tools/measure_compare.py /tmp/cmp evaluate --mode instructions   # metrics computed twice
    python tools/measure_compare.py /tmp/cmp no-evaluate --mode instructions  # evaluate's share
    python tools/measure_compare.py /tmp/cmp same 3 --mode instructions     # counts, three times
    python tools/measure_compare.py /tmp/cmp strategy --args -b "StrategyGrowth\.time_update\('full'" \
        --rounds 4 --max-rounds 4                                            # priced: the summary line

Builds a scratch clone of this checkout (once, in WORK/dev) with one commit per pair on top of
its HEAD, runs the pair's compare as the README gives it (same code and the slowdown over
GrowthGrid + QuadraticDiagonal; the slowdown at ``--factor 1.02``, a 5% move being the target;
the strategy change over StrategyGrowth, its training stages and the diagonal), and prints per run its wall time,
exit status, the series verdicts, when each series was decided (minutes from the command's
start, installs included), the exponents, the cells slower or faster, and the bias check by
seat: the timed cells' log ratios, each centred on its cell's mean, by BASE's core, the side
started first and the position in the round, and their mean per round.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = ["-b", r"growth\.GrowthGrid\.time_update", "-b", r"growth\.QuadraticDiagonal\.time_update"]
SLOW = (
    "mlupdate/loop.py",
    "    return _report(fleet, plan, executor, parent, results, failures, time.perf_counter() - start)\n",
    "    _until = time.perf_counter() + 0.05 * (time.perf_counter() - start)\n"
    "    while time.perf_counter() < _until:\n        pass\n"
    "    return _report(fleet, plan, executor, parent, results, failures, time.perf_counter() - start)\n",
)
sys.path.insert(0, str(ROOT / "tools"))
from measure_steps import STRATEGY, by_seat, seated_rows  # noqa: E402

#: A small compute change: every metric computed twice in ``evaluate`` (about 1-5% of an update's work).
EVALUATE = (
    "mlupdate/metrics.py",
    "    return {name: float(fn(y_true, y_pred)) for name, fn in METRICS.items()}\n",
    "    [fn(y_true, y_pred) for fn in METRICS.values()]  # computed twice: a known change\n"
    "    return {name: float(fn(y_true, y_pred)) for name, fn in METRICS.items()}\n",
)

#: ``evaluate``'s work removed (its metrics not computed): its share of each cell's instructions, to
#: hold the ``evaluate`` pair's ratios against (``evaluate`` twice adds that share once more).
NO_EVALUATE = (
    "mlupdate/metrics.py",
    "    return {name: float(fn(y_true, y_pred)) for name, fn in METRICS.items()}\n",
    "    return dict.fromkeys(METRICS, 0.0)  # not computed: a known change\n",
)

#: A second change of the counts: ``incremental`` calls partial_fit twice per batch (2*m*n calls, rows too).
TWICE = (
    "mlupdate/strategies.py",
    '            stages.call("partial_fit", est.partial_fit, X, y)\n            stages.counts["rows_trained"] += X.shape[0]\n',
    "            for _ in range(2):  # twice per batch: a known change of the counts\n"
    '                stages.call("partial_fit", est.partial_fit, X, y)\n'
    '                stages.counts["rows_trained"] += X.shape[0]\n',
)

PAIRS = {
    "same": (None, GRID),
    "twice": (TWICE, ["-b", r"strategies\.StrategyGrowth\.time_update\('incremental'"]),
    "evaluate": (EVALUATE, GRID),
    "no-evaluate": (NO_EVALUATE, GRID),
    "slow": (SLOW, [*GRID, "--factor", "1.02", "--same-within", "2", "--budget", "6"]),
    "strategy": (
        STRATEGY,
        [
            "-b",
            r"strategies\.StrategyGrowth(LongRuns)?\.time_update",
            "-b",
            r"strategies\.StrategyGrowthTraining\.time_training",
            "-b",
            r"growth\.QuadraticDiagonal\.time_update",
        ],
    ),
}


def sh(*args, cwd=None) -> str:
    return subprocess.run(list(map(str, args)), cwd=cwd, check=True, capture_output=True, text=True).stdout


def pair_commit(dev: Path, name: str) -> tuple[str, str]:
    """BASE (the clone's HEAD) and a new commit on a branch of its own with the pair's change."""
    base = sh("git", "rev-parse", "main", cwd=dev).strip()
    sh("git", "checkout", "-q", "-B", f"pair-{name}", base, cwd=dev)
    change = PAIRS[name][0]
    if change is None:
        with open(dev / "README.md", "a") as f:
            f.write("\n<!-- a README-only change -->\n")
    else:
        path, old, new = change
        text = (dev / path).read_text()
        assert old in text, f"{path} no longer has the line this change edits"
        (dev / path).write_text(text.replace(old, new, 1))
    sh("git", "commit", "-qam", f"pair {name}", cwd=dev)
    head = sh("git", "rev-parse", "HEAD", cwd=dev).strip()
    sh("git", "checkout", "-q", "main", cwd=dev)
    return base, head


def bias_by_seat(out: dict) -> dict[str, str]:
    """The run's timed cells that ran together, by seat and by round (``measure_steps.by_seat``)."""
    rows = []
    for c in out.get("cells", []):
        if ".time_" in c["benchmark"] and not c.get("alone"):  # alone: one side after the other, no core to compare
            rows += seated_rows(c["benchmark"] + str(c["params"]), c.get("log_ratios") or [], c.get("seats") or [])
    return by_seat(rows) if rows else {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("pair", choices=sorted(PAIRS))
    ap.add_argument("times", type=int, nargs="?", default=1)
    ap.add_argument("--mode", choices=("time", "instructions"), default="time", help="compare's --mode")
    ap.add_argument("--args", nargs=argparse.REMAINDER, default=None, help="compare's arguments instead of the pair's")
    args = ap.parse_args()
    dev = args.work.resolve() / "dev"
    if not dev.exists():
        sh("git", "clone", "-q", ROOT, dev)
        sh("git", "checkout", "-q", "main", cwd=dev)
        sh("git", "config", "user.email", "cmp@example.invalid", cwd=dev)
        sh("git", "config", "user.name", "cmp", cwd=dev)
    base, head = pair_commit(dev, args.pair)
    for i in range(args.times):
        extra = (
            PAIRS[args.pair][1]
            if args.mode == "time"
            else [a for a in PAIRS[args.pair][1] if a.startswith(("-b", "growth", "strat"))]
        )
        extra = extra if args.args is None else args.args
        cmd = ["mlupdate", "compare", base, head, *extra, "--mode", args.mode, "--json"]
        started = time.monotonic()
        json_path = args.work / f"{args.pair}-{args.mode}-{i}.json"
        decided, log = [], []
        with open(json_path, "w") as stdout:  # the JSON to a file: a pipe could fill while stderr is read
            proc = subprocess.Popen(cmd, cwd=dev, stdout=stdout, stderr=subprocess.PIPE, text=True)
            for line in proc.stderr:
                minutes = (time.monotonic() - started) / 60
                log.append(f"{minutes:6.2f} {line}")
                if ": decided after " in line:  # when each series got its verdict, from the command's start
                    decided.append(f"{minutes:.2f} min: {line.split('mlupdate: ', 1)[-1].strip()}")
            returncode = proc.wait()
        wall = time.monotonic() - started
        (args.work / f"{args.pair}-{args.mode}-{i}.log").write_text("".join(log))
        text = json_path.read_text()
        out = json.loads(text) if text.strip().startswith("{") else {}
        series = [
            f"{s['series']} {s['ratio']:.3f} [{s['low']:.3f}, {s['high']:.3f}] {s['verdict']}"
            for s in out.get("series", [])
        ]
        exps = [
            f"{e['series']} {e['exponent']} {e['delta']:+.3f} [{e['low']:+.3f}, {e['high']:+.3f}] {e['verdict']}"
            for e in out.get("exponents", [])
        ]
        moved = [
            f"{c['benchmark']}{c['params']} {c['ratio']:.4f} {c['verdict']}"
            for c in out.get("cells", [])
            if c["verdict"] in ("slower", "faster") or args.mode == "instructions"
        ]
        worst = max((abs(c["ratio"] - 1) for c in out.get("cells", [])), default=None)
        print(
            json.dumps(
                {
                    "pair": args.pair,
                    "run": i,
                    "rc": returncode,
                    "minutes": round(wall / 60, 2),
                    "rounds": out.get("rounds"),
                    "noisy": out.get("noisy"),
                    "series": series,
                    "decided": decided,
                    "exponents": exps,
                    "cells_moved": moved,
                    "open": out.get("open"),
                    "largest |ratio - 1|": worst,
                    "summary": out.get("summary"),
                    "bias by seat": bias_by_seat(out),
                },
                indent=1,
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
