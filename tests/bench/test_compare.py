"""mlupdate compare: the statistics on synthetic rounds, the CLI's bad input, one real run."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from helpers.asv_results import GRID, synthetic_rounds

from mlupdate.bench.compare import judge
from mlupdate.bench.compare.stats import judge_cell, t_interval
from mlupdate.bench.runner.side_by_side import SIDE_SUFFIXES
from mlupdate.cli import main
from mlupdate.cli.render import render_comparison as render

ROOT = Path(__file__).resolve().parents[2]


def test_t_interval_matches_scipy():
    from scipy import stats

    x = [0.1, -0.05, 0.02, 0.07]
    mean, lo, hi = t_interval(x)
    ref = stats.t.interval(0.95, 3, loc=np.mean(x), scale=stats.sem(x))
    assert mean == pytest.approx(np.mean(x))
    assert (lo, hi) == pytest.approx(ref)


@pytest.mark.parametrize("seed", range(5))
def test_same_code_reads_same(seed):
    cmp = judge(synthetic_rounds(rounds=8, noise=0.02, seed=seed), factor=1.1)
    assert len(cmp.cells) == len(GRID) ** 2
    assert [c for c in cmp.cells if c.verdict != "same"] == []
    assert [e for e in cmp.exponents if e.verdict != "same"] == []
    assert cmp.noise < 0.05
    assert not cmp.failed and not cmp.undecided


@pytest.mark.parametrize("seed", range(5))
def test_too_few_rounds_for_the_noise_are_undecided_not_same(seed):
    cmp = judge(synthetic_rounds(rounds=4, noise=0.08, seed=seed), factor=1.1)
    assert {c.verdict for c in cmp.cells} <= {"same", "undecided"}
    assert cmp.undecided and not cmp.failed
    for c in cmp.undecided:  # its interval reaches outside the 10% band
        assert c.low < 1 / 1.1 or c.high > 1.1


@pytest.mark.parametrize("seed", range(3))
def test_drift_between_rounds_gives_no_verdict(seed):
    # the machine moves by ~30% from round to round, both sides alike
    cmp = judge(synthetic_rounds(rounds=8, noise=0.02, round_drift=0.3, seed=seed), factor=1.1)
    assert {c.verdict for c in cmp.cells} == {"same"}
    assert not cmp.failed


def test_drift_within_rounds_widens_instead_of_judging():
    # whichever side runs second in a round reads 15% slower: A B, B A cancels it
    cmp = judge(synthetic_rounds(noise=0.02, within_drift=0.15), factor=1.1)
    assert {c.verdict for c in cmp.cells} == {"undecided"}
    assert all(abs(math.log(c.ratio)) < 0.05 for c in cmp.cells)
    assert all(c.high / c.low > 1.15 for c in cmp.cells)  # the spread is in the interval


def test_a_real_slowdown_is_flagged_where_it_is():
    slow = {(str(m), str(n), "'serial'"): 1.25 for m in (8, 16) for n in GRID}
    cmp = judge(synthetic_rounds(rounds=6, noise=0.03, slow=slow), factor=1.1)
    flagged = {c.params for c in cmp.cells if c.verdict == "slower"}
    assert flagged == set(slow)
    assert cmp.failed and len(cmp.slower) == len(slow)
    for c in cmp.cells:
        if c.params in slow:
            assert c.low > 1.1 and c.ratio == pytest.approx(1.25, rel=0.05)


def test_grown_exponent_is_flagged():
    cmp = judge(synthetic_rounds(noise=0.03, head_b=1.0), factor=1.1)
    # the series model's exponents are log-log slopes: with the offset of t = c m^a n^b + d, a change of
    # b by 0.3 reads about 0.23 there, and a (unchanged in the surface) moves less than the band
    b = next(e for e in cmp.exponents if e.exponent == "b")
    assert b.verdict == "grew" and b.delta == pytest.approx(0.25, abs=0.05) and b.low > 0.1
    a = next(e for e in cmp.exponents if e.exponent == "a")
    assert a.verdict != "grew" and a.delta < 0.1
    assert cmp.failed


def test_faster_is_not_a_failure():
    slow = {(str(m), "16", "'serial'"): 0.7 for m in GRID}
    cmp = judge(synthetic_rounds(noise=0.03, slow=slow), factor=1.1)
    assert {c.params for c in cmp.cells if c.verdict == "faster"} == set(slow)
    assert not cmp.slower


def test_unpaired_rounds_are_refused():
    with pytest.raises(ValueError, match="cannot be paired"):
        judge_cell("x.Y.time_z", (), [1.0, 1.0], [1.0], 1.1)


def test_render_json_shape_and_markdown():
    cmp = judge(synthetic_rounds(seed=1), factor=1.1)
    data = json.loads(render(cmp, "json"))
    assert set(data["cells"][0]) == {
        "benchmark",
        "params",
        "base",
        "head",
        "ratio",
        "low",
        "high",
        "verdict",
        "rounds",
        "mde",
        "alone",
        "log_ratios",
        "seats",
    }
    assert data["cells"][0]["rounds"] == 4 and data["cells"][0]["mde"] > 0
    assert len(data["cells"][0]["log_ratios"]) == 4
    assert set(data["exponents"][0]) == {"series", "exponent", "base", "head", "delta", "low", "high", "verdict"}
    assert data["noise"]["sd_log_ratio"] == pytest.approx(cmp.noise)
    assert set(data["series"][0]) == {
        "series",
        "cells",
        "rounds",
        "ratio",
        "low",
        "high",
        "verdict",
        "mde",
        "cell_residual_sd",
        # what the series costs on each side (empty here: synthetic rounds state no workloads)
        "counts_changed",
        "unit_costs",
        "predicted",
        "counts_from",
    }
    md = render(cmp, "markdown").splitlines()
    assert md[0].startswith("| series | cells | rounds | level |")  # the series first, the cells after
    assert any(line.startswith("| benchmark (params) | base | head | ratio |") for line in md)
    text = render(cmp, "text")
    assert "noise sd(log ratio)" in text and "growth.GrowthGrid.time_update(1, 1, 'serial')" in text


def _cli(argv, capsys):
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "no-such-ref", "HEAD"], "unknown commit 'no-such-ref'"),
        (["compare", "HEAD", "HEAD", "--bench", "NoSuchBenchmark"], "--bench 'NoSuchBenchmark' matches no benchmark"),
        (["compare", "HEAD", "HEAD", "--bench", "("], "--bench '(' is not a regular expression"),
        (["suite", "HEAD", "--bench", r"GrowthGrid\.time_update\(999"], "matches no benchmark and no cell"),
        (["compare", "HEAD", "HEAD", "--factor", "0.9"], "'0.9' is not a number > 1"),
        (["compare", "HEAD", "HEAD", "--rounds", "2"], "too few to pair"),
        (["compare", "HEAD", "HEAD", "--rounds", "5", "--max-rounds", "4"], "--max-rounds 4 is below --rounds 5"),
        (["compare", "HEAD", "HEAD", "--same-within", "150"], "'150' is not a percentage between 0 and 100"),
        (["compare", "HEAD", "HEAD", "--budget", "-1"], "'-1' is not a positive number of minutes"),
        (["compare", "HEAD"], "give BASE and HEAD (two commits), or --fleet A B"),
        (["compare", "--fleet", "nope", "other"], "--fleet 'nope' is not a registered fleet"),
        (["compare", "--fleet", "a", "b", "c"], "--fleet takes one fleet (with BASE HEAD) or two (A B), not 3"),
        (["compare", "HEAD", "HEAD", "--project", "/nonexistent"], "has no asv.conf.json"),
    ],
)
def test_cli_bad_input(argv, message, capsys, tmp_path):
    before = sorted(tmp_path.iterdir())
    status, out, err = _cli([*argv, "--results", str(tmp_path)], capsys)
    assert status == 2
    assert err.count("\n") == 1 and message in err, err
    assert out == "" and sorted(tmp_path.iterdir()) == before  # nothing ran, nothing written


@pytest.mark.slow
@pytest.mark.usefixtures("story_env")  # the story's environments, this test's alone while it runs
def test_real_compare_of_two_commits(nightly_story, tmp_path):
    """Two commits of the nightly story (c2, c3: CHANGES.txt only) side by side, real asv, in the
    story's checkout, whose environments have both wheels built already: exact counts are decided
    after 2 rounds, both result files hold every round's samples and the counts each side's runs
    recorded."""
    import subprocess
    import sys

    from mlupdate.bench.results.counts import read_counts
    from mlupdate.plan import Plan

    project = nightly_story.checkout
    c4, c5 = nightly_story.commits[1:3]
    results = tmp_path / "results"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlupdate",
            "compare",
            c4,
            c5,
            "--project",
            str(project),
            "--results",
            str(results),
            "--machine",
            "e2e",
            "--bench",
            r"GrowthCosts\.track_fit_calls\((1|4), ",  # cells, as asv's -b: the 16-model ones are seconds a round
            "--rounds",
            "3",
            "--max-rounds",
            "4",
            "--quick",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "round 2: " in run.stderr and "round 3: " not in run.stderr  # progress on stderr, the JSON alone on stdout
    assert "base on core" in run.stderr and "head on core" in run.stderr
    data = json.loads(run.stdout)
    fits = [c for c in data["cells"] if c["benchmark"] == "growth.GrowthCosts.track_fit_calls"]
    assert len(fits) == 6 and {c["params"][0] for c in fits} == {"1", "4"}
    for c in fits:  # exact counts: the same in every round, on both sides
        n_models = int(c["params"][0])
        assert c["base"] == pytest.approx(n_models) and c["head"] == pytest.approx(n_models)
        assert c["ratio"] == c["low"] == c["high"] == 1.0
        assert c["verdict"] == "same" and c["rounds"] == 2 and not c["alone"]
        assert c["log_ratios"] == [0.0, 0.0]
    # every paired round's seat, for the bias check by seat: BASE's core, the side started first, the position
    (timed,) = [c for c in data["cells"] if c["benchmark"].startswith("sentinel.")]
    assert len(timed["log_ratios"]) == len(timed["seats"]) == 2
    assert [s[0] for s in timed["seats"]] == [0, 1] and all(0 <= s[3] < s[4] for s in timed["seats"])
    assert {s[1] for s in timed["seats"]} <= set(os.sched_getaffinity(0)) and {s[2] for s in timed["seats"]} <= {0, 1}
    # each side installed in the environment folder its run drew, and the draw recorded
    folders = data["design"]["folders"]
    assert sorted(folders) == [0, 1]
    for side, commit in zip(folders, (c4, c5), strict=True):
        (status,) = (project / ".asv" / f"env{SIDE_SUFFIXES[side]}").glob("*/asv-install-status.json")
        assert json.loads(status.read_text())["commit_hash"] == commit
    sentinel = data["noise"]["sentinel"]
    assert len(sentinel) == 1 and sentinel[0]["benchmark"] == "sentinel.DriftSentinel.time_fixed_numpy"
    # the results landed in the results directory, every round's sample kept
    for sha in (c4, c5):
        (path,) = (results / "e2e").glob(f"{sha[:8]}-*.json")
        stored = json.loads(path.read_text())
        row = dict(
            zip(stored["result_columns"], stored["results"]["sentinel.DriftSentinel.time_fixed_numpy"], strict=False)
        )
        assert len(row["samples"][0]) == 2
        recorded = read_counts(path)  # each side's own runs' counts, beside its results
        assert recorded is not None and recorded.commit == sha
        assert sorted(c["fit"] for c in recorded.counts.values()) == sorted(
            Plan(m, n, 200, 1000).counts()["fit"] for m in (1, 4) for n in (1, 4, 16)
        )


def test_bench_is_asvs_b_over_name_and_params():
    from pathlib import Path

    from mlupdate.bench.compare import benchmarks_to_compare

    root = Path(__file__).resolve().parents[2]
    chosen = benchmarks_to_compare(root, [r"GrowthGrid\.time_update\(4, 16, 'serial'\)", r"QuadraticDiagonal\.time_"])
    assert "growth.GrowthGrid.time_update" in chosen.names and "sentinel.DriftSentinel.time_fixed_numpy" in chosen.names
    assert chosen.wants("growth.GrowthGrid.time_update(4, 16, 'serial')", "growth.GrowthGrid.time_update")
    assert not chosen.wants("growth.GrowthGrid.time_update(4, 1, 'serial')", "growth.GrowthGrid.time_update")
    assert chosen.wants("growth.QuadraticDiagonal.time_update(8)", "growth.QuadraticDiagonal.time_update")  # by id
    assert chosen.wants("sentinel.DriftSentinel.time_fixed_numpy", "sentinel.DriftSentinel.time_fixed_numpy")


def test_an_exact_count_that_grew_fails_the_comparison():
    from mlupdate.bench.compare import RoundValues

    values = synthetic_rounds(seed=3)
    name = "growth.GrowthCosts.track_fit_calls"
    values.benchmarks[name] = {"params": [["4"], ["4"]], "param_names": ["n_models", "n_batches"]}
    for _ in range(values.rounds):
        values.add((name, ("4", "4")), "base", 4.0)
        values.add((name, ("4", "4")), "head", 16.0)
    assert isinstance(values, RoundValues)
    cmp = judge(values, factor=1.1)
    assert [(c.base, c.head, c.grew) for c in cmp.counts] == [(4.0, 16.0, True)]
    assert cmp.failed and not cmp.slower  # the clock said nothing; the work grew
    data = json.loads(render(cmp, "json"))
    assert data["counts_changed"] == [
        {"count": "fit_calls", "benchmark": name, "size": "4, 4", "base": 4.0, "head": 16.0, "factor": 4.0}
    ]
    assert "1 exact count(s) changed (1 grew" in render(cmp, "text")
