"""The nightly job: benchmark new commits, keep the results on a branch, publish.

The steps, in the order that keeps a failure harmless:

1. lock the work folder (two nightlies on one machine never interleave);
2. bring the results branch of the remote into ``<work>/results`` (a git
   clone); local result commits that an earlier run could not push are
   replayed on top, so nothing computed is lost;
3. record machine info under one fixed machine name;
4. measure the new first-parent commits of ``main`` (at most ``max_commits`` of the
   newest) as paired steps, each against its predecessor
   (:mod:`mlupdate.bench.nightly.step`; the plan: :mod:`mlupdate.bench.nightly.plan`): the
   history's first commit in two replicas side by side
   (:func:`~mlupdate.bench.runner.side_by_side.run_replicas`), every later one beside the
   commit before it, its moves confirmed by fresh paired rounds, each step stored
   as a file of its own (:mod:`mlupdate.bench.results.step_files`), every ``anchor_every``-th
   also paired with the history's first commit;
5. commit the new result files and push them, retrying on a
   non-fast-forward: fetch, replay our commit on top (our copy of
   ``benchmarks.json`` wins, result files never collide), push again;
6. publish (``asv publish``, scaling report, offline assets) into a staging
   folder beside ``out`` and swap it in.

A failure at any step raises :class:`NightlyError`: the remote branch only
ever receives complete result commits, and ``out`` keeps the previous site.
"""

from __future__ import annotations

import fcntl
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import UsageError, first_line
from ..results.asv_config import asv_command, derived_config, machine_args
from ..results.asv_results import result_commits
from ..results.git import GitError, git, git_cause
from ..runner.asv_side import SideError
from ..site import publish as site
from .night import ANCHOR_EVERY, measure_night

logger = logging.getLogger(__name__)

__all__ = ["NightlyConfig", "NightlyError", "NightlyResult", "run_nightly"]


#: What a step measures: time alone, or time and instruction counts.
MODES = ("time", "both")


class NightlyError(RuntimeError):
    """A nightly step failed; the message names the step."""


@dataclass
class NightlyConfig:
    """What one nightly run does.

    Parameters
    ----------
    project : Path
        A git checkout of the project with full history and a local ``main``.
    remote : str
        Remote name (of ``project``) or URL that holds the results branch.
    out : Path
        Where the published site goes (replaced only when everything worked).
    branch : str
        The results branch (created on the first push).
    machine : str
        The fixed asv machine name this machine's results are stored under.
    work : Path or None
        Work folder (results clone, asv config); default ``project/.asv/nightly``.
    max_commits : int
        Look at most this many of the newest first-parent commits of ``main``.
    bench : sequence of str
        asv ``--bench`` filters (regular expressions); empty runs the whole suite.
    quick : bool
        asv ``--quick`` (one run per benchmark): for tests and smoke runs.
    push_retries : int
        Attempts at pushing the results branch.
    cells : sequence of str
        Regular expressions on cell labels (``name(param, ...)``): keep only the cells one
        matches (a slice of a grid); empty keeps every cell of the benchmarks chosen.
    threshold : float
        A step moved a cell, series or exponent when it changed by more than this
        fraction (0.05: 5%); only confirmed moves are changes.
    budget : float or None
        Minutes the night may spend measuring; what does not fit is named as missing.
    anchor_every : int
        Pair every ``anchor_every``-th commit of the history with its first commit too.
    rounds : int or None
        Paired rounds per step (default: each benchmark's own ``rounds``, as one unpaired
        run takes).
    mode : {"time", "both"}
        ``both``: each step also counts its small single-threaded cells' instructions under
        callgrind (:mod:`.counted`); a count beyond 1% is a change at its commit, unconfirmed rounds
        needing none.
    """

    project: Path
    remote: str
    out: Path
    branch: str = "asv-results"
    machine: str = "nightly"
    work: Path | None = None
    max_commits: int = 20
    bench: Sequence[str] = ()
    quick: bool = False
    push_retries: int = 5
    cells: Sequence[str] = ()
    threshold: float = 0.05
    budget: float | None = None
    anchor_every: int = ANCHOR_EVERY
    rounds: int | None = None
    mode: str = "time"

    def __post_init__(self) -> None:
        self.project = Path(self.project).resolve()
        self.out = Path(self.out).resolve()
        self.work = Path(self.work).resolve() if self.work else self.project / ".asv" / "nightly"
        if not self.machine or not all(ch.isalnum() or ch in "-_." for ch in self.machine):
            raise UsageError(f"machine name {self.machine!r} is not allowed: use letters, digits, '-', '_' and '.'")
        if self.max_commits < 1:
            raise UsageError(f"max_commits={self.max_commits} is not allowed: it must be >= 1")
        if self.push_retries < 1:
            raise UsageError(f"push_retries={self.push_retries} is not allowed: it must be >= 1")
        if self.mode not in MODES:
            raise UsageError(f"mode {self.mode!r} is not allowed: use one of {', '.join(MODES)}")
        if not 0 < self.threshold < 1:
            raise UsageError(f"threshold={self.threshold} is not allowed: it must be a fraction in (0, 1)")
        if self.anchor_every < 1:
            raise UsageError(f"anchor_every={self.anchor_every} is not allowed: it must be >= 1")
        if self.budget is not None and self.budget <= 0:
            raise UsageError(f"budget={self.budget} minutes is not allowed: it must be > 0")
        for pattern in self.cells:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise UsageError(f"cell pattern {pattern!r} is not a regular expression: {exc}") from None
        if not (self.project / "asv.conf.json").is_file():
            raise UsageError(f"{self.project} has no asv.conf.json: not an mlupdate checkout")


