"""Run two commits' benchmarks in alternating rounds, through asv.

Round r runs BASE then HEAD when r is even and HEAD then BASE when r is odd
(A B, B A, A B, B A: a drift that is linear in time cancels over each pair of
rounds). Every round is an ordinary ``asv run`` of one commit with
``--record-samples`` and, after a commit's first round, ``--append-samples``:
the results land in the normal results directory with every sample, so the
site shows them, and the samples a round added are read back as that round's
value of each cell.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import UsageError, first_line
from ..asv_config import asv_command, derived_config, project_results_dir
from ..asv_results import CommitResults, read_commit_files, result_of, sample_counts
from ..suite import discover, select

__all__ = ["CI_BENCHMARKS", "SENTINEL", "CompareError", "RoundValues", "benchmarks_to_compare", "run_rounds"]

#: The drift sentinel's benchmarks: measured in every comparison.
SENTINEL = r"sentinel\.DriftSentinel\."
#: The pull-request gate's subset (``mlupdate compare --ci``): the exact counts,
#: the quadratic diagonal and the per-strategy growth grid (two exponents each).
CI_BENCHMARKS = (
    r"growth\.GrowthCosts\.",
    r"growth\.QuadraticDiagonal\.time_update",
    r"strategies\.StrategyGrowth\.time_update",
)

CellKey = tuple[str, tuple[str, ...]]
#: asv's line for a benchmark it finished: ``[ 50.00%] ··· growth.GrowthGrid.time_update   ok``
ASV_PROGRESS = re.compile(r"^\[\s*\d+\.\d+%\] ··· \S+\s+(ok|failed)\s*$")


class CompareError(RuntimeError):
    """A benchmarking step failed; the message names the step."""


def benchmarks_to_compare(project: Path, patterns: Sequence[str], ci: bool = False) -> list[str]:
    """The benchmark ids that ``patterns`` (asv ``--bench`` regexes; none: all) and, with ``ci``,
    the gate's subset select, plus the drift sentinel, which every comparison measures."""
    if not (Path(project) / "asv.conf.json").is_file():
        raise UsageError(f"{project} has no asv.conf.json: run from the project root or pass --project")
    names = discover(project)
    patterns = [*patterns, *(CI_BENCHMARKS if ci else ())]
    chosen = select(names, patterns) if patterns else names
    if not chosen:
        raise UsageError(f"no benchmark matched {' or '.join(map(repr, patterns))}; {len(names)} benchmarks exist")
    return sorted(set(chosen) | set(select(names, [SENTINEL])))


@dataclass
class RoundValues:
    """Per cell, one value per round for each side; rounds are paired by index."""

    base: str
    head: str
    rounds: int
    benchmarks: dict = field(default_factory=dict)  # benchmarks.json of the run
    values: dict[CellKey, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, key: CellKey, side: str, value: float) -> None:
        self.values.setdefault(key, {"base": [], "head": []})[side].append(value)

    def paired(self) -> dict[CellKey, tuple[list[float], list[float]]]:
        """Cells measured in every round on both sides."""
        return {
            k: (v["base"], v["head"]) for k, v in self.values.items() if len(v["base"]) == len(v["head"]) == self.rounds
        }


def _cells(row: dict) -> list[tuple[str, ...]]:
    params = row.get("params") or []
    return [tuple(map(str, c)) for c in itertools.product(*params)] if params else [()]


def round_values(result: CommitResults, names: Sequence[str], before: dict[str, list[int]]) -> dict[CellKey, float]:
    """Each cell's value in the round that produced ``result``: the median of the
    samples it added (timings), or the value it stored (peakmem, tracks)."""
    out = {}
    for name in names:
        if name not in result.results:
            continue
        row = dict(zip(result.columns, result.results[name], strict=False))
        values = row.get("result") or []
        samples = row.get("samples") or []
        for idx, cell in enumerate(_cells(row)):
            value = values[idx] if idx < len(values) else None
            if value is None or not np.isfinite(value):
                continue
            smp = samples[idx] if idx < len(samples) else None
            if smp:
                seen = before.get(name, [])
                new = smp[seen[idx] if idx < len(seen) else 0 :]
                value = float(np.median(new)) if new else None
            if value is not None:
                out[(name, cell)] = float(value)
    return out


