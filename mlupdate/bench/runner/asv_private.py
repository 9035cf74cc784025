"""Every use of asv's private internals, in one place, for the one asv version they were read from.

The instruments drive asv's runner cell by cell (:mod:`mlupdate.bench.runner.lockstep`), which asv's
public API does not offer. What they need beyond it is here, each use with what breaks when asv
changes it. :data:`ASV_VERSION` is the version it was written against (``pyproject.toml`` pins
it); :func:`check_version` refuses another, and ``tests/bench/test_asv_private.py`` fails loudly
when the installed asv is not that one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

__all__ = ["ASV_VERSION", "check_version", "default_timeout", "forkserver_class", "interpreter", "run_benchmark"]

#: The asv release every private use below was read from.
ASV_VERSION = "0.6.6"


def check_version() -> None:
    """A :class:`RuntimeError` unless the installed asv is :data:`ASV_VERSION`."""
    import asv

    if asv.__version__ != ASV_VERSION:
        raise RuntimeError(
            f"asv {asv.__version__} is installed; mlupdate's instruments use asv {ASV_VERSION}'s internals "
            "(mlupdate/bench/runner/asv_private.py): install asv=={ASV_VERSION}"
        )


def default_timeout(env) -> float:
    """The config's ``default_benchmark_timeout``, as asv's ``run_benchmarks`` fills a benchmark's
    missing ``timeout`` from it. Breaks if asv renames ``Environment._default_benchmark_timeout``."""
    return env._default_benchmark_timeout


def interpreter(env) -> str:
    """The Python an environment runs benchmarks with (asv's own ``env.run`` uses it). Breaks if asv
    renames ``ExistingEnvironment._executable``."""
    from asv.environment import ExistingEnvironment

    return env._executable if isinstance(env, ExistingEnvironment) else env.find_executable("python")


def run_benchmark(benchmark, spawner, *, selected_idx: set[int], extra_params: dict):
    """One run of one cell through asv's runner (``asv.runner.run_benchmark``: not part of asv's
    documented API; breaks if its signature changes). A Ctrl-C during the run is a
    ``KeyboardInterrupt`` again: asv's runner interrupts its spawner and raises
    ``UserError("Interrupted.")`` instead, which a caller would take for a failed cell."""
    from asv.runner import run_benchmark as run
    from asv.util import UserError

    try:
        return run(benchmark, spawner, profile=False, selected_idx=selected_idx, extra_params=extra_params)
    except UserError as exc:
        if str(exc) == "Interrupted.":
            raise KeyboardInterrupt from exc
        raise


def forkserver_class(start: Callable[[object], object]):
    """asv's ``ForkServer`` with the server process started by ``start(self)`` (which returns the
    ``Popen``), instead of asv's own ``env.run``: a guard that kills the server with us, and a pin
    to a core. Relies on ``ForkServer``'s ``tmp_dir``, ``socket_name``, ``server_proc``,
    ``_server_output`` and ``_stdout_reader``; breaks if asv renames any of them."""
    import tempfile

    from asv import runner

    class GuardedForkServer(runner.ForkServer):
        def __init__(self, env, benchmark_dir: str) -> None:
            runner.Spawner.__init__(self, env, benchmark_dir)
            self.tmp_dir = tempfile.mkdtemp(prefix="asv-forkserver-")
            self.socket_name = os.path.join(self.tmp_dir, "socket")
            self.server_proc = start(self)
            self._server_output = None
            self.stdout_reader_thread = threading.Thread(target=self._stdout_reader, daemon=True)
            self.stdout_reader_thread.start()
            while self.stdout_reader_thread.is_alive() and not os.path.exists(self.socket_name):
                time.sleep(0.05)
            if not os.path.exists(self.socket_name):
                raise RuntimeError(f"asv's forkserver did not start: {self._server_output}")

    return GuardedForkServer
