"""Paired steps: a commit measured against its predecessor, confirmed, stored for good.

A step runs BASE and HEAD side by side in paired rounds
(:mod:`mlupdate.bench.runner.lockstep`), as many as one unpaired run of the suite
would take (each benchmark's own ``rounds``), and judges what HEAD did
(:mod:`mlupdate.bench.nightly.step_verdict`). Whatever moved beyond the threshold is
measured again at once, in fresh paired rounds of the same two commits (new
benchmark processes), and is called a change only if those agree:
``confirmed``; otherwise it stays ``unconfirmed``.

Step file (JSON; ``steps/<machine>/<head12>.step``, ``<head12>.anchor.step`` or
``<head12>.first.step`` in the results folder,
beside asv's results; written once, atomically, after its confirmation, and
never rewritten)::

    {"version": 1, "kind": "step",            # "step": HEAD vs its predecessor; "anchor": vs the
                                               # history's reference; "first": the plain first run
     "machine": "nightly", "base": "<sha>", "head": "<sha>", "date": 1764640000,
     "threshold": 0.05, "rounds": 2, "seconds": 95.1, "confirm_rounds": 6,
     "skipped": ["<sha>", ...],                # first-parent commits between BASE and HEAD with no step
     "cells": [{"benchmark": "growth.QuadraticDiagonal.time_update", "params": ["8"],
                "series": "growth.QuadraticDiagonal.time_update", "alone": false,
                "base": [0.339, 0.341], "head": [0.338, 0.344],     # per-round values, paired
                "ratio": {"value": 1.004, "low": 0.98, "high": 1.03, "se": 0.012, "df": 10},
                "moved": 0,                                         # +1 up, -1 down, 0 not beyond
                "confirm": null}],                                  # or see below
     "series": [{"series": "...", "rounds": 2,  # the rounds its cells ran (a step runs an undecided
                                                # series on, up to nightly.step_rounds.STEP_MAX_ROUNDS)
                 "ratio": {...}, "moved": 0, "confirm": null}],
     "exponents": [{"series": "...", "exponent": "p", "base": 1.91, "threshold": 0.0955,
                    "delta": {"value": 0.01, "low": -0.03, "high": 0.05, ...}, "moved": 0,
                    "confirm": null}],
     "units": [{"series": "...", "unit": "model-batch visit", "base_seconds": 0.0042,
                "head_seconds": 0.0043, "ratio": {...}, "moved": 0}],
     "changes": ["growth.QuadraticDiagonal.time_update(32)", ...],   # confirmed
     "unconfirmed": [...]}                                           # moved, not confirmed

A ``confirm`` entry: ``{"rounds": 6, "value": 1.11, "low": 1.07, "high": 1.15,
"verdict": "confirmed" | "refuted" | "open" | "not run"}`` (the interval at
:data:`~mlupdate.bench.nightly.step_verdict.CONFIRM_LEVEL`, on the fresh rounds with the step's
per-round variance pooled in); a cell's also has ``"direction"`` (+1 or -1: the move it
was asked to confirm) and the fresh rounds' ``"base"`` and ``"head"`` values.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..stats import is_confirmed_change

__all__ = [
    "KINDS",
    "VERSION",
    "cell_label",
    "chain_of",
    "machines_with_steps",
    "read_steps",
    "reference_of",
    "step_path",
    "write_step",
]

VERSION = 1
KINDS = ("first", "step", "anchor")


def step_path(results_dir: Path, machine: str, head: str, kind: str) -> Path:
    """Where the ``kind`` step of ``head`` is stored."""
    if kind not in KINDS:
        raise ValueError(f"step kind {kind!r} is not one of {', '.join(KINDS)}")
    name = f"{head[:12]}.step" if kind == "step" else f"{head[:12]}.{kind}.step"
    return Path(results_dir) / "steps" / machine / name


def write_step(results_dir: Path, doc: dict, tmp_dir: Path) -> Path:
    """Store ``doc`` at its :func:`step_path`, all or nothing: written beside in ``tmp_dir``
    (outside the results folder, on the same file system) and renamed into place. An existing
    step is never replaced: that is a ``FileExistsError``."""
    path = step_path(results_dir, doc["machine"], doc["head"], doc["kind"])
    if path.exists():
        raise FileExistsError(f"{path} exists: steps are never rewritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, suffix=".step")
    with os.fdopen(fd, "w") as f:
        json.dump({"version": VERSION, **doc}, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_steps(results_dir: Path, machine: str, warn: Callable[[str], None] = print) -> list[dict]:
    """Every step stored for ``machine``, oldest first (by date); unreadable files are warned about."""
    out = []
    for path in sorted((Path(results_dir) / "steps" / machine).glob("*.step")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            warn(f"skipping {path}: {exc}")
            continue
        if doc.get("version") != VERSION or doc.get("kind") not in KINDS:
            warn(f"skipping {path}: not a version-{VERSION} step file")
            continue
        out.append(doc)
    return sorted(out, key=lambda d: (d.get("date", 0), KINDS.index(d["kind"])))


def first_doc(machine: str, head: str, seconds: float) -> dict:
    """The record of a history's first commit: a plain run, nothing to pair it with."""
    return {
        "kind": "first",
        "machine": machine,
        "base": None,
        "head": head,
        "date": int(time.time()),
        "seconds": seconds,
        "cells": [],
        "series": [],
        "exponents": [],
        "units": [],
        "changes": [],
        "unconfirmed": [],
        "skipped": [],
    }


