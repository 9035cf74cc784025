"""One side of a duet in asv's own terms: an environment with one commit installed,
its benchmarks, a forkserver that runs them, and the result file they go to.

Two ``asv run`` processes cannot be kept cell by cell in step, so
:mod:`mlupdate.bench.runner.lockstep` drives asv's runner directly, and this module holds
the asv objects it drives, all of them asv's own: the config
(:class:`asv.config.Config`), the environment and its install
(:func:`asv.environment.get_environments`, ``install_project``), the discovery
(:class:`asv.benchmarks.Benchmarks`), the spawner (:class:`asv.runner.ForkServer`)
and the result file (:class:`asv.results.Results`). The files written are
ordinary asv results, read by ``asv publish`` and the site like any other.

The forkserver runs under a guard armed with ``PR_SET_PDEATHSIG``: if the command
that drives it is killed, even with SIGKILL, the guard kills the server and every
benchmark process it forked.
"""

from __future__ import annotations

import ctypes
import datetime
import functools
import itertools
import math
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import UsageError
from ..results.asv_config import derived_config
from ..results.counts import COUNTS_DIR_VAR
from .asv_private import default_timeout, forkserver_class, interpreter

__all__ = [
    "Cell",
    "SideError",
    "SideResults",
    "asv_conf",
    "create_env",
    "discover_cells",
    "export_package",
    "guarded_popen",
    "install",
    "open_spawner",
    "results_of",
]

_PR_SET_PDEATHSIG = 1


class SideError(RuntimeError):
    """A side could not be made ready (install, discovery, forkserver); the message names the step."""


@dataclass(frozen=True, order=True)
class Cell:
    """One parameter combination of one benchmark: asv's name and the combination's index."""

    name: str
    index: int
    params: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name}({', '.join(self.params)})" if self.params else self.name


def asv_conf(project: Path, path: Path, **paths: Path):
    """The project's asv config as an :class:`asv.config.Config`, with ``paths`` replaced
    (``env_dir=``, ``results_dir=``), written to ``path`` first so that asv reads it itself."""
    from asv.config import Config

    return Config.load(str(derived_config(project, path, **paths)))


def create_env(conf) -> None:
    """asv's environment of ``conf`` (its one matrix combination), created if need be, nothing installed."""
    from asv import environment

    envs = list(environment.get_environments(conf, None))
    if len(envs) != 1:
        raise UsageError(f"the asv config has {len(envs)} environments; side-by-side runs need exactly one")
    envs[0].create()


def install(conf, commit: str, existing: bool = False, prepare=None):
    """asv's environment of ``conf`` (its one matrix combination), created if need be,
    with ``commit`` installed; ``existing``: this Python, nothing installed; ``prepare(env)``:
    called between the creation and the install."""
    from asv import environment
    from asv.repo import get_repo

    if existing:
        (env,) = environment.get_environments(conf, [f"existing:{sys.executable}"])
        return env
    envs = list(environment.get_environments(conf, None))
    if len(envs) != 1:
        raise UsageError(f"the asv config has {len(envs)} environments; side-by-side runs need exactly one")
    env = envs[0]
    env.create()
    if prepare is not None:
        prepare(env)
    env.install_project(conf, get_repo(conf), commit)
    return env


#: Suites discovered by this process: a night's steps discover the same suite once, as one
#: ``asv run`` discovers it once for all the commits it measures.
_DISCOVERED: dict[tuple, object] = {}


def _suite_key(conf, names: Sequence[str]) -> tuple:
    """What a discovery depends on: the suite's files as they are now, the names asked for, and
    the results folder its ``benchmarks.json`` is saved in."""
    files = sorted(Path(conf.benchmark_dir).rglob("*.py"))
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return (str(Path(conf.benchmark_dir).resolve()), str(conf.results_dir), tuple(names), stamp)


def discover_cells(conf, env, commit: str, names: Sequence[str]):
    """asv's discovery of the suite in ``env``, restricted to ``names``; the
    benchmarks (saved as ``benchmarks.json`` in the results folder) and their cells.
    A suite this process discovered already, unchanged since, is not discovered again."""
    import re

    from asv.benchmarks import Benchmarks
    from asv.repo import get_repo

    key = _suite_key(conf, names)
    benchmarks = _DISCOVERED.get(key)
    if benchmarks is None:
        regex = ["^(" + "|".join(re.escape(n) for n in names) + r")(\(|$)"]
        benchmarks = Benchmarks.discover(conf, get_repo(conf), [env], [commit], regex=regex)
        _DISCOVERED[key] = benchmarks
    benchmarks.save()
    cells = []
    for name in sorted(benchmarks):
        bench = benchmarks[name]
        if bench.get("timeout") is None:  # as asv's run_benchmarks does
            bench["timeout"] = default_timeout(env)
        combos = list(itertools.product(*bench["params"])) if bench["params"] else [()]
        selected = benchmarks.benchmark_selection.get(name)
        for idx, combo in enumerate(combos):
            if selected is None or idx in selected:
                cells.append(Cell(name, idx, tuple(map(str, combo))))
    return benchmarks, cells


