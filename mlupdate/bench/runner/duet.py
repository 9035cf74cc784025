"""Both cores at once: two benchmark processes started together, each pinned to a core of its own.

Two sides that run at the same time share every slowdown of the host, so their
ratio is steadier than that of two runs one after the other (Bulej et al.,
"Duet Benchmarking", ICPE 2020; ``tools/measure_duet.py`` measures it here).
:func:`run_side_by_side` is that primitive: it starts both commands at once,
pins each (``sched_setaffinity`` in the child, inherited by everything it
starts), waits for both, and never leaves a process behind: on a timeout, an
interruption or any error both process groups are killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError

__all__ = ["SideResult", "duet_cores", "run_side_by_side"]


@dataclass(frozen=True)
class SideResult:
    """One side of a duet: its command, core, exit status, output and wall seconds."""

    command: tuple[str, ...]
    core: int
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def duet_cores() -> tuple[int, int]:
    """The first two cores this process may run on; a :class:`~mlupdate.errors.UsageError` with fewer."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        raise UsageError(f"running both sides at once needs 2 cores; this process may use {len(allowed)}")
    return allowed[0], allowed[1]


def _kill(procs: Sequence[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the side and every worker it started
            except ProcessLookupError:
                pass
        proc.wait()


def _pinned(core: int):
    def pin() -> None:
        os.sched_setaffinity(0, {core})

    return pin


def run_side_by_side(
    commands: tuple[Sequence[str], Sequence[str]],
    cores: tuple[int, int] | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> tuple[SideResult, SideResult]:
    """Run the two commands at the same time, command ``i`` pinned to ``cores[i]``.

    Parameters
    ----------
    commands : (argv, argv)
        The two sides; swap ``cores`` between rounds so that neither side keeps a core.
    cores : (int, int), optional
        Two distinct cores (default :func:`duet_cores`).
    cwd, env : optional
        As for :class:`subprocess.Popen`, for both sides.
    timeout : float, optional
        Seconds for both together; past it both are killed and ``TimeoutError`` is raised.

    Returns
    -------
    (SideResult, SideResult)
        In the order of ``commands``. Output goes through files, not pipes, so a
        side that writes a lot never waits on the other being read.
    """
    cores = duet_cores() if cores is None else cores
    if len(set(cores)) != 2:
        raise UsageError(f"cores={cores!r}: the two sides need two different cores")
    with tempfile.TemporaryDirectory(prefix="mlupdate-duet-") as tmp:
        outs = [(Path(tmp) / f"{i}.out", Path(tmp) / f"{i}.err") for i in range(2)]
        procs: list[subprocess.Popen] = []
        starts: list[float] = []
        try:
            for (out, err), cmd, core in zip(outs, commands, cores, strict=True):
                starts.append(time.perf_counter())
                procs.append(_start(cmd, core, out, err, cwd, env))
            deadline = None if timeout is None else time.monotonic() + timeout
            ends = _wait_all(procs, deadline)
        except BaseException:
            _kill(procs)
            raise
        return tuple(  # type: ignore[return-value]
            SideResult(tuple(cmd), core, p.returncode, out.read_text(), err.read_text(), end - start)
            for cmd, core, p, (out, err), start, end in zip(commands, cores, procs, outs, starts, ends, strict=True)
        )


def _start(
    cmd: Sequence[str], core: int, out: Path, err: Path, cwd: Path | None, env: Mapping[str, str] | None
) -> subprocess.Popen:
    """One side, pinned to ``core``, in a process group of its own (so that a kill reaches its workers)."""
    with open(out, "w") as fo, open(err, "w") as fe:
        return subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=fo,
            stderr=fe,
            preexec_fn=_pinned(core),
            start_new_session=True,
        )


def _wait_all(procs: Sequence[subprocess.Popen], deadline: float | None) -> list[float]:
    """Wait for every process until ``deadline`` (monotonic); each one's end on the perf_counter clock,
    read by a thread blocked in its ``wait`` (no polling: the end is seen when it happens)."""
    import threading

    ends: list[float | None] = [None] * len(procs)

    def wait(i: int, proc: subprocess.Popen) -> None:
        proc.wait()
        ends[i] = time.perf_counter()

    threads = [threading.Thread(target=wait, args=(i, p), daemon=True) for i, p in enumerate(procs)]
    for t in threads:
        t.start()
    for i, t in enumerate(threads):
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise TimeoutError(f"{procs[i].args[0]} did not finish within the duet's timeout")
    return ends  # type: ignore[return-value]
