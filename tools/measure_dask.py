"""dask/serial and dask/loky ratios in one process (figures for the issue note).

    python tools/measure_dask.py                    # the ScaleOut workload: m=8, n=8, 1000 rows
    python tools/measure_dask.py --history-rows 20000 --rows 2000

Times the same prepared fleet on serial, joblib/loky (n_jobs=2) and joblib/dask
(a LocalCluster of 2 single-threaded worker processes, started once, not timed),
round-robin, and prints medians and ratios.
"""

from __future__ import annotations

import argparse

from mlupdate.bench.suite.timing import median_times
from mlupdate.bench.suite.workloads import Workload
from mlupdate.executors import get_executor
from mlupdate.executors.dask import local_cluster


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-m", type=int, default=8)
    p.add_argument("-n", type=int, default=8)
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--history-rows", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()

    import distributed

    w = Workload(a.m, a.n, rows_per_batch=a.rows, history_rows=a.history_rows)
    serial = w.prepare()
    loky = w.with_(executor="joblib", backend="loky").prepare()
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        dask = serial.on(get_executor("joblib", n_jobs=2, backend="dask", scheduler=client))
        for prepared in (loky, dask):
            prepared.warm_up()
        t = median_times({"serial": serial.run, "loky": loky.run, "dask": dask.run}, repeat=a.repeat)
    for name, seconds in t.items():
        print(f"{name:>7}: {seconds:.3f} s (median of {a.repeat})")
    print(f"dask / serial: {t['dask'] / t['serial']:.2f}x the time (speedup {t['serial'] / t['dask']:.2f}x)")
    print(f"dask / loky:   {t['dask'] / t['loky']:.2f}x the time")


if __name__ == "__main__":
    main()
