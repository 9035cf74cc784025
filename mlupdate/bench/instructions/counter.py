"""The counting server: run by path, under callgrind, in one side's environment.

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=OUT/cg.%p \\
        PYTHON counter.py BENCHMARK_DIR HOOKS.so NAME-IDX [NAME-IDX ...]

It imports the suite's modules of the cells named once (the import is most of a valgrind run's
cost), then reads cell ids (``name-idx``, asv's) on stdin, one per line. Each cell runs in a
forked child, as asv's forkserver runs it: the benchmark's setup, one untimed call (asv's
warm-up), then the counted call with instrumentation switched on around it alone, and the child
exits. Callgrind writes the child's counts to ``OUT/cg.<pid>`` at its exit; the server answers
``{"pid": ..., "status": ..., "skipped": ...}`` on stdout, one line per cell id, in order. A cell
whose setup skips it answers ``"skipped": true``. Each child is forked before the server reads
anything: it reads its own cell id (see :func:`_serve_one`).

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

#: Exit codes of a counting child besides 0 (counted) and 1 (failed): its setup skipped the cell
#: (asv's n/a); a settling child; a child that found stdin closed.
_SKIPPED, _SETTLE, _ENDED = 3, 4, 5


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
        return _SKIPPED  # asv's skip: n/a
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


#: Forks before the first request, whose children exit at once: the server's own state
#: at a fork settles after the first two (measured: the first child of a server counted the 1x1
#: update 13 k instructions apart from the later ones, the second 17 apart).
SETTLING_FORKS = 3


def _serve_one(hooks, benchmark_dir: str, out: int = 1, settle: bool = False) -> bool:
    """Fork the next child, which reads its cell id from stdin itself and counts it; answer its pid
    and exit code on ``out`` (settling: a child that exits at once, answered on the same path to
    ``/dev/null``). False once stdin is closed.

    The child is forked before its cell id is read, and the server parses nothing: between two forks
    it makes the same few objects every time. When it read and parsed each request before forking
    (a text reader, a JSON answer), its children started from one of a few allocator states, and
    counted the same cell up to 0.18% apart (70 k instructions of a 1x1 update, in a test run)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _SETTLE if settle else _child(hooks, benchmark_dir)
        except BaseException:  # noqa: BLE001 - the child reports any failure and exits
            traceback.print_exc(file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == _ENDED:
        return False
    skipped = b"true" if code == _SKIPPED else b"false"
    os.write(out, b'{"pid": %d, "status": %d, "skipped": %s}\n' % (pid, code, skipped))
    return True


def _child(hooks, benchmark_dir: str) -> int:
    """Read one cell id from stdin, byte by byte (nothing of the next request is taken), and count it."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            return _ENDED
        line += byte
    return _count(hooks, benchmark_dir, line.decode().strip())


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
    gc.collect()
    print(json.dumps({"ready": True}), flush=True)
    nowhere = os.open(os.devnull, os.O_WRONLY)
    for _ in range(SETTLING_FORKS):  # after the last output before the loop: nothing moves the state
        _serve_one(hooks, benchmark_dir, nowhere, settle=True)
    while _serve_one(hooks, benchmark_dir):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