def export_package(project: Path, commit: str, dest: Path) -> Path:
    """``mlupdate/`` as it is in ``commit``, written under ``dest`` (``git archive``): a source
    tree to import that commit's package from, in an environment that has its dependencies."""
    import io
    import subprocess
    import tarfile

    tar = subprocess.run(["git", "archive", commit, "mlupdate"], cwd=project, capture_output=True, check=False)
    if tar.returncode != 0:
        raise SideError(f"git archive {commit[:8]} mlupdate failed: {tar.stderr.decode().strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as archive:
        archive.extractall(dest, filter="data")
    return dest


#: Python's string hashing, pinned for the benchmark processes (a seed set in the environment
#: wins): with a random seed per process, dict and set layouts differ from side to side.
HASH_SEED = {"PYTHONHASHSEED": "0"}

#: The forkserver's guard: the leader of its process group, which the kernel signals when
#: the command that started it dies (``PR_SET_PDEATHSIG``), even by SIGKILL; it then kills
#: the whole group: the server and every benchmark process it forked. Its first argument is
#: the folders to remove then (joined by ``os.pathsep``; "" for none): the server's socket folder,
#: which asv's ``close()`` removes, and the command's own scratch folder, which its ``with`` block
#: removes; a killed command would otherwise leave both in the temporary directory.
_GUARD = """
import os, shutil, signal, subprocess, sys
def end(*_):
    for folder in filter(None, sys.argv[1].split(os.pathsep)):
        shutil.rmtree(folder, ignore_errors=True)
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGINT, signal.SIG_IGN)  # asv's close() interrupts the group: the server ends, then we do
signal.signal(signal.SIGTERM, end)
if os.getppid() == 1:  # the parent died before the death signal was armed
    end()
sys.exit(subprocess.call(sys.argv[2:]))
"""


def _guarded(core: int | None = None) -> None:
    """In the guard, before exec: a process group of its own, SIGTERM when the parent dies, and
    (``core``) pinned to one core, as the server it starts and everything that forks."""
    os.setpgid(0, 0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if core is not None:
        os.sched_setaffinity(0, {core})


def guarded_popen(argv: Sequence[str], env: dict, core: int | None = None, remove: Sequence[Path] = (), **kwargs):
    """``argv`` started under the guard: its own process group, killed whole when this process dies
    or is killed, pinned to ``core``; ``remove``: folders the guard deletes then (this command's
    scratch); ``kwargs`` go to :class:`subprocess.Popen`."""
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-c", _GUARD, _folders(remove), *argv],
        env=env,
        preexec_fn=functools.partial(_guarded, core),
        **kwargs,
    )


def _folders(paths: Sequence[object]) -> str:
    return os.pathsep.join(str(p) for p in paths if p)


def open_spawner(
    env,
    benchmark_dir: str,
    source: Path | None = None,
    core: int | None = None,
    counts_dir: Path | None = None,
    scratch: Path | None = None,
):
    """asv's forkserver in ``env`` that dies with this process (call from the main thread:
    the death signal follows the thread that started the server); ``source``: a folder put
    first on ``PYTHONPATH``, whose ``mlupdate`` is then the one benchmarked; ``core``: the
    core the server runs on (each benchmark process is pinned by asv_runner anyway);
    ``counts_dir``: where its benchmark processes note their updates' counts
    (:mod:`mlupdate.bench.results.counts`); ``scratch``: the command's scratch folder, removed
    with the server's own when the command is killed."""
    import subprocess

    from asv import runner

    def start(server) -> subprocess.Popen:
        script = [runner.BENCHMARK_RUN_SCRIPT, "run_server", server.benchmark_dir, server.socket_name]
        return subprocess.Popen(
            [sys.executable, "-c", _GUARD, _folders([server.tmp_dir, scratch]), interpreter(env), *script],
            env={
                **HASH_SEED,
                **os.environ,
                **env.env_vars,
                **({"PYTHONPATH": str(source)} if source else {}),
                **({COUNTS_DIR_VAR: str(counts_dir)} if counts_dir else {}),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(_guarded, core),
        )

    spawner = forkserver_class(start)(env, benchmark_dir)
    ok, out = spawner.preimport()
    if not ok:
        spawner.close()
        raise RuntimeError(f"the benchmark suite did not import: {out.strip().splitlines()[-1:]}")
    return spawner


@dataclass
class SideResults:
    """Everything one side measured, per cell: the samples (timings) or values (tracks)
    of every round, with the ``number`` asv used; written as one asv result file."""

    samples: dict[Cell, list[float]] = field(default_factory=dict)
    values: dict[Cell, list[float]] = field(default_factory=dict)
    number: dict[Cell, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failed: dict[Cell, str] = field(default_factory=dict)
    skipped: set[Cell] = field(default_factory=set)
    last_count: dict[Cell, int] = field(default_factory=dict)  # samples in the cell's latest run

    def add(self, cell: Cell, result, seconds: float) -> float | None:
        """Record one run of ``cell`` (an asv ``BenchmarkResult``); its value this run:
        the median of the samples it took, or the value it returned. None if it failed."""
        self.seconds[cell.name] = self.seconds.get(cell.name, 0.0) + seconds
        idx = cell.index
        value = result.result[idx] if result.result and idx < len(result.result) else None
        if result.errcode != 0 or value is None:
            self.failed[cell] = (result.stderr or f"exit {result.errcode}").strip()
            return None
        if isinstance(value, float) and math.isnan(value):  # skipped by the benchmark (skip_params, n/a)
            self.skipped.add(cell)
            return None
        if result.samples[idx] is not None:
            self.last_count[cell] = len(result.samples[idx])
            self.samples.setdefault(cell, []).extend(result.samples[idx])
            self.number.setdefault(cell, result.number[idx])
            return float(np.median(result.samples[idx]))
        self.values.setdefault(cell, []).append(float(value))
        return float(value)

    def merged(self, other: SideResults) -> SideResults:
        """Both replicas of one commit as one side: every sample of each."""
        out = SideResults()
        for mine in (self, other):
            for cell, s in mine.samples.items():
                out.samples.setdefault(cell, []).extend(s)
                out.number.setdefault(cell, mine.number[cell])
            for cell, v in mine.values.items():
                out.values.setdefault(cell, []).extend(v)
            for name, sec in mine.seconds.items():
                out.seconds[name] = out.seconds.get(name, 0.0) + sec
            out.failed |= mine.failed
            out.skipped |= mine.skipped
        return out


def results_of(conf, env, commit: str, benchmarks, side: SideResults, machine: str | None = None):
    """``side`` as an asv :class:`~asv.results.Results` of ``commit`` (earlier results of
    other benchmarks in the same file are kept), ready to ``save``."""
    from asv.machine import Machine
    from asv.repo import get_repo
    from asv.results import Results
    from asv.runner import BenchmarkResult

    info = Machine.load(machine_name=machine, interactive=False)
    info.save(conf.results_dir)  # <results>/<machine>/machine.json, as asv run writes it: asv publish needs it
    params = dict(info.__dict__)
    params |= {"python": env.python, **env.requirements}
    result = Results(
        params, env.requirements, commit, get_repo(conf).get_date(commit), env.python, env.name, env.env_vars
    )
    result.load_data(conf.results_dir)
    cells = sorted(set(side.samples) | set(side.values) | set(side.failed) | side.skipped)
    for name, group in itertools.groupby(cells, key=lambda c: c.name):
        group = list(group)
        bench = benchmarks[name]
        size = len(list(itertools.product(*bench["params"]))) if bench["params"] else 1
        res, smp, num = [None] * size, [None] * size, [None] * size
        for cell in group:
            if cell in side.samples:
                res[cell.index], smp[cell.index], num[cell.index] = True, side.samples[cell], side.number[cell]
            elif cell in side.values:
                res[cell.index] = float(np.median(side.values[cell]))
            elif cell in side.skipped:
                res[cell.index] = math.nan  # asv's n/a
        errs = [side.failed[c] for c in group if c in side.failed]
        bench_result = BenchmarkResult(res, smp, num, 1 if errs else 0, "\n".join(errs), None)
        result.add_result(
            bench,
            bench_result,
            started_at=datetime.datetime.now(datetime.timezone.utc),
            duration=side.seconds.get(name),
            record_samples=True,
            selected_idx={c.index for c in group},
        )
    return result
