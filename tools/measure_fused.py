"""The fused executor's figures, in one process (issue 13's targets).

    python tools/measure_fused.py ratio          # fused vs serial, ridge fleet, m = n = 100
    python tools/measure_fused.py mixed          # fused vs serial, mixed fleet (ridge and tree)
    python tools/measure_fused.py pipeline       # fused vs serial, Pipeline(StandardScaler, Ridge) fleet, 100x100
    python tools/measure_fused.py floor -m 1000 -n 1000   # the update against bare numpy, same data
    python tools/measure_fused.py floor -m 10000 -n 1000 --stream --repeat 1   # batches drawn as they come
    python tools/measure_fused.py cli            # issue 22's ridge command, serial vs fused, wall_seconds
    python tools/measure_fused.py shards -m 256 -n 64   # tree fleet: 2 shards against one worker

``floor`` times the update and then, on the same batches, the bare numpy it
performs: one preprocess, one product and the three metrics per batch, and one
ridge solve from the moments; ``ratio`` and ``mixed`` run serial and fused
round-robin and check that their metrics agree.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

from mlupdate import Fleet, SyntheticTask, make_estimators, update_fleet
from mlupdate.bench.suite.timing import median_times


def _estimators(m: int, kind: str) -> list:
    if kind != "pipeline":
        return make_estimators(m, kind)
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return [make_pipeline(StandardScaler(), Ridge()) for _ in range(m)]


def _setup(m: int, n: int, kind: str):
    task = SyntheticTask(m, n_features=10, rows_per_batch=200, history_rows=1000, seed=0)
    fleet = Fleet.deploy(task, _estimators(m, kind), progress=None)
    return fleet, list(task.stream(n)), task.holdout(n)


def _ratio(m: int, n: int, kind: str, repeat: int) -> None:
    fleet, batches, holdout = _setup(m, n, kind)
    runs = {}

    def run(ex):
        return lambda: runs.__setitem__(ex, update_fleet(fleet, batches, holdout, order="batch-major", executor=ex))

    t = median_times({"serial": run("serial"), "fused": run("fused")}, repeat=repeat, warmup=0)
    worst = max(
        abs(a[k] - b[k])
        for x, y in ((runs["serial"].before, runs["fused"].before), (runs["serial"].after, runs["fused"].after))
        for a, b in zip(x, y, strict=True)
        for k in a
    )
    print(
        f"{kind} fleet m={m} n={n}: serial {t['serial']:.3f} s, fused {t['fused']:.3f} s, "
        f"speedup {t['serial'] / t['fused']:.1f}x; largest metric difference {worst:.1e}; "
        f"fallback {len(runs['fused'].fusion['fallback'])} model(s)"
    )


def _floor(m: int, n: int, repeat: int) -> None:
    start = time.perf_counter()
    fleet, batches, holdout = _setup(m, n, "ridge")
    setup = time.perf_counter() - start
    reports = []
    t = median_times(
        {
            "update": lambda: reports.append(
                update_fleet(fleet, batches, holdout, order="batch-major", executor="fused")
            ),
            "floor": lambda: _bare_numpy(fleet, batches),
        },
        repeat=repeat,
        warmup=1,
    )
    report = reports[-1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"ridge fleet m={m} n={n}, fused, batch-major, full: update {t['update']:.2f} s, "
        f"bare numpy floor {t['floor']:.2f} s (medians of {repeat}, alternating), ratio {t['update'] / t['floor']:.2f}; "
        f"setup (deploy + batches) {setup:.1f} s; peak RSS {peak:.2f} GiB; counts == plan: {report.counts == report.planned}; "
        f"fused calls {report.fusion['fused_calls']}"
    )


def _floor_streamed(m: int, n: int, repeat: int) -> None:
    """The floor with the batches drawn as they are read (a stream too large to hold), in both."""
    task = SyntheticTask(m, n_features=10, rows_per_batch=200, history_rows=1000, seed=0)
    fleet = Fleet.deploy(task, make_estimators(m, "ridge"), progress=None)
    reports = []
    t = median_times(
        {
            "update": lambda: reports.append(
                update_fleet(fleet, task.stream(n), task.holdout(n), order="batch-major", executor="fused")
            ),
            "floor": lambda: _bare_numpy(fleet, task.stream(n)),
            "drawing": lambda: sum(1 for _ in task.stream(n)),
        },
        repeat=repeat,
        warmup=0,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"ridge fleet m={m} n={n}, fused, streamed: update {t['update']:.1f} s, bare numpy floor {t['floor']:.1f} s, "
        f"ratio {t['update'] / t['floor']:.2f}; drawing the batches alone {t['drawing']:.1f} s; "
        f"peak RSS {peak:.2f} GiB; counts == plan: {reports[-1].counts == reports[-1].planned}"
    )


def _cli(repeat: int) -> None:
    """Issue 22's command, serial and fused alternating in this process: their ``wall_seconds``."""
    import contextlib
    import io
    import json

    from mlupdate.cli import main as cli

    base = [
        "run",
        "-m",
        "100",
        "-n",
        "100",
        "--rows",
        "200",
        "--features",
        "10",
        "--history-rows",
        "1000",
        "--estimators",
        "ridge",
        "--strategy",
        "full",
        "--order",
        "batch-major",
        "--seed",
        "4",
        "--json",
        "--no-progress",
    ]
    walls: dict[str, list[float]] = {"serial": [], "fused": []}
    for _ in range(repeat):
        for ex in walls:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                cli([*base, "--executor", ex])
            walls[ex].append(json.loads(out.getvalue())["wall_seconds"])
    s, f = np.median(walls["serial"]), np.median(walls["fused"])
    print(
        f"ridge 100x100 command: serial {s:.2f} s, fused {f:.3f} s (medians of {repeat}; fused "
        f"{min(walls['fused']):.3f}-{max(walls['fused']):.3f}), ratio {s / f:.0f}x"
    )


