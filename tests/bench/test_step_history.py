"""The history from paired steps: chaining, re-anchoring, and the night's plan, on synthetic steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mlupdate.bench.nightly.plan import plan_night
from mlupdate.bench.results.step_files import chain_of
from mlupdate.bench.scaling.chain import chain, recommended_anchor_every, tracks

SD = 0.02  # a step's log-ratio noise (series level)


def _walk(n_steps: int, every: int | None, rng, step_at: int | None = None, size: float = math.log(1.05)):
    """Commits c0..cn; each step's log ratio is noise (plus ``size`` at ``step_at``); anchors every ``every``."""
    commits = [f"c{i}" for i in range(n_steps + 1)]
    truth = np.zeros(n_steps + 1)
    steps, anchors = [], {}
    for i in range(1, n_steps + 1):
        jump = size if i == step_at else 0.0
        truth[i] = truth[i - 1] + jump
        steps.append((commits[i - 1], commits[i], jump + rng.normal(0, SD), SD**2, i == step_at))
        if every and i % every == 0:
            anchors[commits[i]] = (truth[i] + rng.normal(0, SD), SD**2)
    return chain("c0", steps, anchors), truth


def test_without_anchors_the_chained_variance_grows_with_every_step():
    points, _ = _walk(50, None, np.random.default_rng(0))
    assert points[-1].var == pytest.approx(50 * SD**2)


def test_anchors_keep_fifty_steps_of_pure_noise_from_drifting():
    rng = np.random.default_rng(1)
    finals, widest = [], 0.0
    for _ in range(200):
        points, _ = _walk(50, 4, rng)
        finals.append(points[-1].value)
        widest = max(widest, max(p.var for p in points))
    # bounded: at most the anchor's variance plus the steps since it (3), never 50 steps' worth
    assert widest <= 4 * SD**2 + 1e-12
    assert np.std(finals) < 2.2 * SD  # an unanchored chain's would be sqrt(50) * SD = 7 * SD
    assert abs(np.mean(finals)) < 0.5 * SD  # and unbiased


def test_a_single_five_percent_step_shows_at_its_commit():
    points, truth = _walk(50, 4, np.random.default_rng(2), step_at=23)
    values = np.array([p.value for p in points])
    assert [p.commit for p in points if p.change] == ["c23"]
    assert values[:23].max() < math.log(1.05) / 2 < values[23:].min() or np.mean(values[23:]) > math.log(1.04)
    jump = values[23] - values[22]
    assert jump == pytest.approx(math.log(1.05), abs=3 * SD)
    low, high = points[-1].interval()
    assert low < truth[-1] < high


def test_a_missing_link_leaves_its_commit_out_and_the_rest_of_the_chain_goes_on():
    points = chain("a", [("a", "b", 0.1, 0.01, False), ("x", "y", 0.2, 0.01, False), ("b", "c", 0.1, 0.01, False)], {})
    assert [p.commit for p in points] == ["a", "b", "c"]
    assert points[-1].value == pytest.approx(0.2) and points[-1].var == pytest.approx(0.02)


def _level_doc(kind, base, head, value, se=0.01, changes=()):
    ratio = {"value": math.exp(value), "low": None, "high": None, "se": se, "df": math.inf}
    return {
        "kind": kind,
        "base": base,
        "head": head,
        "date": 0,
        "cells": [],
        "exponents": [],
        "units": [],
        "series": [
            {
                "series": "s",
                "ratio": ratio,
                "moved": 1 if changes else 0,
                "confirm": {"verdict": "confirmed"} if changes else None,
            }
        ],
        "changes": list(changes),
    }


def test_tracks_chain_the_stored_steps_from_the_first_commit():
    docs = [
        {"kind": "first", "head": "a", "base": None, "date": 0},
        _level_doc("step", "a", "b", 0.0),
        _level_doc("step", "b", "c", math.log(1.1), changes=["s level"]),
        _level_doc("anchor", "a", "c", math.log(1.1)),
    ]
    (level,) = tracks(docs)
    assert [p.commit for p in level.points] == ["a", "b", "c"]
    assert [p.change for p in level.points] == [False, False, True]
    assert level.points[-1].anchored and math.exp(level.points[-1].value) == pytest.approx(1.1)
    assert level.points[-1].var < 2 * 0.01**2  # the anchor tightened it


