"""Measure one paired step and confirm what it moved (the step file: :mod:`mlupdate.bench.results.step_files`).

:func:`run_step` opens both commits side by side once
(:func:`~mlupdate.bench.runner.side_by_side.open_sides`), runs the step's rounds, stores
HEAD's samples as its ordinary asv result file, judges the step
(:mod:`mlupdate.bench.nightly.step_verdict`), and re-measures in fresh rounds the cells of
everything that moved (a moved level or exponent re-measures its whole
series): from :data:`CONFIRM_MIN` rounds on, until each item is confirmed or
refuted, at most :data:`CONFIRM_MAX` or within the budget. It returns the step's
document; the caller stores it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..results.asv_results import result_of
from ..results.counts import collect, write_counts
from ..results.paired_results import keep_paired
from ..results.step_files import cell_label, changes_of, level_of
from ..runner.asv_side import Cell, SideResults, results_of
from ..runner.design import Design
from ..runner.duet import duet_cores
from ..runner.load import noise_reasons
from ..runner.lockstep import Lockstep, run_lockstep
from ..runner.side_by_side import QUICK, open_sides
from ..scaling.prices import price_series
from ..stats import is_confirmed_change
from . import step_verdict as st
from .step_rounds import STEP_MAX_ROUNDS, rounds_of, step_rounds

logger = logging.getLogger(__name__)

__all__ = ["CONFIRM_MAX", "CONFIRM_MIN", "run_step"]

#: Fresh rounds a confirmation takes at least (a t interval from fewer says little) and at most.
CONFIRM_MIN = 4
CONFIRM_MAX = 10


def _est(e: st.Estimate, level: float = st.STEP_LEVEL, log_scale: bool = True) -> dict:
    return e.to_dict(level, math.exp if log_scale else (lambda x: x))


def judge_step(
    rounds: Sequence[st.CellRounds],
    threshold: float,
    workloads: Callable | None = None,
    prior: st.Prior | None = None,
    recorded: tuple = (None, None),
) -> dict:
    """The step's estimates and what moved: the ``cells``, ``series``, ``exponents``, ``units``
    and ``prices`` parts of a step file (``workloads(series_cells)``: their workloads, or None;
    ``prior``: the cells' noise in earlier steps, :func:`~mlupdate.bench.nightly.step_verdict.noise_prior`;
    ``recorded``: the counts BASE's and HEAD's runs recorded, which price each series,
    :func:`~mlupdate.bench.scaling.prices.price_series`)."""
    doc: dict = {
        "cells": _cell_items(rounds, threshold, prior),
        "series": [],
        "exponents": [],
        "units": [],
        "prices": [],
    }
    ran = {key: min(len(c.logs) for c in rounds if c.series == key) for key in {c.series for c in rounds}}
    for key, e in st.step_levels(rounds, prior).items():
        doc["series"].append(
            {"series": key, "rounds": ran[key], "ratio": _est(e), "moved": st.moved(e, threshold), "confirm": None}
        )
    timed = [c for c in rounds if c.benchmark.rsplit(".", 1)[-1].startswith("time_")]
    for (key, name), (base, e) in st.step_exponents(timed, prior).items():
        bound = st.exponent_threshold(base, threshold)
        doc["exponents"].append(
            {
                "series": key,
                "rounds": ran[key],
                "exponent": name,
                "base": base,
                "threshold": bound,
                "delta": _est(e, log_scale=False),
                "moved": st.moved(e, bound, log_scale=False),
                "confirm": None,
            }
        )
    if workloads is not None:
        priced = price_series(
            timed,
            lambda c: _one(workloads, c),
            recorded,
            1 + threshold,
            threshold,
            prior=prior,
        )
        doc["prices"] = [p.to_dict() for p in priced]
        doc["units"] = [
            {
                "series": p.series,
                "unit": u.per,
                "base_seconds": u.base,
                "head_seconds": u.head,
                "ratio": _est(u.estimate),
                "moved": st.moved(u.estimate, threshold),
            }
            for p in priced
            for u in p.unit_costs
            if u.estimate is not None
        ]
    return doc


def _cell_items(rounds: Sequence[st.CellRounds], threshold: float, prior: st.Prior | None) -> list[dict]:
    """Each cell's item of a step file: its rounds, ratio and whether it moved."""
    cells = st.step_cells(rounds, prior)
    return [
        {
            "benchmark": c.benchmark,
            "params": list(c.params),
            "series": c.series,
            "alone": c.alone,
            "base": list(c.base),
            "head": list(c.head),
            "ratio": _est(cells[c.label]),
            "moved": st.moved(cells[c.label], threshold),
            "confirm": None,
        }
        for c in rounds
    ]