def _shards(m: int, n: int, repeat: int) -> None:
    """A tree fleet on fused: one worker on one core, one worker (a refit thread per core), 2 shards."""
    from mlupdate import get_executor

    fleet, batches, holdout = _setup(m, n, "tree")
    executors = {
        "one worker, 1 thread": get_executor("fused", blas_threads=1),
        "one worker, 2 threads": get_executor("fused"),
        "2 shards": get_executor("fused", n_jobs=2),
    }
    executors["2 shards"].warm_up()
    reports = {}

    def run(name):
        return lambda: reports.__setitem__(
            name, update_fleet(fleet, batches, holdout, order="batch-major", executor=executors[name])
        )

    t = median_times({name: run(name) for name in executors}, repeat=repeat, warmup=0)
    one = reports["one worker, 1 thread"]
    worst = max(
        abs(a[k] - b[k])
        for r in reports.values()
        for x, y in ((one.before, r.before), (one.after, r.after))
        for a, b in zip(x, y, strict=True)
        for k in a
    )
    print(
        f"tree fleet m={m} n={n}, full: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in t.items())
        + f"; 2 shards vs one worker on 1 core {t['one worker, 1 thread'] / t['2 shards']:.2f}x, "
        f"vs one worker {t['one worker, 2 threads'] / t['2 shards']:.2f}x; largest metric difference {worst:.1e}"
    )


def _bare_numpy(fleet, batches) -> None:
    """One preprocess, one product, the three metrics and the moments per batch; one ridge solve."""
    pre, models = fleet.preprocessor, [mdl.estimator for mdl in fleet.models]
    W = np.column_stack([e.coef_ for e in models])
    b = np.array([e.intercept_ for e in models])
    with threadpool_limits(limits=None):
        d = W.shape[0]
        XtX, XtY = fleet.X_history_pre.T @ fleet.X_history_pre, fleet.X_history_pre.T @ fleet.Y_history
        sx, sy, rows = 0, 0, 0
        for batch in batches:
            X = pre.transform(batch.X)
            E = X @ W + b - batch.y
            np.abs(E).mean(0), np.sqrt((E**2).mean(0))
            1 - (E**2).sum(0) / ((batch.y - batch.y.mean(0)) ** 2).sum(0)
            XtX += X.T @ X
            XtY += X.T @ batch.y
            sx, sy, rows = sx + X.sum(0), sy + batch.y.sum(0), rows + X.shape[0]
        linalg.solve(XtX + np.eye(d), XtY, assume_a="pos")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["ratio", "mixed", "pipeline", "floor", "cli", "shards"])
    p.add_argument("--stream", action="store_true", help="floor: draw the batches as they are read")
    p.add_argument("-m", type=int, default=None)
    p.add_argument("-n", type=int, default=None)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    if a.what == "floor":
        (_floor_streamed if a.stream else _floor)(a.m or 1000, a.n or 1000, a.repeat)
    elif a.what == "cli":
        _cli(a.repeat)
    elif a.what == "shards":
        _shards(a.m or 256, a.n or 64, a.repeat)
    else:
        big = a.what in ("ratio", "pipeline")
        kind = {"ratio": "ridge", "pipeline": "pipeline"}.get(a.what, "mixed")
        _ratio(a.m or (100 if big else 32), a.n or (100 if big else 16), kind, a.repeat)


if __name__ == "__main__":
    main()
