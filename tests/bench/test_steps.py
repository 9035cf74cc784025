"""Paired steps on synthetic rounds: the statistics, the confirmation, the step file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mlupdate.bench.nightly import step_verdict as st
from mlupdate.bench.nightly.step import judge_step, to_confirm
from mlupdate.bench.results.step_files import changes_of, read_steps, step_path, write_step
from mlupdate.bench.stats.model import MIN_CELL_DF

QD = "growth.QuadraticDiagonal.time_update"
GRID = "growth.GrowthGrid.time_update"
KS = (1, 2, 4, 8, 16, 32)


def _diagonal(rng, slowdown=lambda k: 1.0, rounds=2, sd=0.03, exponent=1.9):
    """QuadraticDiagonal cells: base ~ k**exponent, head = base * slowdown(k), per-round log noise ``sd``."""
    cells = []
    for k in KS:
        base = 0.01 * k**exponent * np.exp(rng.normal(0, 0.01, rounds))
        head = base * slowdown(k) * np.exp(rng.normal(0, sd, rounds))
        cells.append(st.CellRounds(QD, (str(k),), ("k",), tuple(base), tuple(head)))
    return cells


def _grid(rng, factor=1.0, rounds=2, sd=0.03):
    cells = []
    for m in (4, 16):
        for n in (1, 4, 16):
            base = 0.002 * m * n * np.exp(rng.normal(0, 0.01, rounds))
            head = base * factor * np.exp(rng.normal(0, sd, rounds))
            cells.append(
                st.CellRounds(
                    GRID, (str(m), str(n), "'serial'"), ("n_models", "n_batches", "executor"), tuple(base), tuple(head)
                )
            )
    return cells


def test_series_keys_and_labels_read_like_the_scaling_page():
    cell = _grid(np.random.default_rng(0))[0]
    assert cell.series == f"{GRID}(executor=serial)"
    assert cell.label == f"{GRID}(4, 1, 'serial')"
    assert cell.sizes == {"n_models": 4, "n_batches": 1}


def test_the_per_round_variance_is_pooled_over_a_series():
    """Two rounds per cell give one degree of freedom each; the series pools them."""
    cells = _diagonal(np.random.default_rng(1))
    est = st.step_cells(cells)[f"{QD}(8)"]
    assert est.df == len(KS)  # one per cell
    logs = np.array([c.logs for c in cells])
    pooled = ((logs - logs.mean(1, keepdims=True)) ** 2).sum() / len(KS)
    assert est.se == pytest.approx(math.sqrt(pooled / 2))


def test_same_code_steps_rarely_move_a_cell_and_never_a_series():
    rng = np.random.default_rng(2)
    moved_cells = moved_series = 0
    for _ in range(200):
        doc = judge_step(_diagonal(rng) + _grid(rng), 0.05)
        moved_cells += sum(bool(c["moved"]) for c in doc["cells"])
        moved_series += sum(bool(s["moved"]) for s in doc["series"])
    assert moved_cells / (200 * 12) < 0.05  # a 95% interval, and beyond 5% too
    assert moved_series <= 2


def test_a_uniform_ten_percent_slowdown_moves_every_series_and_its_cells_go_to_confirmation():
    rng = np.random.default_rng(3)
    doc = judge_step(_diagonal(rng, lambda k: 1.10) + _grid(rng, 1.10), 0.05)
    assert [s["moved"] for s in doc["series"]] == [1, 1]
    for s in doc["series"]:
        assert s["ratio"]["low"] < 1.10 < s["ratio"]["high"]
    assert set(to_confirm(doc).values()) == {1} and len(to_confirm(doc)) == 12  # the series' cells, all of them
    assert not any(e["moved"] for e in doc["exponents"])  # a uniform change keeps the exponents


def test_an_exponent_change_is_the_slope_of_the_log_ratio():
    rng = np.random.default_rng(4)
    doc = judge_step(_diagonal(rng, lambda k: k**0.3, sd=0.01), 0.05)
    (p,) = doc["exponents"]
    assert p["exponent"] == "p" and p["base"] == pytest.approx(1.9, abs=0.02)
    assert p["delta"]["value"] == pytest.approx(0.3, abs=0.03) and p["moved"] == 1
    assert p["threshold"] == pytest.approx(0.05 * 1.9, abs=0.002)


def test_unit_costs_follow_a_slower_fit():
    """``t = visits * 2 ms + fits * 10 ms``; HEAD's fit costs 30% more: the fit's unit cost moves, the visit's not."""
    from mlupdate.bench.suite.workloads import Workload

    rng = np.random.default_rng(5)
    cells = []
    for k in KS:
        base = np.array([k * k * 2e-3 + k * 10e-3] * 2) * np.exp(rng.normal(0, 0.005, 2))
        head = np.array([k * k * 2e-3 + k * 13e-3] * 2) * np.exp(rng.normal(0, 0.005, 2))
        cells.append(st.CellRounds(QD, (str(k),), ("k",), tuple(base), tuple(head)))
    doc = judge_step(cells, 0.05, lambda group: [Workload(int(c.params[0]), int(c.params[0])) for c in group])
    units = {u["unit"]: u for u in doc["units"]}
    assert math.log(units["fit"]["ratio"]["value"]) == pytest.approx(math.log(1.3), abs=0.08)
    assert units["fit"]["moved"] == 1
    assert abs(math.log(units["model-batch visit"]["ratio"]["value"])) < 0.05
    assert units["model-batch visit"]["moved"] == 0
    # the step's units are the prices' unit costs, read from the one estimate
    (price,) = doc["prices"]
    fit = next(u for u in price["unit_costs"] if u["per"] == "fit")
    assert fit["ratio"] == pytest.approx(units["fit"]["ratio"]["value"])