def _one(workloads: Callable, cell: st.CellRounds):
    found = workloads([cell])
    return found[0] if found else None


def to_confirm(doc: dict) -> dict[tuple[str, tuple[str, ...]], int]:
    """The cells a confirmation re-measures, with the direction each should confirm: its own move,
    or, for a cell its series' level or exponent sent, the way its own step went (an exponent's
    change moves small and large cells in opposite directions)."""
    out: dict[tuple[str, tuple[str, ...]], int] = {}
    sent = {s["series"] for s in doc["series"] + doc["exponents"] if s["moved"]}
    for c in doc["cells"]:
        direction = c["moved"] or ((1 if c["ratio"]["value"] >= 1 else -1) if c["series"] in sent else 0)
        if direction:
            out[(c["benchmark"], tuple(c["params"]))] = direction
    return out


def _prior(est: dict, rounds: int) -> tuple[float, float] | None:
    """The step's per-round variance of an item (from its estimate's se) and its degrees of freedom."""
    if est.get("se") is None or not est.get("df"):
        return None
    return est["se"] ** 2 * rounds, est["df"]


def _verdict(logs, direction: int, threshold: float, prior=None, log_scale: bool = True) -> dict:
    verdict, est = st.confirm(logs, direction, threshold, log_scale, prior)
    e = est.to_dict(st.CONFIRM_LEVEL, math.exp if log_scale else (lambda v: v))
    kept = {k: e[k] for k in ("value", "low", "high", "se", "df")}
    return {"rounds": len(logs), **kept, "verdict": verdict}


def _per_round(doc: dict, fresh: Sequence[st.CellRounds], threshold: float) -> None:
    """Judge the moved series levels and exponents on the fresh rounds of their cells (per round:
    the mean log ratio over the series' cells, and its slopes over log size)."""
    for s in doc["series"] + doc["exponents"]:
        if not s["moved"]:
            continue
        group = [c for c in fresh if c.series == s["series"]]
        n = min((len(c.logs) for c in group), default=0)
        if n < 2:
            s["confirm"] = {"rounds": n, "verdict": "not run"}
            continue
        logs = np.array([c.logs[:n] for c in group])  # cells x rounds
        if "exponent" not in s:
            # the step's own weights, so that its variance of the level (the prior) is that of this mean
            w = _step_weights(doc, group)
            per_round = (w[:, None] * logs).sum(0) / w.sum()
            s["confirm"] = _verdict(
                per_round, s["moved"], threshold, _prior(s["ratio"], s.get("rounds", doc["rounds"]))
            )
            continue
        per_round = [st.slopes(group, logs[:, r], np.ones(len(group))).get(s["exponent"]) for r in range(n)]
        if any(v is None for v in per_round):
            s["confirm"] = {"rounds": n, "verdict": "not run"}
        else:
            s["confirm"] = _verdict(
                [v[0] for v in per_round],
                s["moved"],
                s["threshold"],
                _prior(s["delta"], s.get("rounds", doc["rounds"])),
                log_scale=False,
            )


