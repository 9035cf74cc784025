"""The one reader of asv's results directory: ``benchmarks.json`` and the result files.

asv writes one JSON file per machine and commit (``<machine>/<hash8>-<env>.json``). Everything the
instruments read of asv's results (series for the scaling fits, a round's samples for compare, the
commits the nightly has done) goes through here, and every result file is read by asv itself
(:meth:`asv.results.Results.load` and its ``get_result_*`` accessors, which know the format's
versions); nothing here zips asv's columns by hand.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError

__all__ = [
    "CommitResults",
    "ResultsError",
    "read_commit_files",
    "read_replicas",
    "replica_path",
    "replicas_by_cell",
    "result_commits",
    "result_files",
    "result_of",
    "shared_reads",
]


class ResultsError(UsageError):
    """Results that cannot be used: the message names the file or commit."""


@dataclass
class CommitResults:
    """One result file, as asv reads it: a commit's results on one machine and environment.

    The accessors give one entry per cell of a benchmark, in the order of
    ``itertools.product(*self.param_values(name))`` (asv's order); a cell without a value is ``None``."""

    commit: str
    machine: str
    date: int
    path: Path
    result: object  # asv.results.Results

    @property
    def params(self) -> dict:
        """The machine and environment the results were measured on: cpu, os, python, ..."""
        return self.result.params

    def names(self) -> set[str]:
        """The benchmarks this file holds results of."""
        return set(self.result.get_all_result_keys())

    def param_values(self, name: str) -> list[list[str]]:
        """The benchmark's parameter values as measured (asv's reprs), one list per parameter."""
        return self.result.get_result_params(name) or []

    def cells(self, name: str) -> list[tuple[str, ...]]:
        """The benchmark's cells: one tuple of parameter values each."""
        return list(itertools.product(*self.param_values(name)))

    def values(self, name: str) -> list:
        """Each cell's result (seconds, bytes, a count) or ``None``."""
        return self.result.get_result_value(name, self.param_values(name))

    def samples(self, name: str) -> list:
        """Each cell's samples (a list) or ``None``."""
        return self.result.get_result_samples(name, self.param_values(name))

    def stats(self, name: str) -> list:
        """Each cell's statistics (``ci_99_a``, ``ci_99_b``, ...; a dict) or ``None``."""
        return self.result.get_result_stats(name, self.param_values(name))


def read_commit_files(results_dir: Path, warn=print) -> tuple[dict, list[CommitResults]]:
    """Parse ``benchmarks.json`` and every result file; skip (with a warning)
    files that are corrupt or not asv results."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultsError(f"results directory {results_dir} does not exist; run `asv run` first")
    bench_file = results_dir / "benchmarks.json"
    if not bench_file.is_file():
        raise ResultsError(f"{bench_file} is missing: {results_dir} is not an asv results directory")
    try:
        benchmarks = json.loads(bench_file.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{bench_file} is not valid JSON ({exc})") from None
    commits = []
    for path in result_files(results_dir):
        try:
            commits.append(_load(path))
        except _unreadable() as exc:
            warn(f"skipping {path}: not a readable asv result file ({type(exc).__name__}: {exc})")
    return benchmarks, commits


def result_of(results_dir: Path, sha: str) -> CommitResults | None:
    """The newest result file of ``sha`` in ``results_dir`` (any machine)."""
    paths = sorted(Path(results_dir).glob(f"*/{sha[:8]}-*.json"), key=lambda p: p.stat().st_mtime)
    for path in reversed(paths):
        try:
            found = _load(path)
        except _unreadable():
            continue
        if found.commit == sha:
            return found
    return None


def result_files(results_dir: Path, machine: str = "*") -> list[Path]:
    """Every result file of ``machine`` (default: every machine), in name order."""
    return [p for p in sorted(Path(results_dir).glob(f"{machine}/*.json")) if p.name != "machine.json"]


def _read_json(path: Path) -> dict | None:
    """A result file's JSON object; ``None`` when it is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


#: The files read inside :func:`shared_reads`, by path (None outside it).
_SHARED: ContextVar[dict[Path, CommitResults] | None] = ContextVar("_SHARED", default=None)


@contextlib.contextmanager
def shared_reads() -> Iterator[None]:
    """Within the block, each result file is read once and shared by every reader (the sections of
    one publish, which only read). Outside it, every read reads the file as it is now."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _load(path: Path) -> CommitResults:
    from asv.results import Results

    shared = _SHARED.get()
    if shared is not None and path in shared:
        return shared[path]
    result = Results.load(str(path))
    found = CommitResults(result.commit_hash, path.parent.name, int(result.date or 0), path, result)
    if shared is not None:
        shared[path] = found
    return found


def _unreadable() -> tuple[type[Exception], ...]:
    from asv.util import UserError

    return (UserError, OSError, KeyError, TypeError, ValueError, AttributeError)


def result_commits(results_dir: Path, machine: str) -> set[str]:
    """The commits ``machine`` has readable results for (an unreadable file is not a result)."""
    done = set()
    for path in result_files(results_dir, machine):
        data = _read_json(path)
        if data is not None and isinstance(data.get("commit_hash"), str):
            done.add(data["commit_hash"])
    return done


def replica_path(result_file: Path) -> Path:
    """The replica file beside an asv result file (see :mod:`mlupdate.bench.runner.side_by_side`)."""
    return Path(result_file).with_suffix(".replicas")


def read_replicas(result_file: Path) -> dict | None:
    """The replica file of an asv result file, or None (no replicas, or unreadable)."""
    try:
        return json.loads(replica_path(result_file).read_text())
    except (OSError, ValueError):
        return None


def replicas_by_cell(result_file: Path) -> dict[tuple[str, tuple[str, ...]], list[list[float]]]:
    """Each cell's samples per replica, by ``(benchmark, params)``; empty without a replica file."""
    doc = read_replicas(result_file) or {}
    return {(c["benchmark"], tuple(c["params"])): c["replicas"] for c in doc.get("cells", []) if c.get("replicas")}
