"""The history built from paired steps: each series relative to the history's first commit.

A step gives, per series, a log ratio HEAD/BASE with a standard error. Chained
along the history, the sum of the steps' logs is the series at a commit
relative to the reference, and the variances add. Each step's variance is
taken as ``(t_df * se / z)**2``, so that a step's own interval keeps its width
when chained. Every few steps an *anchor* pairs the commit with the reference
directly; the chained value and the anchor are then combined by inverse
variance, which bounds the error a long chain would otherwise accumulate: it
never exceeds the anchor's own, however many steps came before.

The same chaining gives the exponents (steps' deltas added to the first step's
BASE exponent) and the unit costs (ratios multiplied onto the first step's BASE
unit cost).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from ..results.step_files import level_of, reference_of
from ..stats import is_confirmed_change

__all__ = ["Point", "Track", "chain", "recommended_anchor_every", "tracks"]

Z95 = float(sps.norm.ppf(0.975))


@dataclass(frozen=True)
class Point:
    """A series at one commit: ``value`` (log ratio, or an exponent's delta) to the reference."""

    commit: str
    value: float
    var: float
    anchored: bool = False
    change: bool = False  # a confirmed change at this commit

    def interval(self) -> tuple[float, float]:
        half = Z95 * math.sqrt(self.var)
        return self.value - half, self.value + half


@dataclass
class Track:
    """One chained quantity of one series over the history."""

    series: str
    what: str  # "level", "exponent a", "unit model-batch visit", ...
    origin: float | None = None  # the reference's absolute value (exponent, seconds); None for a level
    points: list[Point] = field(default_factory=list)


def effective_var(est: dict) -> float:
    """The variance of a stored estimate (``{"se", "df"}``) whose normal interval has its t width."""
    se, df = est.get("se"), est.get("df")
    if se is None or not math.isfinite(se):
        return math.inf
    t = sps.t.ppf(0.975, df) if df and math.isfinite(df) else Z95
    return float((t * se / Z95) ** 2)


def chain(
    reference: str,
    steps: Iterable[tuple[str, str, float, float, bool]],
    anchors: dict[str, tuple[float, float]],
) -> list[Point]:
    """Chain ``(base, head, value, var, change)`` steps from ``reference`` (value 0, variance 0);
    ``anchors``: per head, its ``(value, var)`` measured against the reference directly.
    A step whose BASE is not in the chain (a missing link) is left out."""
    known = {reference: Point(reference, 0.0, 0.0)}
    out = [known[reference]]
    for base, head, value, var, change in steps:
        if base not in known or head in known:
            continue
        m, v = known[base].value + value, known[base].var + var
        anchored = head in anchors and math.isfinite(anchors[head][1])
        if anchored:
            a, w = anchors[head]
            if w == 0 or not math.isfinite(v):
                m, v = a, w
            elif v > 0:
                m, v = (m / v + a / w) / (1 / v + 1 / w), 1 / (1 / v + 1 / w)
        known[head] = Point(head, m, v, anchored, change)
        out.append(known[head])
    return out


def _change_commits(docs: Sequence[dict], series: str) -> set[str]:
    """Commits whose step has a confirmed change in ``series`` (a cell, its level or an exponent)."""
    out = set()
    for d in docs:
        items = [x for k in ("cells", "series", "exponents") for x in d.get(k, []) if x["series"] == series]
        if d["kind"] == "step" and any(is_confirmed_change(x) for x in items):
            out.add(d["head"])
    return out


def _quantities(doc: dict) -> Iterable[tuple[str, str, float | None, float, float]]:
    """``(series, what, origin, value, var)`` of every chained quantity in a step."""
    for s in doc.get("series", []):
        level = level_of(s)  # the level the step publishes: re-measured, where it was
        yield s["series"], "level", None, math.log(level["value"]), effective_var(level)
    for e in doc.get("exponents", []):
        yield e["series"], f"exponent {e['exponent']}", e["base"], e["delta"]["value"], effective_var(e["delta"])
    for u in doc.get("units", []):
        yield (
            u["series"],
            f"unit {u['unit']}",
            u["base_seconds"],
            math.log(u["ratio"]["value"]),
            effective_var(u["ratio"]),
        )


def tracks(docs: Sequence[dict]) -> list[Track]:
    """Every chained quantity of the history in ``docs`` (:func:`~mlupdate.bench.results.step_files.read_steps`)."""
    ref = reference_of(docs)
    if ref is None:
        return []
    steps: dict[tuple[str, str], list] = {}
    anchors: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    origins: dict[tuple[str, str], float | None] = {}
    for d in docs:
        for series, what, origin, value, var in _quantities(d):
            key = (series, what)
            if d["kind"] == "anchor":
                anchors.setdefault(key, {})[d["head"]] = (value, var)
            elif d["kind"] == "step":
                origins.setdefault(key, origin)  # the oldest step's BASE: the reference itself, measured
                steps.setdefault(key, []).append((d["base"], d["head"], value, var))
    out = []
    for key, rows in steps.items():
        changed = _change_commits(docs, key[0])
        points = chain(ref, [(*r, r[1] in changed) for r in rows], anchors.get(key, {}))
        out.append(Track(key[0], key[1], origins[key], points))
    return out


def recommended_anchor_every(docs: Sequence[dict], threshold: float, cap: int = 32) -> int | None:
    """The largest K for which K chained steps of the median series-level noise stay within
    ``threshold`` at 95%: ``floor((log(1 + threshold) / (1.96 * sd))**2)``; None before any step."""
    sds = [math.sqrt(effective_var(s["ratio"])) for d in docs if d["kind"] == "step" for s in d.get("series", [])]
    sds = [s for s in sds if math.isfinite(s) and s > 0]
    if not sds:
        return None
    return int(min(cap, max(1, math.floor((math.log1p(threshold) / (Z95 * float(np.median(sds)))) ** 2))))


def scaled(track: Track) -> Callable[[float], float]:
    """How a track's chained value reads: a ratio (level), an exponent, or seconds (unit cost)."""
    if track.what == "level":
        return math.exp
    if track.what.startswith("exponent"):
        return lambda v: (track.origin or 0.0) + v
    return lambda v: (track.origin or 0.0) * math.exp(v)
