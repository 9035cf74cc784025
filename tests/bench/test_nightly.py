"""The nightly job end to end (a real bare remote, real asv), and its parts."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.git import git

from mlupdate.bench.nightly.job import NightlyConfig, NightlyError, _push, run_nightly
from mlupdate.cli import main

ROOT = Path(__file__).resolve().parents[2]
REMOTE_LOAD = re.compile(r'<(?:script|link)\b[^>]*(?:src|href)="https?://', re.IGNORECASE)


def _steps_dir(story) -> Path:
    return story.checkout / ".asv" / "nightly" / "results" / "steps" / "e2e"


@pytest.mark.slow
def test_first_run_runs_the_oldest_commit_plainly_and_steps_the_others(nightly_story):
    first = nightly_story.runs[0]
    assert first.run.returncode == 0, first.run.stdout[-3000:] + first.run.stderr[-3000:]
    assert "plan: a plain first run, 1 step(s)" in first.run.stdout
    c1, c2 = nightly_story.commits[:2]
    assert set(first.result_commits) == {c1, c2}
    assert sorted(first.steps) == sorted([f"{c1[:12]}.first.step", f"{c2[:12]}.step"])
    step = json.loads((_steps_dir(nightly_story) / f"{c2[:12]}.step").read_text())
    assert (step["base"], step["head"], step["rounds"], step["kind"]) == (c1, c2, 1, "step")
    assert {c["params"][0] for c in step["cells"]} == {"1", "2", "4", "8"}  # the cells --bench named
    assert first.site_hashes == {c1, c2}
    assert "2 commit(s) benchmarked, 1 step(s)" in first.run.stdout


@pytest.mark.slow
def test_a_step_publishes_what_its_paired_rounds_know(nightly_story):
    """asv's graph moves by what the step knows, not by how fast the machine ran that night nor by a
    cell's own scatter in its rounds: HEAD's published value of each timed cell is BASE's published
    value times its series' level (no cell of the story is a confirmed change). The step file keeps
    the raw rounds."""
    from mlupdate.bench.nightly.step import published_ratios
    from mlupdate.bench.results.asv_results import result_of

    c1, c2 = nightly_story.commits[:2]
    results = nightly_story.checkout / ".asv" / "nightly" / "results"
    base, head = result_of(results, c1), result_of(results, c2)
    step = json.loads((_steps_dir(nightly_story) / f"{c2[:12]}.step").read_text())
    name = "growth.QuadraticDiagonal.time_update"
    published = {
        side: dict(zip(r.cells(name), r.values(name), strict=True)) for side, r in (("base", base), ("head", head))
    }
    (level,) = [s["ratio"]["value"] for s in step["series"] if s["series"] == name]
    ratios = published_ratios(step)
    own = []
    for cell in step["cells"]:
        key = tuple(cell["params"])
        assert ratios[f"{name}({', '.join(key)})"] == level
        assert published["head"][key] == pytest.approx(published["base"][key] * level, rel=1e-9), key
        own.append(float(np.median(cell["head"])) / float(np.median(cell["base"])))
    assert len(own) == 4 and any(abs(r / level - 1) > 1e-6 for r in own)  # not the cells' own ratios


def test_a_confirmed_cell_publishes_its_own_ratio_over_all_its_rounds():
    from mlupdate.bench.nightly.step import published_ratios

    cell = {"benchmark": "g.G.time_update", "params": ["4"], "series": "g.G.time_update", "moved": 1}
    confirmed = {**cell, "base": [1.0, 1.0], "head": [1.3, 1.1], "confirm": {"verdict": "confirmed"}}
    confirmed["confirm"] |= {"base": [1.0, 1.0], "head": [1.2, 1.2]}
    doc = {"series": [{"series": "g.G.time_update", "ratio": {"value": 1.02}}], "cells": [confirmed]}
    assert published_ratios(doc) == {"g.G.time_update(4)": pytest.approx(1.2)}
    refuted = {**confirmed, "confirm": {"verdict": "refuted", "base": [1.0], "head": [1.0]}}
    assert published_ratios({**doc, "cells": [refuted]}) == {"g.G.time_update(4)": 1.02}
    # a level that moved in its step and was re-measured: the fresh rounds' estimate
    level = {"series": "g.G.time_update", "ratio": {"value": 1.06}, "confirm": {"verdict": "refuted", "value": 1.01}}
    assert published_ratios({"series": [level], "cells": [refuted]}) == {"g.G.time_update(4)": 1.01}


@pytest.mark.slow
def test_a_night_killed_in_its_step_leaves_no_half_of_it(nightly_story):
    first, killed = nightly_story.runs[:2]
    assert killed.run.returncode == -9, killed.run.stdout[-2000:]
    c2, c3 = nightly_story.commits[1:3]
    assert f"step {c2[:8]} -> {c3[:8]}" in killed.run.stdout
    assert killed.branch_tip == first.branch_tip and killed.site_index == first.site_index
    results = nightly_story.checkout / ".asv" / "nightly" / "results"
    assert not list(results.rglob("*.tmp*")) and not list(results.rglob("tmp*.step"))


@pytest.mark.slow
def test_failed_run_leaves_previous_site_and_results(nightly_story):
    first, refused = nightly_story.runs[0], nightly_story.runs[2]
    assert refused.run.returncode == 1
    errors = [line for line in refused.run.stderr.splitlines() if line.startswith("mlupdate: nightly failed")]
    assert len(errors) == 1 and "push of asv-results failed" in errors[0], refused.run.stderr[-2000:]
    assert "plan: 1 step(s)" in refused.run.stdout  # the killed night's step (only the new commit), measured whole
    assert refused.branch_tip == first.branch_tip
    assert refused.result_commits == first.result_commits
    assert refused.site_index == first.site_index  # the very same site, byte for byte
    assert (nightly_story.site / "index.html").is_file()
    assert not nightly_story.site.with_name("site.new").exists()


@pytest.mark.slow
def test_next_run_pushes_what_the_failed_run_computed(nightly_story):
    first, last = nightly_story.runs[0], nightly_story.runs[3]
    assert last.run.returncode == 0, last.run.stderr[-3000:]
    assert "no new commits" in last.run.stdout  # c3 was measured by the failed run and kept
    c2, c3 = nightly_story.commits[1:3]
    assert set(last.result_commits) == set(nightly_story.commits)
    for commit, blob in first.result_commits.items():  # not benchmarked again
        assert last.result_commits[commit] == blob
    for name, blob in first.steps.items():  # steps are never rewritten
        assert last.steps[name] == blob
    assert f"{c3[:12]}.step" in last.steps
    assert json.loads((_steps_dir(nightly_story) / f"{c3[:12]}.step").read_text())["base"] == c2
    assert last.site_hashes == set(nightly_story.commits)


@pytest.mark.slow
def test_site_loads_nothing_from_outside(nightly_story):
    site = nightly_story.site
    for page in site.rglob("*.html"):
        assert not REMOTE_LOAD.search(page.read_text()), page
    assert (site / "vendor" / "jquery.min.js").is_file()
    assert 'href="scaling/index.html"' in (site / "index.html").read_text()
    assert "QuadraticDiagonal" in (site / "scaling" / "index.html").read_text()


# --- the parts ---------------------------------------------------------------


def _results_clone(remote: Path, path: Path) -> Path:
    git(remote.parent, "clone", "-q", "--branch", "asv-results", str(remote), str(path))
    return path


def test_push_replays_on_a_remote_that_moved(tmp_path):
    """Two runs push at once: the second is rejected, replays on the first's
    commit and pushes; nobody's results are lost and our benchmarks.json wins."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "asv-results", str(remote))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "asv-results", str(seed))
    (seed / "benchmarks.json").write_text('{"v": 0}')
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "seed")
    git(seed, "push", "-q", str(remote), "asv-results")
    a, b = _results_clone(remote, tmp_path / "a"), _results_clone(remote, tmp_path / "b")
    for clone, name in ((a, "a"), (b, "b")):
        (clone / "m").mkdir()
        (clone / "m" / f"{name}.json").write_text("{}")
        (clone / "benchmarks.json").write_text(f'{{"v": "{name}"}}')
        git(clone, "add", "-A")
        git(clone, "commit", "-qm", name)
    git(b, "push", "-q", "origin", "HEAD:asv-results")

    cfg = NightlyConfig(project=ROOT, remote=str(remote), out=tmp_path / "site", work=tmp_path / "work")
    with caplog_on("mlupdate") as messages:
        assert _push(cfg, a) == 2
    assert any("replaying" in m for m in messages)
    tree = git(remote, "ls-tree", "-r", "--name-only", "asv-results").split()
    assert sorted(tree) == ["benchmarks.json", "m/a.json", "m/b.json"]
    assert git(remote, "show", "asv-results:benchmarks.json") == '{"v": "a"}'


