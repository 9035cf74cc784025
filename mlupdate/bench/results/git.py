"""git, as the instruments use it: one way to run it, resolve a ref and read its errors."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from ...errors import UsageError

__all__ = [
    "GIT_IDENTITY",
    "GitError",
    "branch_commits",
    "commit_subjects",
    "git",
    "git_cause",
    "head_commit",
    "resolve",
]

#: The identity of commits made where git has none configured (a CI runner, a fresh container).
GIT_IDENTITY = {"user.name": "mlupdate nightly", "user.email": "nightly@mlupdate.invalid"}


class GitError(RuntimeError):
    """A git command failed; the message names the command, the folder and git's cause."""


@functools.lru_cache
def _configured(cwd: Path) -> bool:
    """Whether git has an identity here (else commits use :data:`GIT_IDENTITY`)."""
    return subprocess.run(["git", "config", "user.email"], cwd=cwd, capture_output=True, text=True).stdout.strip() != ""


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``git ARGS`` in ``cwd`` (output captured); with ``check``, raise :class:`GitError` on failure."""
    identity = [] if _configured(Path(cwd)) else [a for k, v in GIT_IDENTITY.items() for a in ("-c", f"{k}={v}")]
    done = subprocess.run(["git", *identity, *args], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed in {cwd}: {git_cause(done.stderr or done.stdout)}")
    return done


def git_cause(stderr: str) -> str:
    """The line of git's message that names the cause (its first ``fatal:``/``error:``),
    not the advice that follows it.

    >>> git_cause("hint: try this\\nfatal: not a git repository\\nhint: or that")
    'not a git repository'
    """
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line[len(prefix) :]
    return lines[-1] if lines else "no output"


def _rev_parse(ref: str, repo: Path) -> str | None:
    done = git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}", cwd=repo, check=False)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def resolve(ref: str, repo: Path) -> str:
    """The full hash of a git ref; :class:`~mlupdate.errors.UsageError` naming it when it is unknown."""
    sha = _rev_parse(ref, repo)
    if sha is None:
        raise UsageError(f"unknown commit {ref!r}: not a commit of the repository at {repo}")
    return sha


def head_commit(repo: Path) -> str | None:
    """The hash of ``HEAD`` in ``repo`` (``None``: not a git checkout, or no commit yet)."""
    return _rev_parse("HEAD", repo) if Path(repo).is_dir() else None


def commit_subjects(project: Path, limit: int = 2000) -> dict[str, str]:
    """Full hash -> subject line of the newest ``limit`` commits of every branch in ``project``
    (empty where ``project`` is not a git checkout)."""
    done = git("log", "--all", f"--max-count={limit}", "--format=%H%x09%s", cwd=Path(project), check=False)
    if done.returncode != 0:
        return {}
    return dict(line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)


class BranchCommits:
    """The commits of some branches, as a container: a commit is in it when it is on one of them,
    or unknown to the checkout (results measured elsewhere); only commits of other branches are not."""

    def __init__(self, on: set[str], known: set[str]) -> None:
        self.on, self.known = on, known

    def __contains__(self, sha: object) -> bool:
        return sha in self.on or sha not in self.known


def branch_commits(project: Path, branches: list[str]) -> BranchCommits | None:
    """The commits on ``branches`` in ``project`` (:class:`BranchCommits`); None where ``project`` is
    not a git checkout or has none of the branches (nothing to filter by)."""
    on: set[str] = set()
    for branch in branches:
        done = git("rev-list", branch, "--", cwd=Path(project), check=False)
        if done.returncode == 0:
            on.update(done.stdout.split())
    if not on:
        return None
    known = git("rev-list", "--all", cwd=Path(project), check=False)
    return BranchCommits(on, set(known.stdout.split()) if known.returncode == 0 else set())