def changes_of(doc: dict) -> tuple[list[str], list[str]]:
    """``(confirmed, unconfirmed)`` labels of what a step moved: cells, series levels, exponents.

    A cell re-measured because its series moved is a confirmed change when its fresh rounds
    confirm it, though its own step did not reach the threshold; it is unconfirmed only if it
    moved itself."""
    confirmed, unconfirmed = [], []
    if doc.get("kind") == "anchor":
        return confirmed, unconfirmed  # an anchor spans many commits: its moves are no commit's change
    for label, item in _items(doc):
        if is_confirmed_change(item):
            confirmed.append(label)
        elif item.get("moved"):
            unconfirmed.append(label)
    return confirmed, unconfirmed


def _items(doc: dict) -> list[tuple[str, dict]]:
    out = [(cell_label(c), c) for c in doc.get("cells", [])]
    out += [(f"{s['series']} level", s) for s in doc.get("series", [])]
    out += [(f"{e['series']} exponent {e['exponent']}", e) for e in doc.get("exponents", [])]
    counted = (doc.get("instructions") or {}).get("cells", [])
    out += [(f"{cell_label(c)} instructions", c) for c in counted]  # exact: confirmed by being counts
    return out


def level_of(series: dict) -> dict:
    """The estimate a step's series level stands for (``{"value", "se", "df"}``, ``value`` a ratio):
    its confirmation's where fresh rounds re-measured the level, else the step's own.

    One reading of one level, for everything that uses it: the published values on asv's graph
    (:func:`~mlupdate.bench.nightly.step.published_ratios`) and the chained history
    (:mod:`~mlupdate.bench.scaling.chain`). A confirmation has more rounds than the step, and the
    step's rounds are the ones that were selected for moving. A confirmation stored before it
    recorded its standard error keeps the step's (the wider: fewer rounds)."""
    fresh, own = series.get("confirm") or {}, series["ratio"]
    if fresh.get("value") is None:
        return {"value": own["value"], "se": own.get("se"), "df": own.get("df")}
    if fresh.get("se") is None:
        return {"value": fresh["value"], "se": own.get("se"), "df": own.get("df")}
    return {"value": fresh["value"], "se": fresh["se"], "df": fresh.get("df")}


def cell_label(cell: dict) -> str:
    """A step file's cell as asv names it: ``name(params)`` (:attr:`~mlupdate.bench.stats.CellRounds.label`)."""
    return f"{cell['benchmark']}({', '.join(cell['params'])})" if cell["params"] else cell["benchmark"]


def skipped_between(order: Sequence[str], base: str, head: str) -> list[str]:
    """The commits strictly between ``base`` and ``head`` in ``order`` (oldest first)."""
    if base not in order or head not in order:
        return []
    return list(order[order.index(base) + 1 : order.index(head)])


def machines_with_steps(results_dir: Path) -> list[str]:
    """Machines that have a steps folder in ``results_dir``."""
    root = Path(results_dir) / "steps"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.step"))) if root.is_dir() else []


def reference_of(docs: Sequence[dict]) -> str | None:
    """The history's reference: its ``first`` commit, else the base of its oldest step."""
    first = [d["head"] for d in docs if d["kind"] == "first"]
    if first:
        return first[0]
    steps = [d for d in docs if d["kind"] == "step"]
    return steps[0]["base"] if steps else None


def chain_of(docs: Sequence[dict]) -> list[str]:
    """The commits of the history in the order they were measured (reference first)."""
    ref = reference_of(docs)
    heads = [d["head"] for d in docs if d["kind"] == "step"]
    return ([ref] if ref else []) + [h for h in heads if h != ref]
