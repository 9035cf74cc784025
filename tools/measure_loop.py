"""Measure the update loop's ratios in one process (figures for issue notes).

    python tools/measure_loop.py            # m=8, n=16, 2000 rows x 20 features

Prints median seconds and ratios: joblib n_jobs=2 vs serial (1 BLAS thread per
worker in both), serial executor vs the plain nested loop, batch-major vs
model-major at m=16.
"""

from __future__ import annotations

import argparse

from threadpoolctl import threadpool_info, threadpool_limits

from mlupdate import Fleet, SyntheticTask, make_estimators, update_fleet
from mlupdate.bench.suite.timing import median_times, plain_loop
from mlupdate.executors import JoblibExecutor, SerialExecutor


def plain_loop_one_thread(fleet, batches, holdout):
    with threadpool_limits(limits=1):
        return plain_loop(fleet, batches, holdout)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-m", type=int, default=8)
    p.add_argument("-n", type=int, default=16)
    p.add_argument("--rows", type=int, default=2000)
    p.add_argument("--history-rows", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--estimators", default="mixed")
    a = p.parse_args()
    task = SyntheticTask(a.m, n_features=20, rows_per_batch=a.rows, history_rows=a.history_rows, seed=0)
    fleet = Fleet.deploy(task, make_estimators(a.m, a.estimators))
    batches, holdout = list(task.stream(a.n)), task.holdout(a.n)
    print("BLAS:", [(i["internal_api"], i["num_threads"]) for i in threadpool_info()])
    serial, par = SerialExecutor(blas_threads=1), JoblibExecutor(n_jobs=2, blas_threads=1)
    t = median_times(
        {
            "plain loop": lambda: plain_loop_one_thread(fleet, batches, holdout),
            "serial": lambda: update_fleet(fleet, batches, holdout, executor=serial),
            "joblib-2": lambda: update_fleet(fleet, batches, holdout, executor=par),
        },
        repeat=a.repeat,
    )
    for k, v in t.items():
        print(f"{k:>12}: {v:.3f} s (median of {a.repeat})")
    print(f"speedup joblib n_jobs=2 / serial: {t['serial'] / t['joblib-2']:.2f}x")
    print(f"serial executor / plain loop:     {t['serial'] / t['plain loop']:.3f}x")
    task16 = SyntheticTask(16, n_features=20, rows_per_batch=a.rows, history_rows=a.history_rows, seed=0)
    fleet16 = Fleet.deploy(task16, make_estimators(16, a.estimators))
    b16, h16 = list(task16.stream(a.n)), task16.holdout(a.n)
    reports = {}

    def run(order):
        return lambda: reports.__setitem__(
            order, update_fleet(fleet16, b16, h16, strategy="none", order=order, executor=serial)
        )

    t2 = median_times({"model-major": run("model-major"), "batch-major": run("batch-major")}, repeat=a.repeat)
    for order, r in reports.items():
        print(
            f"{order:>12}: preprocess calls {r.counts['preprocess']:>4}, {t2[order]:.3f} s, preprocess {r.seconds['preprocess']:.3f} s"
        )
    print(f"batch-major / model-major (m=16, strategy none): {t2['batch-major'] / t2['model-major']:.3f}x")


if __name__ == "__main__":
    main()
