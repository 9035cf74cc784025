"""Instruction counts stored as asv results (``instructions.<benchmark>``) and plotted by asv publish."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers.asv_results import write_asv_results

from mlupdate.bench.results.instruction_results import counted_id, list_counted, store_counts
from mlupdate.bench.results.paired_results import keep_paired, paired_copy
from mlupdate.bench.scaling.exponents import fit_all
from mlupdate.bench.site.scaling_sections import counts_html

DIAGONAL = "growth.QuadraticDiagonal.time_update"


def _repo(tmp_path) -> list[str]:
    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    commits = []
    for subject in ("one", "two"):
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", subject)
        commits.append(git("rev-parse", "HEAD"))
    return commits


def test_counts_are_a_track_of_their_own_and_asv_plots_them(tmp_path):
    commits = _repo(tmp_path)
    results = tmp_path / "results"
    write_asv_results(results, [(c, 1_700_000_000_000 + i, 1.0, 1.0) for i, c in enumerate(commits)], machine="box")
    first = next((results / "box").glob(f"{commits[0][:8]}-*.json"))
    keep_paired(first)
    for commit, scale in zip(commits, (1.0, 1.25), strict=True):
        counts = {(DIAGONAL, ("1",)): 5e6 * scale, (DIAGONAL, ("4",)): 8e7 * scale}
        (written,) = store_counts(results, "box", commit, counts)
        assert written.name.startswith(commit[:8])
    assert store_counts(results, "box", "f" * 40, counts) == []  # a commit with no result file: nothing
    doc = json.loads(first.read_text())
    row = dict(zip(doc["result_columns"], doc["results"][counted_id(DIAGONAL)], strict=False))
    assert row["result"] == [5e6, None, 8e7, None, None, None]  # k = 1, 2, 4, 8, 16, 32: two counted
    assert row["params"] == [["1", "2", "4", "8", "16", "32"]]
    assert doc["results"][DIAGONAL] == json.loads(paired_copy(first).read_text())["results"][DIAGONAL]
    assert counted_id(DIAGONAL) in json.loads(paired_copy(first).read_text())["results"]  # a restore keeps them

    assert list_counted(results) == [counted_id(DIAGONAL)]
    entry = json.loads((results / "benchmarks.json").read_text())[counted_id(DIAGONAL)]
    assert (entry["type"], entry["unit"], entry["param_names"]) == ("track", "instructions", ["k"])
    assert list_counted(results) == []  # listed once
    from mlupdate.bench.scaling.series import load_series

    assert {s.benchmark for s in load_series(results)} == {DIAGONAL, "growth.GrowthGrid.time_update"}  # no counts
    # the scaling page's second channel: the counts fitted as the times are, labelled apart
    quadratic = {(DIAGONAL, (str(k),)): 3e6 * k**2 + 1e5 for k in (1, 2, 4, 8)}
    store_counts(results, "box", commits[1], quadratic)
    unfitted = []
    (fit,) = fit_all(results, warn=unfitted.append, n_boot=50, counted=True)
    assert (fit.series.benchmark, fit.series.commit) == (counted_id(DIAGONAL), commits[1])
    assert fit.fit.exponents["p"] == pytest.approx(2, abs=0.02)
    assert len(unfitted) == 1 and commits[0][:8] in unfitted[0]  # two counted cells: too few to fit
    section = counts_html([fit], unfitted)
    assert 'id="instructions"' in section and counted_id(DIAGONAL) in section and "not fitted" in section
    assert counts_html([]) == ""

    conf = tmp_path / "asv.conf.json"
    conf.write_text(
        json.dumps(
            {
                "version": 1,
                "project": "p",
                "repo": ".",
                "branches": ["main"],
                "results_dir": "results",
                "html_dir": "html",
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "asv", "publish", "--config", str(conf)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    graphs = list((tmp_path / "html" / "graphs").rglob(f"{counted_id(DIAGONAL)}.json"))
    assert graphs, "asv plotted no instruction counts"
    index = json.loads((tmp_path / "html" / "index.json").read_text())
    assert index["benchmarks"][counted_id(DIAGONAL)]["unit"] == "instructions"