def _step_weights(doc: dict, group: Sequence[st.CellRounds]) -> np.ndarray:
    """The cells' precision weights in the step (``1 / se^2`` of their estimates; equal where
    the step gave none), so that a level's fresh rounds are averaged as the step averaged them."""
    se = {(c["benchmark"], tuple(c["params"])): c["ratio"].get("se") for c in doc["cells"]}
    w = np.array([se.get((c.benchmark, c.params)) or 0.0 for c in group], float)
    w = np.where(w > 0, 1.0 / np.maximum(w, 1e-12) ** 2, 0.0)
    return w if w.sum() > 0 and np.all(w > 0) else np.ones(len(group))


def _workloads(project: Path) -> Callable[[Sequence[st.CellRounds]], list | None]:
    from ..suite.catalog import cell_workload

    def of(group: Sequence[st.CellRounds]) -> list | None:
        found = [cell_workload(Path(project) / "benchmarks", c) for c in group]
        return None if None in found else found  # a benchmark without a workload has no unit costs

    return of


def _confirm_rounds(doc: dict, targets: dict, threshold: float, benchmarks) -> Callable[[Lockstep], bool]:
    """Whether a confirmation needs another round: fewer than ``CONFIRM_MIN``, or something still open."""

    def more(state: Lockstep) -> bool:
        if state.rounds < CONFIRM_MIN:
            return True
        if state.rounds >= CONFIRM_MAX:
            return False
        fresh = rounds_of(state, benchmarks, state.cells, state.alone)
        trial = {k: [dict(x) for x in doc[k]] for k in ("series", "exponents")}
        trial |= {"rounds": doc["rounds"], "cells": doc["cells"]}
        _per_round(trial, fresh, threshold)
        priors = {(c["benchmark"], tuple(c["params"])): _prior(c["ratio"], len(c["base"])) for c in doc["cells"]}
        cells_open = any(
            st.confirm(c.logs, targets[(c.benchmark, c.params)], threshold, prior=priors[(c.benchmark, c.params)])[0]
            == "open"
            for c in fresh
        )
        moved = [x for k in ("series", "exponents") for x in trial[k] if x["moved"]]
        return cells_open or any(x["confirm"]["verdict"] == "open" for x in moved)

    return more


def _confirm(doc: dict, sides, benchmarks, cells: Sequence[Cell], threshold: float, extra, budget) -> int:
    """Re-measure what ``doc`` moved in fresh rounds and write each item's ``confirm``; the rounds run."""
    targets = to_confirm(doc)
    chosen = [c for c in cells if (c.name, c.params) in targets]
    if not chosen:
        return 0
    logger.info(f"confirming: {len(chosen)} cell(s) moved by the step, re-measured in fresh paired rounds")
    for side in sides:
        side.results = SideResults()  # the fresh rounds' own samples, merged into HEAD's result file after
    more = _confirm_rounds(doc, targets, threshold, benchmarks)
    state = run_lockstep(
        sides,
        benchmarks,
        chosen,
        cores=duet_cores(),
        save=lambda _: None,
        extra=extra,
        wanted=lambda s: {c for c in chosen if not s.dropped(c)} if more(s) else set(),
        budget=budget,
    )
    fresh = {(c.benchmark, c.params): c for c in rounds_of(state, benchmarks, chosen, state.alone)}
    for c in doc["cells"]:
        key = (c["benchmark"], tuple(c["params"]))
        if key in targets:
            got = fresh.get(key)
            prior = _prior(c["ratio"], len(c["base"]))
            c["confirm"] = (
                _verdict(got.logs, targets[key], threshold, prior)
                if got is not None and len(got.logs) > 1
                else {"rounds": 0, "verdict": "not run"}
            )
            if got is not None:  # the fresh rounds themselves, so that the verdict can be re-read
                c["confirm"] |= {"direction": targets[key], "base": list(got.base), "head": list(got.head)}
    _per_round(doc, list(fresh.values()), threshold)
    return state.rounds