@dataclass
class NightlyResult:
    """What a run did: commits benchmarked, steps, confirmed changes, push attempts, the site's page."""

    benchmarked: list[str] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (base, head) stored this night
    anchors: list[tuple[str, str]] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (head, what) confirmed
    unconfirmed: list[tuple[str, str]] = field(default_factory=list)
    priced: list[tuple[str, str]] = field(default_factory=list)  # (head, a priced series' summary line)
    noisy: list[tuple[str, str]] = field(default_factory=list)  # (head, why) of steps measured under other load
    missing: list[str] = field(default_factory=list)  # new commits left without a step
    push_attempts: int = 0  # 0: nothing to push
    site: Path | None = None
    commits_in_results: int = 0


def _git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    try:
        return git(*args, cwd=cwd, check=check)
    except GitError as exc:
        raise NightlyError(str(exc)) from None


def _remote_url(cfg: NightlyConfig) -> str:
    """The remote's URL, a local path made absolute (a remote's relative to the project, as git reads
    it there; a path given on the command line relative to where it runs): the results branch is
    fetched from ``<work>/results``, where ``../remote.git`` (the README's) would name another folder."""
    done = _git("remote", "get-url", cfg.remote, cwd=cfg.project, check=False)
    if done.returncode != 0:  # not a remote's name: a URL, or a path from where the command runs
        return str(Path(cfg.remote).resolve()) if Path(cfg.remote).exists() else cfg.remote
    url = done.stdout.strip()
    if "://" not in url and not _is_scp_like(url) and not Path(url).is_absolute():
        return str((Path(cfg.project) / url).resolve())
    return url


def _is_scp_like(url: str) -> bool:
    """``host:path`` or ``user@host:path`` (git's scp-like syntax), not a local path."""
    head, colon, _ = url.partition(":")
    return bool(colon) and "/" not in head


def _remote_has_branch(url: str, branch: str, cwd: Path) -> bool:
    done = _git("ls-remote", "--heads", url, branch, cwd=cwd, check=False)
    if done.returncode != 0:
        raise NightlyError(f"cannot reach the results remote {url}: {git_cause(done.stderr)}")
    return bool(done.stdout.strip())


def _replay_on_remote(results: Path, branch: str) -> None:
    """Put local result commits on top of the remote branch (ours win in conflicts).

    A rebase that still fails is aborted, so the clone is never left mid-rebase.
    """
    _git("fetch", "-q", "origin", branch, cwd=results)
    done = _git("rebase", "-q", "-X", "theirs", "FETCH_HEAD", cwd=results, check=False)
    if done.returncode != 0:
        _git("rebase", "--abort", cwd=results, check=False)
        raise NightlyError(
            f"cannot replay local results on {branch}: {first_line(done.stderr or done.stdout, last=True) or 'no output'}"
        )


def _has_commits(repo: Path) -> bool:
    return _git("rev-parse", "--verify", "-q", "HEAD", cwd=repo, check=False).returncode == 0


