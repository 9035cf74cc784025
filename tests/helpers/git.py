"""git and project copies for the tests that drive real commits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def copy_project(root: Path, dest: Path) -> Path:
    """Copy the files git tracks in ``root`` to ``dest`` (a new git repo on ``main``
    with an empty root commit, so that ``first^..last`` ranges work)."""
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (root / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / f, dest / f)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "commit", "-q", "--allow-empty", "-m", "root")
    return dest


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; return its stdout."""
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