def _asv_run(cmd: list[str], sha: str, work: Path, project: Path, log: Callable[[str], None]) -> None:
    """``asv run`` of one commit, its benchmark lines passed to ``log`` as they come;
    exit 2 (a benchmark failed) leaves that benchmark's cells out."""
    hashfile = work / "commit.txt"
    hashfile.write_text(sha + "\n")
    tail: list[str] = []
    with subprocess.Popen(
        [*cmd, f"HASHFILE:{hashfile}"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        for line in proc.stdout:
            tail = [*tail[-20:], line.rstrip()]
            if ASV_PROGRESS.match(line):
                log("  " + " ".join(line.split()))
    if proc.returncode not in (0, 2):
        cause = first_line("\n".join(tail), last=True) or "no output"
        raise CompareError(f"asv run of {sha[:8]} failed (exit {proc.returncode}): {cause}")


def _eta(start: float, done: int, total: int) -> str:
    """``" (about N min left)"`` once a block (one commit's run of a round) has run."""
    if done == 0:
        return ""
    left = (time.monotonic() - start) / done * (total - done)
    return f" (about {max(1, round(left / 60))} min left)"


def run_rounds(
    project: Path,
    base: str,
    head: str,
    names: Sequence[str],
    rounds: int,
    *,
    results_dir: Path | None = None,
    machine: str | None = None,
    quick: bool = False,
    asv: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
) -> RoundValues:
    """Benchmark ``names`` on ``base`` and ``head`` in ``rounds`` alternating rounds.

    Parameters
    ----------
    project : Path
        The checkout whose ``asv.conf.json`` and suite are used.
    base, head : str
        Full commit hashes.
    names : sequence of str
        Benchmark ids to run (already matched, see :func:`select`).
    rounds : int
        Rounds per side, >= 1; an even number pairs every A-B round with a B-A one.
    results_dir : Path, optional
        Where asv writes results (default: the config's results directory).
    quick : bool
        One sample per cell and round (for tests; asv ``--quick``).
    """
    asv = list(asv or asv_command())
    values = RoundValues(base, head, rounds)
    with tempfile.TemporaryDirectory(prefix="mlupdate-compare-") as tmp:
        work = Path(tmp)
        if results_dir is None:
            config, results = project / "asv.conf.json", project_results_dir(project)
        else:
            config, results = derived_config(project, work / "asv.conf.json", results_dir=results_dir), results_dir
        # asv matches parametrized benchmarks as ``name(p1, p2)``: anchor the name, not the end
        bench = "^(" + "|".join(re.escape(n) for n in names) + r")(\(|$)"
        flags = ["--config", str(config), "--bench", bench, "--record-samples", "-a", "rounds=1", "--show-stderr"]
        flags += (["--quick"] if quick else []) + (["--machine", machine] if machine else [])
        started: set[str] = set()
        clock, done = time.monotonic(), 0
        for r in range(rounds):
            order = (("base", base), ("head", head)) if r % 2 == 0 else (("head", head), ("base", base))
            for side, sha in order:
                log(f"round {r + 1}/{rounds}: {side} {sha[:8]}{_eta(clock, done, 2 * rounds)}")
                appending = sha in started
                before = sample_counts(result_of(results, sha)) if appending else {}
                _asv_run([*asv, "run", *flags, *(["--append-samples"] if appending else [])], sha, work, project, log)
                done += 1
                started.add(sha)
                result = result_of(results, sha)
                if result is None:
                    raise CompareError(f"asv run of {sha[:8]} wrote no results in {results}")
                for key, value in round_values(result, names, before).items():
                    values.add(key, side, value)
        values.benchmarks, _ = read_commit_files(results, warn=lambda _: None)
    return values