@contextlib.contextmanager
def caplog_on(name: str):
    """The messages logged to ``name`` in the block (the CLI's handler may stop their propagation)."""
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger, handler = logging.getLogger(name), Keep()
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_push_gives_up_with_a_clear_error(tmp_path):
    cfg = NightlyConfig(project=ROOT, remote=str(tmp_path / "missing.git"), out=tmp_path / "site", push_retries=2)
    repo = tmp_path / "r"
    git(tmp_path, "init", "-q", "-b", "asv-results", str(repo))
    git(repo, "commit", "-q", "--allow-empty", "-m", "x")
    git(repo, "remote", "add", "origin", str(tmp_path / "missing.git"))
    with pytest.raises(NightlyError, match="push of asv-results failed after 1 attempt"):
        _push(cfg, repo)


def test_two_nightlies_never_interleave(tmp_path):
    cfg = NightlyConfig(project=ROOT, remote="origin", out=tmp_path / "site", work=tmp_path / "work")
    cfg.work.mkdir()
    with open(cfg.work / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(NightlyError, match="another nightly is running"):
            run_nightly(cfg)
    assert not (tmp_path / "site").exists()


def test_unreachable_results_remote_is_one_clear_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlupdate",
            "nightly",
            "--remote",
            str(tmp_path / "nowhere.git"),
            "--out",
            str(tmp_path / "site"),
            "--work",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    first = proc.stderr.splitlines()[0]
    # the cause git names, not the advice that follows it ("... and the repository exists.")
    assert first.endswith(
        f"cannot reach the results remote {tmp_path / 'nowhere.git'}: "
        f"'{tmp_path / 'nowhere.git'}' does not appear to be a git repository"
    ), first
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--machine", "my machine"], "machine name 'my machine' is not allowed"),
        (["--max-commits", "0"], "'0' is not a whole number >= 1"),
        (["--project", "/nonexistent"], "has no asv.conf.json"),
        (["--threshold", "0"], "'0' is not a percentage between 0 and 100"),
        (["--budget", "-5"], "'-5' is not a positive number of minutes"),
        (["--anchor-every", "0"], "'0' is not a whole number >= 1"),
        (["--cells", "time_update(("], "cell pattern 'time_update((' is not a regular expression"),
    ],
)
def test_bad_nightly_input_exits_2(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(ROOT)  # the project by default (the subprocess path: test_unreachable_results_remote_...)
    assert main(["nightly", "--out", str(tmp_path / "site"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "site").exists()


def test_results_commits_work_without_a_git_identity(tmp_path, monkeypatch):
    """A fresh CI machine may have no user.name/email: the nightly brings its own."""
    from mlupdate.bench.nightly.job import _git

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    repo = tmp_path / "results"
    _git("init", "-q", "-b", "asv-results", str(repo), cwd=tmp_path)
    _git("commit", "-q", "--allow-empty", "-m", "results", cwd=repo)
    assert _git("log", "-1", "--format=%an <%ae>", cwd=repo).stdout.strip() == (
        "mlupdate nightly <nightly@mlupdate.invalid>"
    )


def test_the_readme_s_empty_remote_setup_works_as_written(tmp_path):
    """The README's nightly section, from an empty bare remote: its git lines, run as written in a
    fresh clone (which has an ``origin`` already), give a remote whose clone checks out ``main``."""
    import re
    import subprocess
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Nightly publishing", 1)[1].split("\n## ", 1)[0]
    lines = re.findall(r"^    (git .+)$", section, flags=re.MULTILINE)
    assert any("init --bare" in line for line in lines)
    upstream, checkout = tmp_path / "upstream", tmp_path / "checkout"
    upstream.mkdir()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env |= {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=upstream, check=True, env=env)
    (upstream / "f.txt").write_text("x\n")
    subprocess.run(["git", "add", "-A"], cwd=upstream, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "first"], cwd=upstream, check=True, env=env)
    subprocess.run(["git", "clone", "-q", str(upstream), str(checkout)], check=True, env=env)  # the user's clone
    for line in lines:
        subprocess.run(line, shell=True, cwd=checkout, check=True, env=env)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(tmp_path / "mlupdate-remote.git"), str(clone)], check=True, env=env)
    assert (clone / "f.txt").read_text() == "x\n"
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=clone, capture_output=True, text=True, env=env)
    assert branch.stdout.strip() == "main"
