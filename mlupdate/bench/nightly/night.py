"""What a night measures: the plan (:mod:`.step_plan`) carried out, step by step, within the budget.

Each step is stored as soon as it and its confirmation are done
(:func:`~mlupdate.bench.results.step_files.write_step`), so a night that dies keeps every step
it finished and leaves no half of one; the next night's plan has the rest.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..results.asv_results import result_commits
from ..results.step_files import first_doc, read_steps, skipped_between, write_step
from ..runner.asv_side import Cell
from .plan import NightPlan, plan_night

logger = logging.getLogger(__name__)

__all__ = ["ANCHOR_EVERY", "measure_night"]

#: Every how many steps the history is paired with its first commit directly. The measured step
#: noise alone asks for fewer (the Steps page shows the K it would choose); an anchor costs a
#: step, so this is that noise traded against the night's time (see the README).
ANCHOR_EVERY = 4


def _estimate(docs: Sequence[dict]) -> float | None:
    """Seconds of a measurement: the newest stored step's (a plain first run's, before any step)."""
    timed = [d["seconds"] for d in docs if d["kind"] in ("step", "anchor") and d.get("seconds")]
    timed = timed or [d["seconds"] for d in docs if d.get("seconds")]
    return float(timed[-1]) if timed else None


def _only(cfg) -> Callable[[Cell], bool] | None:
    """The cells ``--bench`` (asv's ``-b`` over ``name(params)``) and ``--cells`` keep."""
    if not cfg.cells and not cfg.bench:
        return None
    chosen = _selection(cfg)
    return lambda cell: (
        chosen.wants(cell.label, cell.name) and (not cfg.cells or any(re.search(p, cell.label) for p in cfg.cells))
    )


def _selection(cfg):
    from ..suite.catalog import discover, select_cells

    return select_cells(cfg.project, discover(cfg.project), cfg.bench)


def _names(cfg) -> list[str]:
    return list(_selection(cfg).names)


def _plan(cfg, order: Sequence[str], results: Path, docs: list[dict]) -> NightPlan:
    estimate = _estimate(docs)
    affordable = None
    if cfg.budget is not None and estimate:
        affordable = int(cfg.budget * 60 // estimate)
    plan = plan_night(
        order,
        docs,
        with_results=result_commits(results, cfg.machine),
        anchor_every=cfg.anchor_every,
        affordable=affordable,
    )
    logger.info(
        f"plan: {'a plain first run, ' if plan.first else ''}{len(plan.steps)} step(s), {len(plan.anchors)} anchor(s)"
        + (
            f"; {len(plan.missing)} commit(s) left without a step: {', '.join(c[:8] for c in plan.missing)}"
            if plan.missing
            else ""
        )
    )
    return plan


def _record(doc: dict, result) -> None:
    for label in doc["changes"]:
        result.changes.append((doc["head"], label))
    for label in doc["unconfirmed"]:
        result.unconfirmed.append((doc["head"], label))
    confirmed = {label.split("(", 1)[0].split(" ", 1)[0] for label in doc["changes"]}
    for price in doc.get("prices") or []:
        benchmark = price["series"].split("(", 1)[0]
        if price["counts_changed"] or (doc["changes"] and benchmark in confirmed):
            result.priced.append((doc["head"], price["summary"]))


def _first_run(cfg, first: str, names, only, results: Path, result) -> float:
    """The history's first commit, a plain run in two replicas; its seconds."""
    from ..runner.side_by_side import run_replicas

    logger.info(f"{first[:8]}: the history's first commit, a plain run in two replicas")
    started = time.monotonic()
    run_replicas(
        cfg.project,
        first,
        names,
        machine=cfg.machine,
        results_dir=results,
        rounds=cfg.rounds,
        quick=cfg.quick,
        only=only,
    )
    write_step(results, first_doc(cfg.machine, first, time.monotonic() - started), cfg.work / "tmp")
    result.benchmarked.append(first)
    return time.monotonic() - started


def _count(cfg, doc: dict, names: Sequence[str], only, results: Path) -> None:
    """The step's instruction counts, added to its file before it is written, and their changes; and
    each side's counts to its commit's asv results (``instructions.<benchmark>``), for asv's graphs."""
    from ..results.instruction_results import store_counts
    from ..results.step_files import changes_of
    from .counted import count_step

    logger.info(f"step {doc['base'][:8]} -> {doc['head'][:8]}: instruction counts under callgrind")
    doc["instructions"] = count_step(cfg.project, doc["base"], doc["head"], names, only)
    cells = doc["instructions"]["cells"]
    for side in ("base", "head"):
        # a count is a whole number; the verdict's base and head are means of one count each
        counts = {(c["benchmark"], tuple(c["params"])): round(c[side]) for c in cells if c[side] is not None}
        store_counts(results, cfg.machine, doc[side], counts)
    doc["changes"], doc["unconfirmed"] = changes_of(doc)


def measure_night(cfg, order: Sequence[str], results: Path, result) -> None:
    """Carry out the night's plan for ``cfg`` (a :class:`~mlupdate.bench.nightly.job.NightlyConfig`),
    filling ``result``; a benchmarking failure is a :class:`~mlupdate.bench.runner.asv_side.SideError`
    (the steps stored before it stay)."""
    from .step import run_step

    docs = read_steps(results, cfg.machine, warn=logger.warning)
    plan = _plan(cfg, order, results, docs)
    if not (plan.first or plan.steps or plan.anchors):
        logger.info(f"no new commits on main for machine {cfg.machine}")
        return
    names, only, tmp = _names(cfg), _only(cfg), cfg.work / "tmp"
    deadline = None if cfg.budget is None else time.monotonic() + cfg.budget * 60
    estimate = _estimate(docs) or 0.0
    if plan.first:
        estimate = _first_run(cfg, plan.first, names, only, results, result)
    work = [("step", b, h) for b, h in plan.steps] + [("anchor", b, h) for b, h in plan.anchors]
    for i, (kind, base, head) in enumerate(work):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and result.benchmarked and left < estimate:
            rest = [h for k, _, h in work[i:] if k == "step"]
            result.missing.extend(rest)
            logger.info(
                f"budget: {left / 60:.1f} min left, a step takes about {estimate / 60:.1f}; not measured: "
                + ", ".join(f"{k} {h[:8]}" for k, _, h in work[i:])
            )
            break
        logger.info(f"[{i + 1}/{len(work)}] {kind} {base[:8]} -> {head[:8]}")
        doc = run_step(
            cfg.project,
            base,
            head,
            names,
            machine=cfg.machine,
            kind=kind,
            results_dir=results,
            threshold=cfg.threshold,
            rounds=cfg.rounds,
            quick=cfg.quick,
            only=only,
            budget=left,
            history=docs,
        )
        if kind == "step":
            doc["skipped"] = skipped_between(order, base, head)
        if kind == "step" and cfg.mode == "both":
            _count(cfg, doc, names, only, results)
        write_step(results, doc, tmp)
        docs.append(doc)
        estimate = doc["seconds"]
        (result.steps if kind == "step" else result.anchors).append((base, head))
        if kind == "step":
            result.benchmarked.append(head)
        _record(doc, result)
        if doc["failed"]:
            logger.warning(f"{len(doc['failed'])} cell(s) of {head[:8]} failed; they are recorded as failed")
        if doc.get("noisy"):
            result.noisy.append((head, "; ".join(doc["noisy"])))
    result.missing = list(dict.fromkeys([*plan.missing, *result.missing]))