@pytest.mark.parametrize(
    ("logs", "direction", "verdict"),
    [
        ([0.10, 0.09, 0.11, 0.10], 1, "confirmed"),
        ([-0.10, -0.09, -0.11, -0.10], -1, "confirmed"),
        ([-0.10, -0.09, -0.11, -0.10], 1, "refuted"),  # it moved the other way: not by 5% this way
        ([0.0, 0.01, -0.01, 0.0], 1, "refuted"),
        ([0.06, -0.04, 0.10, 0.0], 1, "open"),
        ([0.06, 0.04], 1, "open"),
        ([0.1], 1, "open"),
    ],
)
def test_confirmation_verdicts(logs, direction, verdict):
    assert st.confirm(logs, direction, 0.05)[0] == verdict


def test_a_confirmation_is_judged_at_the_stricter_level():
    """Significant at 95% but not at 99% on four rounds: still open."""
    x = np.array([0.05, 0.12, 0.06, 0.11])
    lo95 = st.Estimate(x.mean(), x.std(ddof=1) / 2, 3).interval(0.95)[0]
    lo99 = st.Estimate(x.mean(), x.std(ddof=1) / 2, 3).interval(0.99)[0]
    assert lo95 > 0 > lo99
    assert st.confirm(x, 1, 0.05)[0] == "open"


def test_the_step_s_variance_is_pooled_into_a_confirmation():
    """Four fresh rounds alone leave a 10% move open; with the step's per-round variance
    (12 degrees of freedom) the same rounds confirm it."""
    x = np.array([0.05, 0.15, 0.06, 0.13])
    alone, est = st.confirm(x, 1, 0.05)
    pooled, est_p = st.confirm(x, 1, 0.05, prior=(float(np.var(x, ddof=1)), 12))
    assert (alone, pooled) == ("open", "confirmed")
    assert est_p.df == 15 and est_p.se == pytest.approx(est.se)


def _doc(head="a" * 40, kind="step"):
    rng = np.random.default_rng(6)
    doc = judge_step(_diagonal(rng, lambda k: 1.2 if k == 32 else 1.0, sd=0.005), 0.05)
    for c in doc["cells"]:
        if c["moved"]:
            c["confirm"] = {"rounds": 4, "value": 1.2, "low": 1.15, "high": 1.25, "verdict": "confirmed"}
    return doc | {
        "kind": kind,
        "machine": "m",
        "base": "b" * 40,
        "head": head,
        "date": 1,
        "threshold": 0.05,
        "rounds": 2,
        "seconds": 1.0,
        "skipped": [],
    }


