"""A killed ``mlupdate run`` takes its joblib workers with it: real processes, real signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

pytestmark = pytest.mark.slow

LONG_RUN = ["run", "-m", "64", "-n", "400", "--rows", "2000", "--estimators", "ridge", "--executor", "joblib"]


def _workers(proc: subprocess.Popen, want: int, timeout: float = 60.0) -> list[psutil.Process]:
    """The run's worker processes, once ``want`` of them are up."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [c for c in parent.children(recursive=True) if "python" in c.name().lower()]
        if len(children) >= want:
            return children
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.2)
    raise AssertionError(f"{want} workers did not start within {timeout} s")


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.mark.parametrize(("sig", "n_jobs"), [(signal.SIGKILL, "100000"), (signal.SIGTERM, "2")])
def test_killing_the_cli_ends_its_workers_within_seconds(sig, n_jobs):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlupdate", *LONG_RUN, "--n-jobs", n_jobs, "--no-progress"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        workers = _workers(proc, 2)  # capped at the cores, whatever n_jobs asked for
        time.sleep(1.0)  # the pool is busy with the update
        assert len(_workers(proc, 2)) <= psutil.cpu_count() + 2  # the pool and loky's resource tracker
        _kill_and_check(proc, workers, sig)
    finally:
        if proc.poll() is None:
            proc.kill()


def _kill_and_check(proc: subprocess.Popen, workers: list[psutil.Process], sig: int) -> None:
    """Send ``sig`` to the run; every one of its workers must be gone within 10 s."""
    proc.send_signal(sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(workers) == [], [p.cmdline()[:3] for p in _alive(workers)]


def test_killing_the_cli_ends_its_fused_shard_workers():
    long_fused = [
        "run",
        "-m",
        "64",
        "-n",
        "400",
        "--rows",
        "2000",
        "--estimators",
        "tree",
        "--executor",
        "fused",
        "--order",
        "batch-major",
        "--n-jobs",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlupdate", *long_fused], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        workers = _workers(proc, 2)
        time.sleep(2.0)  # the shards are busy with the update
        _kill_and_check(proc, workers, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
