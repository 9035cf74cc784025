"""One commit's counting server: :mod:`counter` under callgrind, in the commit's environment.

The server imports the suite once; each cell is counted in a child it forks, so a commit pays the
15 s of importing scikit-learn under valgrind once, not per cell. The pins that could move a count
are set for every server and recorded (:data:`PINS`).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import select
import shutil
import signal
from collections.abc import Sequence
from pathlib import Path

from ..runner.asv_side import guarded_popen

__all__ = ["CODE_PINS", "PINS", "TIMEOUT", "VALGRIND_ARGS", "CountServer", "read_total"]

logger = logging.getLogger(__name__)

#: What could move a count between two runs of the same code, pinned: the hash seed (set and dict
#: order), the BLAS kernel (OpenBLAS picks one per CPU; Haswell's runs on any x86-64 with AVX2 and
#: under valgrind), one thread everywhere (no allocator thread either), one malloc arena.
PINS = {
    "PYTHONHASHSEED": "0",
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "1",
    # pyarrow's jemalloc (pandas imports pyarrow) purges in a background thread on a wall-clock
    # timer; callgrind counts every thread, so under load (longer wall time under valgrind) the
    # 1x1 update read 38.68 M instructions against 38.48 M quiet
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}
#: Pinned in the counting server itself (:mod:`counter`), recorded with :data:`PINS`: no tqdm monitor
#: thread, whose GIL hand-overs follow the wall clock.
CODE_PINS = {"tqdm.monitor_interval": "0"}
#: Callgrind counting instructions only (no cache or branch simulation), off until the helper
#: switches it on around the counted call; no gdb server, whose FIFOs in /tmp a killed run would leave.
VALGRIND_ARGS = (
    "--tool=callgrind",
    "--instr-atstart=no",
    "--dump-instr=no",
    "--dump-line=no",
    "--vgdb=no",
    "-q",
)
_COUNTER = Path(__file__).with_name("counter.py")
#: Address-space randomisation off for the server and its children (``setarch -R``): where the
#: kernel puts the heap moves memcpy's alignment work and the hashing of objects by address. The
#: children of one server then count a cell alike (the same count on a quiet machine, within 0.02%
#: beside a busy test worker: the server forks each from the same state, :func:`counter._serve_one`),
#: and servers of one environment 0.04-0.09% apart on
#: the 1x1 update (``tools/measure_counts.py``). Two environments (env-a, env-b) differ by more on
#: the smallest cells (memcpy alignment, the hashes of their install paths): under 0.1% from 8
#: model-batch visits up (``tools/measure_compare.py DIR same --mode instructions``).
_NO_ASLR = ("setarch", platform.machine(), "-R") if shutil.which("setarch") else ()
_TOTAL = re.compile(r"^totals:\s+(\d+)", re.M)


def read_total(path: Path) -> int:
    """The instructions a callgrind output file counted: its ``totals:`` line (its ``summary:`` line
    reads 0 when instrumentation was switched on by a client request, as measured with 3.19)."""
    found = _TOTAL.search(Path(path).read_text(errors="replace"))
    if found is None:
        raise RuntimeError(f"{path} has no totals line: not a callgrind output file")
    return int(found.group(1))


#: The longest a server may take to import the suite under valgrind, and a cell to be counted
#: (a counted cell has at most 8 model-batch visits: about 30 s here). Beyond it the server is
#: stopped whole and the count fails, so that a hung cell cannot hold a nightly or a gate.
TIMEOUT = 600.0


class CountServer:
    """The counting server of one side: ``count(cell_id)`` is the instructions of its timed call;
    ``timeout`` seconds bound its start and each count; ``scratch``: the command's scratch folder,
    removed by the server's guard when the command is killed."""

    def __init__(
        self,
        valgrind: str,
        python: str,
        benchmark_dir: Path,
        hooks: Path,
        cells: Sequence[str],
        out_dir: Path,
        env: dict,
        core: int | None = None,
        timeout: float = TIMEOUT,
        scratch: Path | None = None,
    ) -> None:
        self.timeout = timeout
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            *_NO_ASLR,
            valgrind,
            *VALGRIND_ARGS,
            f"--callgrind-out-file={self.out_dir}/cg.%p",
            python,
            str(_COUNTER),
            str(benchmark_dir),
            str(hooks),
            *cells,
        ]
        self.proc = guarded_popen(
            argv,
            {**env, **PINS},
            core,
            remove=[scratch] if scratch else [],
            stdin=-1,
            stdout=-1,
            stderr=open(self.out_dir / "stderr.log", "w"),
            text=True,
        )
        self._ready = False

    def wait_ready(self) -> None:
        """Wait for the server's imports (both sides' servers import at once: start both, then wait)."""
        if self._ready:
            return
        ready = self._answer("starting")
        if not ready.get("ready"):
            self.close()
            raise RuntimeError(f"the counting server did not start: {ready.get('error') or self._stderr()}")
        self._ready = True

    def _answer(self, what: str) -> dict:
        """The server's next line, within :attr:`timeout` seconds (one line per request: nothing is
        left in the reader's buffer between two, so waiting on its descriptor is exact)."""
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self._kill()
            raise RuntimeError(f"{what} took more than {self.timeout:g} s under valgrind; the server was stopped")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the counting server ended: {self._stderr()}")
        return json.loads(line)

    def _stderr(self) -> str:
        text = (self.out_dir / "stderr.log").read_text(errors="replace").strip().splitlines()
        return text[-1] if text else "no output"

    def count(self, cell: str) -> int | None:
        """The instructions of ``cell``'s timed call (asv's ``name-idx``); None when its setup skips it."""
        self.wait_ready()
        self.proc.stdin.write(cell + "\n")
        self.proc.stdin.flush()
        answer = self._answer(f"counting {cell}")
        if answer.get("skipped"):
            return None
        if answer["status"] != 0:
            raise RuntimeError(f"counting {cell} failed (exit {answer['status']}): {self._stderr()}")
        return read_total(self.out_dir / f"cg.{answer['pid']}")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except Exception:  # noqa: BLE001 - a server that does not end is killed whole
                self._kill()

    def _kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