def _sync_results(cfg: NightlyConfig, url: str) -> Path:
    """``<work>/results``: the remote branch plus any local commits not pushed yet."""
    results = cfg.work / "results"
    if not (results / ".git").is_dir():
        if results.exists():
            shutil.rmtree(results)
        _git("init", "-q", "-b", cfg.branch, str(results), cwd=cfg.work)
        _git("remote", "add", "origin", url, cwd=results)
    else:
        _git("remote", "set-url", "origin", url, cwd=results)
    _git("add", "-A", cwd=results)  # files of a run that died before committing are kept, not lost
    if _git("diff", "--cached", "--quiet", cwd=results, check=False).returncode != 0:
        _git("commit", "-q", "-m", "asv results left by an interrupted run", cwd=results)
    if _remote_has_branch(url, cfg.branch, results):
        if _has_commits(results):
            _replay_on_remote(results, cfg.branch)
        else:
            _git("fetch", "-q", "origin", cfg.branch, cwd=results)
            _git("checkout", "-q", "-B", cfg.branch, "FETCH_HEAD", cwd=results)
        logger.info(f"results: {cfg.branch} of {url} fetched")
    else:
        logger.info(f"results: {url} has no branch {cfg.branch} yet; it is created on the first push")
    return results


def _asv_config(cfg: NightlyConfig, results: Path, html: Path) -> Path:
    """The project's asv config with the work folder's results and staging site."""
    return derived_config(cfg.project, cfg.work / "asv.conf.json", results_dir=results, html_dir=html)


def _order(cfg: NightlyConfig) -> list[str]:
    """The newest ``max_commits`` first-parent commits of main, oldest first."""
    listed = _git("rev-list", "--first-parent", f"--max-count={cfg.max_commits}", "main", cwd=cfg.project, check=False)
    if listed.returncode != 0:
        raise NightlyError(f"{cfg.project} has no local branch main (check out with full history and a local main)")
    return list(reversed(listed.stdout.split()))


def _run(cmd: Sequence[str], step: str, ok: tuple[int, ...] = (0,), cwd: Path | None = None) -> int:
    """Run a step with its output streamed (asv shows its own progress)."""
    done = subprocess.run(list(cmd), cwd=cwd)
    if done.returncode not in ok:
        raise NightlyError(f"{step} failed (exit {done.returncode}): {' '.join(map(str, cmd))}")
    return done.returncode


def _push(cfg: NightlyConfig, results: Path) -> int:
    """Push the results branch; on a non-fast-forward, replay on the remote's tip and retry."""
    for attempt in range(1, cfg.push_retries + 1):
        done = _git("push", "-q", "origin", f"HEAD:refs/heads/{cfg.branch}", cwd=results, check=False)
        if done.returncode == 0:
            return attempt
        message = done.stderr.strip()
        rejected = "non-fast-forward" in message or "fetch first" in message
        if not rejected or attempt == cfg.push_retries:
            cause = first_line(message, last=True) or "no output"
            raise NightlyError(f"push of {cfg.branch} failed after {attempt} attempt(s): {cause}")
        logger.info(f"push: {cfg.branch} moved on the remote (attempt {attempt}); replaying on its tip")
        _replay_on_remote(results, cfg.branch)
        time.sleep(min(2.0, 0.2 * attempt))
    raise AssertionError("unreachable")


def run_nightly(cfg: NightlyConfig, asv: Sequence[str] | None = None) -> NightlyResult:
    """Run the nightly job described by ``cfg``; see the module docstring."""
    asv = list(asv or asv_command())
    cfg.work.mkdir(parents=True, exist_ok=True)
    result = NightlyResult()
    with open(cfg.work / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NightlyError(f"another nightly is running in {cfg.work}") from None
        url = _remote_url(cfg)
        results = _sync_results(cfg, url)
        staging = cfg.out.with_name(cfg.out.name + ".new")
        config = _asv_config(cfg, results, staging)

        _run([*asv, "machine", *machine_args(cfg.machine), "--yes", "--config", str(config)], "asv machine")
        try:
            measure_night(cfg, _order(cfg), results, result)
        except SideError as exc:
            raise NightlyError(f"benchmarking: {exc}") from exc
        finally:  # what was stored before a failure is kept and pushed
            _git("add", "-A", cwd=results)
            if _git("diff", "--cached", "--quiet", cwd=results, check=False).returncode != 0:
                message = (
                    f"asv results: {len(result.benchmarked)} commit(s), {len(result.steps)} step(s) on {cfg.machine}"
                )
                _git("commit", "-q", "-m", message, cwd=results)

        if _has_commits(results):
            result.push_attempts = _push(cfg, results)
            logger.info(f"results pushed to {cfg.branch} of {url}")
        result.commits_in_results = len(result_commits(results, cfg.machine))

        if staging.exists():
            shutil.rmtree(staging)
        try:
            site.publish(asv, config, staging, results)
            site.replace_dir(staging, cfg.out)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        result.site = cfg.out / "index.html"
        logger.info(f"site: {result.site} ({result.commits_in_results} commits of machine {cfg.machine})")
        return result