def run_step(
    project: Path,
    base: str,
    head: str,
    names: Sequence[str],
    *,
    machine: str,
    kind: str = "step",
    results_dir: Path | None = None,
    threshold: float = 0.05,
    rounds: int | None = None,
    quick: bool = False,
    only: Callable[[Cell], bool] | None = None,
    budget: float | None = None,
    history: Sequence[dict] = (),
) -> dict:
    """Measure ``head`` against ``base`` and confirm what moved; the step's document (not stored).

    ``kind="step"`` also saves HEAD's samples as its asv result file, those of the step and of
    its confirmation together (an ``anchor``, HEAD already measured, does not). ``rounds`` overrides each benchmark's own; ``budget``
    (seconds) bounds the step and its confirmation together; ``history``: the steps stored
    before, whose rounds give each cell's noise.
    """
    started = time.monotonic()
    extra, design = (QUICK if quick else None), Design()
    opened = open_sides(
        project, (base, head), names, results_dir=results_dir, labels=("base", "head"), only=only, design=design
    )
    with opened as (sides, benchmarks, cells, conf):
        limit = {c: rounds or int(benchmarks[c.name].get("rounds", 1)) for c in cells}
        first = max(limit.values(), default=0)
        most = first if quick else max(first, STEP_MAX_ROUNDS)
        prior = st.noise_prior(history)  # the cells' noise in earlier steps: the rounds' stopping and the verdict
        logger.info(
            f"step {base[:8]} -> {head[:8]}: {len(cells)} cells, {first} paired round(s)"
            + (f", up to {most} for a series still undecided" if most > first else "")
        )
        state = run_lockstep(
            sides,
            benchmarks,
            cells,
            cores=duet_cores(),
            save=lambda _: None,
            extra=extra,
            wanted=step_rounds(cells, limit, benchmarks, threshold, most, prior, confirmed=kind != "anchor"),
            budget=budget,
            design=design,
        )
        base_stepped, stepped = sides[0].results, sides[1].results
        recorded = tuple(collect(side.counts_dir, side.commit) if side.counts_dir else None for side in sides)
        doc = _judged(state, benchmarks, cells, threshold, project, prior, recorded)
        if kind == "step":  # now, so that a confirmation that fails keeps the step's samples
            published = on_base_clock(conf, base, base_stepped, stepped, published_ratios(doc))
            _save_head(conf, sides[1].env, head, benchmarks, published, machine, recorded[1])
        left = None if budget is None else budget - (time.monotonic() - started)
        # an anchor spans many commits: what it moved is no commit's change, so it is not confirmed
        confirm_rounds = 0 if kind == "anchor" else _confirm(doc, sides, benchmarks, cells, threshold, extra, left)
        if kind == "step" and confirm_rounds:
            # HEAD's published value is the median over all its paired rounds, the confirmation's too:
            # a step's noisy cell that the fresh rounds refuted must not stand alone on asv's graph
            both = (base_stepped.merged(sides[0].results), stepped.merged(sides[1].results))
            published = on_base_clock(conf, base, *both, published_ratios(doc))
            _save_head(conf, sides[1].env, head, benchmarks, published, machine, recorded[1])
    fields = {"kind": kind, "machine": machine, "base": base, "head": head, "threshold": threshold, "quick": quick}
    return _closed(doc, state, confirm_rounds, time.monotonic() - started, **fields)


def _closed(doc: dict, state: Lockstep, confirm_rounds: int, seconds: float, **fields) -> dict:
    """``doc`` with the step's facts (``fields``, its rounds, time, design and load) and its changes."""
    for item in doc["cells"] + doc["series"] + doc["exponents"]:
        if item["moved"] and item["confirm"] is None and fields["kind"] != "anchor":
            item["confirm"] = {"rounds": 0, "verdict": "not run"}
    doc |= fields | {
        "date": int(time.time()),
        "rounds": state.rounds,
        "confirm_rounds": confirm_rounds,
        "seconds": seconds,
        "failed": state.failed,
        "skipped": [],
    }
    load = state.total_load
    doc |= {"design": state.design.to_json(), "load": load.to_json() if load else None}
    doc["noisy"] = noise_reasons(load)
    doc["changes"], doc["unconfirmed"] = changes_of(doc)
    return doc