def test_changes_name_the_confirmed_moves_and_the_rest_stay_unconfirmed():
    doc = _doc()
    doc["series"][0]["moved"], doc["series"][0]["confirm"] = 1, {"rounds": 4, "verdict": "refuted"}
    confirmed, unconfirmed = changes_of(doc)
    assert confirmed == [f"{QD}(32)"]
    assert unconfirmed == [f"{QD} level"]


def test_a_cell_its_series_sent_to_confirmation_is_a_change_when_confirmed():
    doc = _doc()
    small = next(c for c in doc["cells"] if not c["moved"])
    small["confirm"] = {"rounds": 6, "value": 1.07, "low": 1.02, "high": 1.12, "verdict": "confirmed"}
    other = next(c for c in doc["cells"] if not c["moved"] and c is not small)
    other["confirm"] = {"rounds": 6, "value": 1.01, "low": 0.97, "high": 1.05, "verdict": "refuted"}
    confirmed, unconfirmed = changes_of(doc)
    assert f"{QD}({small['params'][0]})" in confirmed and unconfirmed == []


def test_a_step_file_is_written_whole_and_never_rewritten(tmp_path):
    results, tmp = tmp_path / "results", tmp_path / "work" / "tmp"
    doc = _doc()
    path = write_step(results, doc, tmp)
    assert path == step_path(results, "m", "a" * 40, "step") == results / "steps" / "m" / "aaaaaaaaaaaa.step"
    stored = json.loads(path.read_text())
    assert stored["version"] == 1 and stored["cells"] == json.loads(json.dumps(doc["cells"]))
    assert list(tmp.iterdir()) == []  # the temporary file became the step
    with pytest.raises(FileExistsError, match="never rewritten"):
        write_step(results, doc | {"rounds": 9}, tmp)
    assert json.loads(path.read_text())["rounds"] == 2
    assert step_path(results, "m", "a" * 40, "anchor").name == "aaaaaaaaaaaa.anchor.step"


def test_reading_steps_orders_them_and_skips_what_is_not_a_step(tmp_path):
    results, tmp = tmp_path / "results", tmp_path / "tmp"
    write_step(results, _doc("c" * 40) | {"date": 5}, tmp)
    write_step(results, _doc("d" * 40) | {"date": 3}, tmp)
    (results / "steps" / "m" / "broken.step").write_text("{not json")
    warned: list[str] = []
    docs = read_steps(results, "m", warn=warned.append)
    assert [d["head"][0] for d in docs] == ["d", "c"]
    assert len(warned) == 1 and "broken.step" in warned[0]


def test_earlier_steps_give_each_cell_its_own_noise():
    """k=1 scatters ten times as much as the rest on this machine: with the earlier steps'
    rounds it gets its own wide interval and counts little in the series level."""
    rng = np.random.default_rng(7)

    def noisy(k):
        return 0.3 if k == 1 else 0.03

    history = []
    for _ in range(MIN_CELL_DF - 1):  # with this step's own round, the df a cell needs for its own variance
        cells = [
            st.CellRounds(QD, (str(k),), ("k",), (1.0, 1.0), tuple(np.exp(rng.normal(0, noisy(k), 2)))) for k in KS
        ]
        history.append({"kind": "step", "cells": judge_step(cells, 0.05)["cells"]})
    prior = st.noise_prior(history)
    assert prior[f"{QD}(1)"][1] == MIN_CELL_DF - 1 and prior[f"{QD}(1)"][0] > 20 * prior[f"{QD}(8)"][0]
    now = [st.CellRounds(QD, (str(k),), ("k",), (1.0, 1.0), (1.5, 1.5) if k == 1 else (1.0, 1.0)) for k in KS]
    cells, levels = st.step_cells(now, prior), st.step_levels(now, prior)
    assert cells[f"{QD}(1)"].se > 5 * cells[f"{QD}(8)"].se and cells[f"{QD}(1)"].df == MIN_CELL_DF
    assert abs(levels[QD].mean) < 0.1 * math.log(1.5)  # the noisy cell's 50% barely moves the level
    assert st.step_levels(now)[QD].mean == pytest.approx(math.log(1.5) / 6)  # unweighted without history
