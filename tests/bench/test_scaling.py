"""Scaling exponents: recovered from synthetic asv results; the compare gate."""

import json

import numpy as np
import pytest
from helpers.asv_results import synthetic_surface, write_asv_results

from mlupdate.bench.scaling.fit import fit_loglog, fit_surface
from mlupdate.cli import main


@pytest.mark.parametrize(("a", "b", "c"), [(1, 1, 1e-3), (1, 2, 1e-3), (0, 1, 1e-2)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_exponents_recovered(a, b, c, seed):
    cells, samples = synthetic_surface(a, b, c=c, offset=0.02, seed=seed)
    m = np.array([x[0] for x in cells], float)
    n = np.array([x[1] for x in cells], float)
    t = np.array([np.median(s) for s in samples])
    fit = fit_surface({"a": m, "b": n}, t, samples=samples, n_boot=150)
    naive = fit_loglog({"a": m, "b": n}, t)
    for name, truth in (("a", a), ("b", b)):
        assert fit.exponents[name] == pytest.approx(truth, abs=0.05)
        lo, hi = fit.intervals[name]
        assert lo <= truth <= hi, (name, truth, lo, hi)
    # The plain log-log baseline is biased low by the offset, and worse.
    err_fit = abs(fit.exponents["a"] - a) + abs(fit.exponents["b"] - b)
    err_naive = abs(naive["a"] - a) + abs(naive["b"] - b)
    assert err_naive > 2 * err_fit and naive["a"] + naive["b"] < a + b


def test_too_few_cells():
    with pytest.raises(ValueError, match="4 cells are too few to fit 2 exponent"):
        fit_surface({"a": np.ones(4), "b": np.ones(4)}, np.ones(4))


def _run(argv, capsys):
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_compare_flags_a_change_of_0_3(tmp_path, capsys):
    write_asv_results(tmp_path, [("a" * 40, 1, 1.0, 1.0), ("b" * 40, 2, 1.0, 1.3)])
    status, out, err = _run(["scaling", "compare", "aaaa", "bbbb", "--results", str(tmp_path), "--boot", "100"], capsys)
    assert status == 1
    [row] = [line for line in out.splitlines() if "GrowthGrid" in line and " b " in line]
    assert "GREW" in row
    assert "grew: the whole interval above +0.1" in err


def test_compare_does_not_flag_two_draws_of_one_surface(tmp_path, capsys):
    write_asv_results(tmp_path, [("a" * 40, 1, 1.0, 2.0), ("b" * 40, 2, 1.0, 2.0)], seed=7)
    status, out, _ = _run(["scaling", "compare", "aaaa", "bbbb", "--results", str(tmp_path), "--boot", "100"], capsys)
    assert status == 0, out
    assert "GREW" not in out


def test_report_writes_json_and_html(tmp_path, capsys):
    res, out_dir = tmp_path / "results", tmp_path / "site"
    write_asv_results(res, [("a" * 40, 1, 1.0, 1.0), ("b" * 40, 2, 1.0, 2.0)])
    status, out, _ = _run(["scaling", "report", "--results", str(res), "--out", str(out_dir), "--boot", "50"], capsys)
    assert status == 0
    data = json.loads((out_dir / "scaling.json").read_text())
    grid = {d["commit"][:1]: d for d in data if "GrowthGrid" in d["series"]}
    assert grid["a"]["exponents"]["b"] == pytest.approx(1.0, abs=0.06)
    assert grid["b"]["exponents"]["b"] == pytest.approx(2.0, abs=0.06)
    diag = [d for d in data if "QuadraticDiagonal" in d["series"]]
    assert sorted(round(d["exponents"]["p"]) for d in diag) == [2, 3]
    page = (out_dir / "index.html").read_text()
    assert 'id="exponents"' in page and page.count("<img") == len(list(out_dir.glob("*.png"))) >= 4
    assert "scaling report:" in out


def test_bad_results_are_named_and_usable_commits_reported(tmp_path, capsys):
    write_asv_results(tmp_path, [("a" * 40, 1, 1.0, 1.0)])
    (tmp_path / "synthetic" / "broken-virtualenv.json").write_text("{not json")
    other = dict(json.loads((tmp_path / "synthetic" / "aaaaaaaa-virtualenv-py3.11.json").read_text()))
    other["commit_hash"] = "d" * 40
    other["results"] = {"other.Project.time_x": [[1.0]]}
    (tmp_path / "synthetic" / "dddddddd-virtualenv-py3.11.json").write_text(json.dumps(other))
    status, out, err = _run(
        ["scaling", "report", "--results", str(tmp_path), "--out", str(tmp_path / "o"), "--boot", "20"], capsys
    )
    assert status == 0
    assert "broken-virtualenv.json: not a readable asv result file" in err
    assert "dddddddd-virtualenv-py3.11.json: none of its benchmarks" in err
    assert "aaaaaaaa" in out and "Traceback" not in err


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "benchmarks.json is missing"),
        (lambda p: (p.mkdir(), (p / "benchmarks.json").write_text("{")), "benchmarks.json is not valid JSON"),
    ],
)
def test_unusable_results_exit_2(tmp_path, capsys, setup, needle):
    res = tmp_path / "r"
    setup(res)
    status, _, err = _run(["scaling", "report", "--results", str(res), "--out", str(tmp_path / "o")], capsys)
    assert status == 2 and needle in err and err.count("\n") == 1


def test_too_few_cells_commit_is_named(tmp_path, capsys):
    write_asv_results(tmp_path, [("a" * 40, 1, 1.0, 1.0)])
    path = tmp_path / "synthetic" / "aaaaaaaa-virtualenv-py3.11.json"
    data = json.loads(path.read_text())
    row = data["results"]["growth.GrowthGrid.time_update"]
    row[0] = row[0][:4] + [None] * (len(row[0]) - 4)  # 21 of 25 cells failed in this commit
    path.write_text(json.dumps(data))
    status, _, err = _run(["scaling", "report", "--results", str(tmp_path), "--out", str(tmp_path / "o")], capsys)
    assert "commit aaaaaaaa: growth.GrowthGrid.time_update(executor=serial) has 4 cells, too few" in err
    assert status == 0  # the diagonal is still usable


def test_compare_unknown_commit(tmp_path, capsys):
    write_asv_results(tmp_path, [("a" * 40, 1, 1.0, 1.0)])
    status, _, err = _run(["scaling", "compare", "aaaa", "zzzz", "--results", str(tmp_path), "--boot", "10"], capsys)
    assert status == 2 and "commit 'zzzz' has no results" in err