def _judged(state: Lockstep, benchmarks, cells, threshold: float, project: Path, prior, recorded) -> dict:
    """The step's document from its rounds: estimates, moves, prices and every cell's seats."""
    rounds = rounds_of(state, benchmarks, cells, state.alone)
    doc = judge_step(rounds, threshold, _workloads(project), prior, recorded)
    doc["rounds"] = state.rounds
    _add_seats(doc, state, cells)
    return doc


def published_ratios(doc: dict) -> dict[str, float]:
    """Per timed cell label, the HEAD/BASE ratio a step publishes: the cell's own paired ratio where
    it is a confirmed change (:func:`~mlupdate.bench.stats.is_confirmed_change`: it moved and fresh
    rounds agreed, or its series' move sent it), else its series' level from the series model (the
    fresh rounds' estimate where the level moved and was re-measured).

    A cell's own ratio from a step's two rounds scatters by 10-20% in the short cells: replayed
    over three same-code trial nights (``tools/published_spikes.py``), HEAD's own medians put 23
    of 43 cells more than 15% off their own median over the commits (worst 48%), chained cell
    ratios 13 (worst 38%), these ratios none (worst 7%)."""
    # a level that went to fresh rounds: their estimate (up to 10 rounds against the step's few)
    levels = {s["series"]: level_of(s)["value"] for s in doc.get("series", [])}
    out = {}
    for c in doc.get("cells", []):
        if ".time_" not in c["benchmark"]:
            continue
        label = cell_label(c)
        fresh = c.get("confirm") or {}
        base, head = c["base"] + fresh.get("base", []), c["head"] + fresh.get("head", [])
        own = float(np.median(head)) / float(np.median(base))  # over the step's rounds and the fresh ones
        out[label] = own if is_confirmed_change(c) else levels.get(c["series"], own)
    return out


def on_base_clock(
    conf, base: str, base_side: SideResults, head_side: SideResults, ratios: dict[str, float]
) -> SideResults:
    """HEAD's samples as a step publishes them: each timed cell's samples scaled so that their median
    is BASE's published value times the cell's published ratio (:func:`published_ratios`), so that
    asv's graph moves by what the paired rounds know and not by how fast the machine ran this night
    against BASE's night, nor by a cell's own scatter in two rounds. A cell without a published
    value of BASE, or without a ratio, keeps its own samples; the raw rounds of both sides stay in
    the step file."""
    published = result_of(Path(conf.results_dir), base)
    if published is None:
        return head_side
    values = {
        (name, tuple(params)): value
        for name in published.names()
        for params, value in zip(published.cells(name), published.values(name), strict=True)
    }
    scaled = dict(head_side.samples)
    for cell, samples in head_side.samples.items():
        ref, ratio = values.get((cell.name, tuple(cell.params))), ratios.get(cell.label)
        if isinstance(ref, float) and math.isfinite(ref) and ref > 0 and ratio and samples:
            factor = ref * ratio / float(np.median(samples))
            scaled[cell] = [x * factor for x in samples]
    return dataclasses.replace(head_side, samples=scaled)


def _save_head(conf, env, head: str, benchmarks, results: SideResults, machine: str, counts=None) -> None:
    """HEAD's asv result file, with the copy that keeps it safe from a plain asv run, and the counts
    its runs recorded beside it."""
    from asv.results import get_filename

    result = results_of(conf, env, head, benchmarks, results, machine)
    result.save(conf.results_dir)
    path = Path(conf.results_dir) / get_filename(result.params["machine"], head, result.env_name)
    keep_paired(path)
    if counts is not None:
        write_counts(path, counts)


def _add_seats(doc: dict, state: Lockstep, cells: Sequence[Cell]) -> None:
    """Each cell's seat in each of its paired rounds (:class:`~mlupdate.bench.runner.lockstep.Seat`), for
    the breakdown of same-code steps by round, core and position."""
    by_key = {(c.name, c.params): c for c in cells}
    for c in doc["cells"]:
        cell = by_key.get((c["benchmark"], tuple(c["params"])))
        if cell is not None:
            c["seats"] = [seat.to_json() for seat in state.paired_seats(cell)]
