"""The counting server: run by path, under callgrind, in one side's environment.

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=OUT/cg.%p \\
        PYTHON counter.py BENCHMARK_DIR HOOKS.so NAME-IDX [NAME-IDX ...]

It imports the suite's modules of the cells named once (the import is most of a valgrind run's
cost), then reads cell ids (``name-idx``, asv's) on stdin, one per line. Each cell runs in a
forked child, as asv's forkserver runs it: the benchmark's setup, one untimed call (asv's
warm-up), then the counted call with instrumentation switched on around it alone, and the child
exits. Callgrind writes the child's counts to ``OUT/cg.<pid>`` at its exit; the server answers
``{"cell": ..., "pid": ..., "status": ...}`` on stdout. A cell whose setup skips it answers
``"skipped": true``.

It imports only the standard library and asv_runner, which every asv environment has: it counts
any commit's package, older ones included.
"""

import ctypes
import gc
import itertools
import json
import os
import sys
import traceback


def _values(func) -> list:
    """The parameter values of a benchmark (asv's ``params`` on its class or function: the objects,
    where the benchmark's public ``params`` holds their reprs)."""
    owner = getattr(func, "__self__", func)
    values = getattr(owner, "params", None) or getattr(func, "params", [])
    return values if values and isinstance(values[0], (list, tuple)) else [values]


def _count(hooks, benchmark_dir: str, cell: str) -> int:
    from asv_runner.discovery import get_benchmark_from_name

    bench = get_benchmark_from_name(benchmark_dir, cell)
    _, dash, idx = cell.rpartition("-")
    params = list(itertools.product(*_values(bench.func)))[int(idx)] if dash and bench.params else ()
    if bench.do_setup():
        return 3  # asv's skip: n/a
    try:
        bench.func(*params)  # asv's warm-up: first-call caches filled outside the count
        gc.collect()
        gc.disable()  # as asv times a call; and a collection's timing moves with the server's heap
        hooks.mlupdate_zero()
        hooks.mlupdate_start()
        bench.func(*params)
        hooks.mlupdate_stop()
        gc.enable()
    finally:
        bench.do_teardown()
    return 0


def _no_monitor_thread() -> None:
    """No tqdm monitor thread in the children (tqdm's documented switch, ``monitor_interval = 0``).
    tqdm starts one with its first bar, disabled or not; a second thread makes the interpreter hand
    the GIL over on a wall-clock interval, and under valgrind wall time grows with the machine's
    load: the 1x1 update counted 38.47 M instructions quiet and 38.54-38.58 M (0.11% apart) beside
    two busy loops. Nothing else in the update starts a thread on the counted cells."""
    tqdm = sys.modules.get("tqdm.std")
    if tqdm is not None:
        tqdm.tqdm.monitor_interval = 0


def main(argv: list[str]) -> int:
    benchmark_dir, hooks_path, *cells = argv
    hooks = ctypes.CDLL(hooks_path)
    if not hooks.mlupdate_on_valgrind():
        print(json.dumps({"error": "not running under valgrind"}), flush=True)
        return 2
    from asv_runner.discovery import get_benchmark_from_name

    for name in sorted({cell.rpartition("-")[0] or cell for cell in cells}):
        get_benchmark_from_name(benchmark_dir, name)  # import once, before any fork
    _no_monitor_thread()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cell = line.strip()
        if not cell:
            continue
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _count(hooks, benchmark_dir, cell)
            except BaseException:  # noqa: BLE001 - the child reports any failure and exits
                traceback.print_exc(file=sys.stderr)
            finally:
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        print(json.dumps({"cell": cell, "pid": pid, "status": code, "skipped": code == 3}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
