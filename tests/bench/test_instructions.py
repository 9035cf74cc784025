"""Instruction counts: exact where time is not, and refused where they would mislead."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from mlupdate.bench.instructions.cells import not_counted
from mlupdate.bench.instructions.hooks import build_hooks, valgrind
from mlupdate.bench.instructions.server import CountServer, read_total
from mlupdate.cli import main

ROOT = Path(__file__).resolve().parents[2]
PASSES = '''
import numpy as np


class Passes:
    """An extra pass over each batch: 50 passes against 51."""

    params = [[50, 51]]

    def setup(self, n):
        self.batches = np.random.default_rng(0).standard_normal((8, 64, 32))

    def time_passes(self, n):
        total = 0.0
        for _ in range(n):
            for batch in self.batches:
                total += float((batch.T @ batch).trace())
        return total
'''


def _need_valgrind() -> None:
    """CI installs valgrind (.ci/run) and must run these; a developer's machine without it skips them."""
    if shutil.which("valgrind") is None and not os.environ.get("CI"):
        pytest.skip("valgrind is not installed (Debian: apt-get install valgrind); CI installs it")


def _suite(tmp_path: Path, module: str, text: str) -> Path:
    """A benchmark folder of one module ``module`` holding ``text``."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    (suite / f"{module}.py").write_text(text)
    return suite


def _index(cls_params, combo) -> int:
    return list(itertools.product(*cls_params)).index(combo)


def _server(tmp_path: Path, benchmark_dir: Path, cells: list[str], name: str = "side", **kwargs) -> CountServer:
    return CountServer(
        valgrind(),
        sys.executable,
        benchmark_dir,
        build_hooks(tmp_path / "cache"),
        cells,
        tmp_path / name,
        dict(os.environ),
        **kwargs,
    )


@pytest.mark.slow
def test_the_same_code_counts_the_same_in_every_child_of_a_server(tmp_path):
    """Three cells counted by one server, the first two twice (its start, importing scikit-learn under
    valgrind, is 20 s of this test; QuadraticDiagonal(1) is GrowthGrid's 1x1 update again, and not
    counted). Each child starts from the same server state: their counts agree within 0.1%, the
    issue's bound (seen: 0 to 0.018% apart with the other test worker busy; up to 0.18% when the
    server parsed each request before forking)."""
    _need_valgrind()
    from benchmarks.growth import GrowthGrid

    sizes = [(1, 1), (2, 1), (1, 2)]
    cells = grid = [f"growth.GrowthGrid.time_update-{_index(GrowthGrid.params, (m, n, 'serial'))}" for m, n in sizes]
    server = _server(tmp_path, ROOT / "benchmarks", cells)
    try:
        # the third cell once: each count costs seconds under valgrind
        first = {c: server.count(c) for c in cells}
        second = {c: server.count(c) for c in cells[:2]}
    finally:
        server.close()
    for cell in cells:
        assert first[cell] > 1_000_000, (cell, first[cell])  # the update itself, not an empty window
    for cell in cells[:2]:
        assert abs(second[cell] / first[cell] - 1) <= 0.001, (cell, first[cell], second[cell])
    assert first[grid[1]] > 1.5 * first[grid[0]]  # two models' visits count more than one's
    assert first[grid[2]] > first[grid[0]]  # and two batches' more than one's


@pytest.mark.slow
def test_an_extra_pass_over_each_batch_reads_its_share_of_the_work(tmp_path):
    _need_valgrind()
    suite = _suite(tmp_path, "passes", PASSES)
    cells = ["passes.Passes.time_passes-0", "passes.Passes.time_passes-1"]
    counts = []
    for name, counted in (("a", cells), ("b", cells[:1])):  # each count costs seconds: b's first cell is enough
        server = _server(tmp_path, suite, cells, name)
        try:
            counts.append({c: server.count(c) for c in counted})
        finally:
            server.close()
    assert counts[0][cells[1]] / counts[0][cells[0]] == pytest.approx(51 / 50, abs=0.005)
    assert counts[0][cells[0]] == pytest.approx(counts[1][cells[0]], rel=0.001)  # two servers agree


@pytest.mark.slow
def test_a_cell_that_hangs_under_valgrind_is_stopped_at_the_timeout(tmp_path):
    _need_valgrind()
    suite = _suite(
        tmp_path, "hang", "import time\n\n\nclass Hang:\n    def time_forever(self):\n        time.sleep(3600)\n"
    )
    server = _server(tmp_path, suite, ["hang.Hang.time_forever"], timeout=60)
    server.wait_ready()  # the start within a minute however loaded the machine; then each count within 3 s
    server.timeout = 3
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"counting hang.Hang.time_forever took more than 3 s"):
        server.count("hang.Hang.time_forever")
    assert time.monotonic() - started < 60 and server.proc.poll() is not None  # stopped whole, not left
    server.close()


def test_a_thread_pool_cell_is_refused_in_one_line_before_any_install(capsys):
    bench = r"GrowthGrid\.time_update\(2, 1, 'joblib'\)"
    argv = ["compare", "HEAD", "HEAD", "--mode", "instructions", "--bench", bench, "--project", str(ROOT)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runs on the joblib executor" in err and "single-threaded" in err, err


def test_without_valgrind_the_mode_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no valgrind on it
    assert main(["compare", "HEAD", "HEAD", "--mode", "instructions", "--project", str(ROOT)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs valgrind, which is not installed" in err, err


def test_which_cells_are_counted():
    bdir = ROOT / "benchmarks"
    assert not_counted("growth.GrowthGrid.time_update", ("2", "4", "'serial'"), bdir) is None
    assert "joblib executor" in not_counted("growth.GrowthGrid.time_update", ("2", "1", "'joblib'"), bdir)
    assert "16 model-batch visits" in not_counted("growth.GrowthGrid.time_update", ("4", "4", "'serial'"), bdir)
    assert not_counted("growth.GrowthGrid.peakmem_update", ("1", "1", "'serial'"), bdir) == "is not a timed call"


def test_a_callgrind_file_is_read_by_its_totals_line(tmp_path):
    out = tmp_path / "cg.1"
    out.write_text("# callgrind format\nevents: Ir\nsummary: 0\n\nfn=(1) f\n3 12\ntotals: 38694604\n")
    assert read_total(out) == 38694604
    (tmp_path / "cg.2").write_text("not callgrind\n")
    with pytest.raises(RuntimeError, match="no totals line"):
        read_total(tmp_path / "cg.2")


def test_a_nightly_step_counts_and_an_exact_move_is_its_commits_change(monkeypatch, tmp_path):
    """``nightly --mode both``: a step's counted cells sit in its file beside time; a count beyond the
    band is a change at that commit without fresh rounds, and the Steps page shows the channel apart.
    (The counting itself, under valgrind, is the tests above: here its values are given.)"""
    from mlupdate.bench.compare.rounds import RoundValues
    from mlupdate.bench.nightly import counted
    from mlupdate.bench.results.step_files import changes_of
    from mlupdate.bench.site.steps_page import _commit_section

    values = RoundValues("b" * 40, "h" * 40, 1, mode="instructions", not_counted={"x.Big.time_update(64)": "too big"})
    for params, base, head in ((("1",), 1_000_000, 1_000_300), (("2",), 2_000_000, 2_060_000)):
        values.add(("growth.QuadraticDiagonal.time_update", params), "base", float(base))
        values.add(("growth.QuadraticDiagonal.time_update", params), "head", float(head))
    monkeypatch.setattr(counted, "count_commits", lambda *args, **kwargs: values)
    entry = counted.count_step(ROOT, "b" * 40, "h" * 40, ["growth.QuadraticDiagonal.time_update"])
    assert [(c["params"], c["verdict"], c["moved"]) for c in entry["cells"]] == [
        (["1"], "same", 0),
        (["2"], "slower", 1),
    ]
    step = {"kind": "step", "base": "b" * 40, "head": "h" * 40, "rounds": 2, "seconds": 60.0, "threshold": 0.05}
    doc = {**step, "cells": [], "series": [], "exponents": [], "instructions": entry}
    assert changes_of(doc) == (["growth.QuadraticDiagonal.time_update(2) instructions"], [])
    page = _commit_section(doc)
    assert "Instructions (callgrind, exact, band 1%): 2 cells counted, 1 not counted" in page
    # the night stores each side's counts as asv results of its commit (HEAD's file exists; BASE's not)
    from types import SimpleNamespace

    from helpers.asv_results import write_asv_results

    from mlupdate.bench.nightly.night import _count

    write_asv_results(tmp_path, [("h" * 40, 1_700_000_000_000, 1.0, 1.0)], machine="box")
    night = {**step, "cells": [], "series": [], "exponents": []}
    _count(
        SimpleNamespace(project=ROOT, machine="box"), night, ["growth.QuadraticDiagonal.time_update"], None, tmp_path
    )
    (stored,) = (tmp_path / "box").glob("hhhhhhhh-*.json")
    row = json.loads(stored.read_text())["results"]["instructions.growth.QuadraticDiagonal.time_update"]
    assert row[0][:3] == [1_000_300, 2_060_000, None]  # HEAD's counts at k = 1, 2; k = 4 not counted
    assert "x1.0300 (slower: 2,000,000 -> 2,060,000)" in page and "Time: nothing moved beyond 5%" in page


def test_nightly_both_without_valgrind_is_one_line_before_the_night(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no valgrind on it
    argv = ["nightly", "--project", str(ROOT), "--out", str(tmp_path / "site"), "--mode", "both"]
    assert main([*argv, "--bench", r"QuadraticDiagonal\.time_update"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "valgrind" in err, err
    assert not (tmp_path / "site").exists()


def test_counted_series_get_a_level_and_exponents_from_one_round():
    """Counts are exact: one round gives each series its level and exponent change, by the same series
    model (the counted cells' ratios as exact cells), and the one verdict rule."""
    from mlupdate.bench.compare import judge
    from mlupdate.bench.compare.rounds import RoundValues

    name = "growth.QuadraticDiagonal.time_update"
    values = RoundValues("b" * 40, "h" * 40, 1, {name: {"param_names": ["k"], "params": [["1", "2", "4"]]}})
    values.mode = "instructions"
    for k, ratio in ((1, 1.02), (2, 1.04), (4, 1.08)):  # the extra work grows with k
        values.add((name, (str(k),)), "base", 1e6 * k * k)
        values.add((name, (str(k),)), "head", 1e6 * k * k * ratio)
    comparison = judge(values, 1.01)
    (level,) = comparison.series
    assert level.verdict == "slower" and level.low == level.high == pytest.approx(level.ratio)
    (p,) = comparison.exponents
    assert p.exponent == "p" and p.delta == pytest.approx(0.0413, abs=0.001) and p.low == p.high and p.verdict == "same"
    from mlupdate.cli.render import comparison_summary

    (totals,) = [line for line in comparison_summary(comparison, 0.1) if " cells, " in line]
    assert "counted under callgrind, one count a side" in totals and "two cores" not in totals
