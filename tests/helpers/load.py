"""A real CPU hog on one core, outside this process tree (as another user's work would be)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator


@contextlib.contextmanager
def cpu_hog(core: int) -> Iterator[int]:
    """A busy loop pinned to ``core`` for the ``with`` block; started through a shell that exits at
    once, so that it is not a descendant of this process (whose CPU time counts as ours)."""
    line = f"taskset -c {core} {sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"
    pid = int(subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True).stdout)
    try:
        time.sleep(0.2)  # running before the first reading
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
