"""The nightly story: one real remote, three commits, four nightly runs (built once per session).

c1, c2: the first run (c1 plainly, then the step c1->c2); c3: a run killed in the
middle of its step, then one whose push is refused (it measures the step again and
keeps it), then one that pushes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from helpers.git import copy_project, git

ROOT = Path(__file__).resolve().parents[2]
NIGHTLY_BENCH = r"QuadraticDiagonal\.time_update\((1|2|4|8)\)"  # small (k up to 8: the CI budget), k on its x-axis
FREEZE_HOOK = """#!/bin/sh
while read old new ref; do
  if [ "$ref" = refs/heads/asv-results ]; then echo "asv-results is frozen" >&2; exit 1; fi
done
"""


@dataclass
class Snapshot:
    run: subprocess.CompletedProcess
    branch_tip: str
    result_commits: dict[str, str]  # project commit -> blob id of its result file
    site_index: bytes | None
    site_hashes: set[str]
    steps: dict[str, str] = field(default_factory=dict)  # step file name on the branch -> blob id


@dataclass
class NightlyStory:
    remote: Path
    checkout: Path
    site: Path
    commits: list[str] = field(default_factory=list)  # c1..c3, oldest first
    runs: list[Snapshot] = field(default_factory=list)


def _snapshot(story: NightlyStory, run: subprocess.CompletedProcess) -> Snapshot:
    tip = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", "refs/heads/asv-results"],
        cwd=story.remote,
        capture_output=True,
        text=True,
    ).stdout.strip()
    results, steps = {}, {}
    if tip:
        for line in git(story.remote, "ls-tree", "-r", tip).splitlines():
            meta, path = line.split("\t")
            if path.startswith("e2e/") and path.endswith(".json") and path != "e2e/machine.json":
                blob = meta.split()[2]
                results[json.loads(git(story.remote, "cat-file", "-p", blob))["commit_hash"]] = blob
            if path.startswith("steps/e2e/"):
                steps[path.rsplit("/", 1)[1]] = meta.split()[2]
    index = story.site / "index.json"
    data = index.read_bytes() if index.is_file() else None
    hashes = set(json.loads(data)["revision_to_hash"].values()) if data else set()
    return Snapshot(run, tip, results, data, hashes, steps)


def _commit(story: NightlyStory, dev: Path, name: str) -> None:
    (dev / "CHANGES.txt").write_text(((dev / "CHANGES.txt").read_text() if name != "c1" else "") + name + "\n")
    git(dev, "add", "-A")
    git(dev, "commit", "-qm", name)
    git(dev, "push", "-q", "origin", "main")
    story.commits.append(git(dev, "rev-parse", "HEAD").strip())
    if story.checkout.exists():
        git(story.checkout, "pull", "-q", "--ff-only")


def _command(story: NightlyStory) -> list[str]:
    # one quick paired round per step (the CI budget): a step with no interval moves nothing, and a 50%
    # threshold keeps the story from spending its time confirming them
    return [
        sys.executable,
        "-m",
        "mlupdate",
        "nightly",
        "--project",
        str(story.checkout),
        "--out",
        str(story.site),
        "--machine",
        "e2e",
        "--remote",
        "nightly",  # the README's: a remote of its own, at a path relative to the checkout
        "--max-commits",
        "2",  # the project copy's empty root commit stays out: c1 and c2 are the first run's
        "--quick",
        "--rounds",
        "1",
        "--threshold",
        "50",
        "--bench",
        NIGHTLY_BENCH,
    ]


def _nightly(story: NightlyStory) -> Snapshot:
    run = subprocess.run(_command(story), capture_output=True, text=True, timeout=900)
    snap = _snapshot(story, run)
    story.runs.append(snap)
    return snap


def _killed_nightly(story: NightlyStory) -> Snapshot:
    """A nightly killed (SIGKILL) in its step's round, as the first of its cells is reported: three
    more cells are still to run before anything is stored (a fixed delay after the round starts
    raced the step, whose one round and pricing can end within it)."""
    proc = subprocess.Popen(_command(story), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "[1/4]" in line:
            proc.send_signal(signal.SIGKILL)
            break
    seen.extend(proc.stdout)
    proc.wait(timeout=60)
    snap = _snapshot(story, subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen), ""))
    story.runs.append(snap)
    return snap


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (a file) for the block: across pytest-xdist workers."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_root(tmp_path_factory) -> Path:
    """A folder every xdist worker of this session shares (the session's base temp without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def template_env(root: Path) -> Path:
    """asv's environment of this project's matrix, once per session (under a lock, by the first
    xdist worker that needs it): the ``.asv/env`` folder to copy (:func:`seed_env`).

    ``make test`` creates the project's own one before pytest starts (``asv setup``, as CI installs
    what its tests need); it is copied, without the commit installed there. Otherwise it is created."""
    from mlupdate.bench.runner.asv_side import asv_conf, create_env

    folder = root / "asv-template"
    env_dir = folder / "env"
    with locked(root / "asv-template.lock"):
        if not (folder / "created").is_file():
            folder.mkdir(exist_ok=True)
            conf = asv_conf(ROOT, folder / "asv.conf.json", env_dir=env_dir, results_dir=folder / "results")
            _copy_prepared(env_dir)
            create_env(conf)  # asv's own check: a copy it does not recognise is created anew
            (folder / "created").write_text("")
    return env_dir


def _copy_prepared(env_dir: Path) -> None:
    """The project's ``.asv/env`` environments that ``asv setup`` made, copied to ``env_dir`` with no
    commit installed and no build cache: asv then takes the one of its matrix, if there is one."""
    import shutil

    ignore = shutil.ignore_patterns("asv-build-cache")
    for made in (ROOT / ".asv" / "env").glob("*/asv-env-info.json"):
        copy = shutil.copytree(made.parent, env_dir / made.parent.name, symlinks=True, ignore=ignore)
        python = [str(Path(copy) / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y", "mlupdate"]
        subprocess.run(python, capture_output=True, check=False)


def seed_env(template: Path, env_dir: Path) -> Path:
    """A copy of the session's environment at ``env_dir`` (as the side-by-side runs seed theirs:
    a second instead of a minute of installs), for a test that installs commits in it."""
    import shutil

    shutil.copytree(template, env_dir, symlinks=True)  # with its .pyc files, as the sides are seeded
    return env_dir


def build_story(base: Path, template: Path | None = None) -> NightlyStory:
    base.mkdir(parents=True, exist_ok=True)
    story = NightlyStory(base / "remote.git", base / "checkout", base / "site")
    git(base, "init", "-q", "--bare", "-b", "main", str(story.remote))
    dev = copy_project(ROOT, base / "dev")
    git(dev, "remote", "add", "origin", str(story.remote))
    for name in ("c1", "c2"):
        _commit(story, dev, name)
    git(base, "clone", "-q", str(story.remote), str(story.checkout))
    git(story.checkout, "remote", "add", "nightly", "../remote.git")  # as the README adds it
    if template is not None:
        seed_env(template, story.checkout / ".asv" / "env")
    _nightly(story)
    _commit(story, dev, "c3")
    _killed_nightly(story)
    hook = story.remote / "hooks" / "pre-receive"
    hook.write_text(FREEZE_HOOK)
    hook.chmod(0o755)
    _nightly(story)
    hook.unlink()
    _nightly(story)
    return story