def test_a_re_measured_level_is_chained_and_published_as_its_fresh_rounds_read_it():
    """One reading of a level: where a step's level moved and fresh rounds measured it again, the
    chain takes the fresh rounds' estimate, as the published values on asv's graph do."""
    from mlupdate.bench.nightly.step import published_ratios

    refuted = _level_doc("step", "a", "b", math.log(0.92), se=0.03)
    refuted["series"][0] |= {"moved": -1, "confirm": {"rounds": 10, "value": 1.01, "se": 0.01, "df": 9.0}}
    refuted["cells"] = [
        {"benchmark": "b.B.time_x", "params": ["1"], "series": "s", "base": [1.0], "head": [0.9], "moved": 0}
    ]
    (level,) = tracks([{"kind": "first", "head": "a", "base": None, "date": 0}, refuted])
    assert math.exp(level.points[-1].value) == pytest.approx(1.01)
    assert level.points[-1].var == pytest.approx((0.01 * sps.t.ppf(0.975, 9) / sps.norm.ppf(0.975)) ** 2)
    assert published_ratios(refuted) == {"b.B.time_x(1)": pytest.approx(1.01)}
    # a confirmation stored before it kept its standard error: its value, the step's (wider) variance
    del refuted["series"][0]["confirm"]["se"]
    (level,) = tracks([{"kind": "first", "head": "a", "base": None, "date": 0}, refuted])
    assert math.exp(level.points[-1].value) == pytest.approx(1.01) and level.points[-1].var == pytest.approx(0.03**2)


def test_the_recommended_anchor_interval_follows_the_measured_noise():
    quiet = [_level_doc("step", "a", "b", 0.0, se=0.005)]
    noisy = [_level_doc("step", "a", "b", 0.0, se=0.02)]
    assert recommended_anchor_every(quiet, 0.05) == 24  # (0.0488 / (1.96 * 0.005))**2 = 24.8
    assert recommended_anchor_every(noisy, 0.05) == 1
    assert recommended_anchor_every([], 0.05) is None


ORDER = [f"c{i}" for i in range(8)]


def _stored(plan_steps, first="c0"):
    docs = [{"kind": "first", "head": first, "base": None}]
    return docs + [{"kind": "step", "base": b, "head": h} for b, h in plan_steps]


def test_the_first_night_runs_the_oldest_commit_plainly_and_steps_the_rest():
    plan = plan_night(ORDER[:3], [])
    assert plan.first == "c0" and plan.steps == [("c0", "c1"), ("c1", "c2")] and not plan.missing


def test_a_night_steps_only_the_new_commits_from_the_last_one_measured():
    plan = plan_night(ORDER[:5], _stored([("c0", "c1"), ("c1", "c2")]))
    assert plan.first is None and plan.steps == [("c2", "c3"), ("c3", "c4")]


def test_a_short_budget_measures_the_newest_and_names_the_missing_steps():
    plan = plan_night(ORDER[:6], _stored([("c0", "c1")]), affordable=2, anchor_every=100)
    assert plan.steps == [("c1", "c4"), ("c4", "c5")]
    assert plan.missing == ["c2", "c3"]


def test_anchors_fall_due_every_k_steps_and_an_interrupted_one_is_still_due():
    plan = plan_night(ORDER[:6], _stored([("c0", "c1"), ("c1", "c2")]), anchor_every=2)
    assert plan.steps == [("c2", "c3"), ("c3", "c4"), ("c4", "c5")]
    assert plan.anchors == [("c0", "c2"), ("c0", "c4")]  # c2's anchor was never stored
    stored = [*_stored([("c0", "c1"), ("c1", "c2")]), {"kind": "anchor", "base": "c0", "head": "c2"}]
    assert plan_night(ORDER[:3], stored, anchor_every=2).anchors == []


def test_an_interrupted_step_is_measured_again_by_the_next_night():
    """A night that died in c3's step stored nothing for it: c3 is still new."""
    plan = plan_night(ORDER[:4], _stored([("c0", "c1"), ("c1", "c2")]))
    assert plan.steps == [("c2", "c3")]
    assert chain_of(_stored([("c0", "c1"), ("c1", "c2")])) == ["c0", "c1", "c2"]


def test_an_older_history_without_steps_is_continued_from_its_newest_result():
    plan = plan_night(ORDER[:4], [], with_results={"c0", "c1"})
    assert plan.first is None and plan.steps == [("c1", "c2"), ("c2", "c3")]
