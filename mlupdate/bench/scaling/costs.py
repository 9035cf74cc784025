"""Unit costs from the plan's counts: ``t(cell) = t0 + sum_k u_k * count_k(cell)``.

The loop's time is a sum of terms, each an exact count of the cell's
:class:`~mlupdate.plan.Plan` (model-batch visits, fits, preprocess calls, ...)
times a unit cost. The counts come from each cell's
:class:`~mlupdate.bench.suite.workloads.Workload`, so no new measurement is needed, and the
fitted model extrapolates to sizes never run (the seed's 1000x1000).

Counts that are proportional to each other over a grid (predict and evaluate
are both m*n) are one term, named for all of them. A count that is a linear
combination of others (rows trained, m*H + r*m*n, on a grid with fixed H and
r) has no cost of its own to find: it is reported as explained by those terms.
The fit is a robust non-negative least squares in relative error, with
residual-bootstrap intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares, nnls

from ...durations import in_unit
from ...plan import Plan
from ..results.counts import CountFormula, RecordedCounts, fit_formula
from ..suite.timed import timed_counts
from ..suite.workloads import Workload

__all__ = [
    "CostModel",
    "Term",
    "count_formulas",
    "design",
    "design_matrix",
    "fit_costs",
    "fit_design",
    "is_resolved",
    "own_counts",
    "plan_counts",
]

#: Order in which counts become terms (the first of proportional counts names the unit).
PRIORITY = ("predict", "preprocess", "fit", "partial_fit", "score", "rows_trained", "rows_predicted", "evaluate")
#: Representative count -> what one of it is.
UNITS = {
    "predict": "model-batch visit",
    "preprocess": "preprocess call",
    "fit": "fit",
    "partial_fit": "partial_fit call",
    "score": "model scored on holdout",
    "rows_trained": "row trained",
    "rows_predicted": "row predicted",
    "evaluate": "evaluate call",
}


def plan_counts(w: Workload) -> dict[str, int]:
    """The exact counts of one workload's update."""
    return Plan(w.n_models, w.n_batches, w.rows_per_batch, w.history_rows, w.order, w.strategy).counts()


@dataclass(frozen=True)
class Term:
    """One fitted term: a representative count and the counts proportional to it."""

    key: str
    merged: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "+".join((self.key, *self.merged))

    @property
    def what(self) -> str:
        return UNITS[self.key]

    def format(self, seconds: float, low: float | None = None, high: float | None = None) -> str:
        """``3.72 [3.49, 3.94] ms per model-batch visit``."""
        value, unit = in_unit(seconds, like=max(abs(seconds), high or 0.0))
        scale = seconds / value if value else in_unit(1.0, like=max(abs(seconds), high or 0.0))[0] ** -1
        interval = f" [{low / scale:.3g}, {high / scale:.3g}]" if low is not None and high is not None else ""
        return f"{value:.3g}{interval} {unit} per {self.what}"


def _in_span(column: np.ndarray, basis: list[np.ndarray]) -> bool:
    A = np.column_stack(basis)
    coef, *_ = np.linalg.lstsq(A, column, rcond=None)
    return np.linalg.norm(A @ coef - column) <= 1e-9 * max(1.0, np.linalg.norm(column))


def design(counts: Sequence[dict[str, int]]) -> tuple[list[Term], dict[str, list[str]]]:
    """Terms for cells with these counts; and the counts explained by a combination of terms."""
    cols = {k: np.array([c.get(k, 0) for c in counts], float) for k in PRIORITY}
    terms: list[list[str]] = []
    basis = [np.ones(len(counts))]  # the intercept t0
    explained: dict[str, list[str]] = {}
    for key in PRIORITY:
        col = cols[key]
        if not col.any():
            continue
        twin = next((t for t in terms if _in_span(col, [cols[t[0]]])), None)
        if twin is not None:
            twin.append(key)
        elif _in_span(col, basis):
            explained[key] = ["t0", *(t[0] for t in terms)]
        else:
            terms.append([key])
            basis.append(col)
    return [Term(t[0], tuple(t[1:])) for t in terms], explained


#: Where a cost model's counts came from, as its description says it.
COUNTED = {
    "recorded": "counts recorded by the commit's own runs",
    "plan": "counts from the plan (this commit's runs recorded none)",
}

#: A unit cost is resolved when its 95% lower bound is at least this share of its upper bound:
#: an interval from 1e-21 to 6 ms is the data saying "somewhere below 6 ms", not a cost.
RESOLVED_FRACTION = 0.01


def is_resolved(interval: tuple[float, float]) -> bool:
    """Whether a unit cost's 95% interval separates it from zero (:data:`RESOLVED_FRACTION`)."""
    low, high = interval
    return high > 0 and low >= RESOLVED_FRACTION * high


def _solve(A: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Non-negative theta minimising a robust loss of the relative residuals (A theta - t) / t."""
    W = A / t[:, None]
    x0, _ = nnls(W, np.ones(len(t)))
    scale = np.where(x0 > 0, x0, W.max(0) ** -1 * 1e-3 + 1e-12)
    res = least_squares(
        lambda th: W @ th - 1.0,
        np.maximum(x0, 0) + 1e-15,
        bounds=(0, np.inf),
        loss="soft_l1",
        f_scale=0.05,
        x_scale=scale,
    )
    return res.x


@dataclass
class CostModel:
    """Fitted unit costs of one series, and how to predict its workload at other sizes."""

    series: str
    workload: Workload
    terms: list[Term]
    explained: dict[str, list[str]]
    theta: np.ndarray  # t0, then one unit cost per term (seconds)
    draws: np.ndarray = field(repr=False)  # bootstrap thetas
    n_cells: int = 0
    # the commit's own count formulas (fitted to its recorded counts), or None: the checkout's plan
    formulas: dict[str, CountFormula] | None = None
    counted: str = "plan"  # where the cells' counts came from: "recorded" (the commit's runs) or "plan"

    @property
    def t0(self) -> float:
        return float(self.theta[0])

    def counts(self, m: int, n: int) -> dict[str, float]:
        """The counts of this series' update at m x n: the commit's own formulas where they are known,
        else the checkout's plan."""
        if self.formulas is not None:
            return {key: f(m, n) for key, f in self.formulas.items()}
        return timed_counts(self.series, plan_counts(self.workload.with_(n_models=m, n_batches=n)))

    def row(self, m: int, n: int) -> np.ndarray:
        counts = self.counts(m, n)
        return np.r_[1.0, [counts[t.key] for t in self.terms]]

    def predict(self, m: int, n: int, strategy: str | None = None) -> tuple[float, float, float]:
        """Seconds at m x n, with a 95% bootstrap interval; ``strategy``: the counts of another retrain
        strategy's plan on the same unit costs (a ``ValueError`` when it needs a count this series
        has no unit cost for)."""
        x = self.row(m, n) if strategy is None else self._row_for(m, n, strategy)
        point = float(x @ self.theta)
        if not len(self.draws):
            return point, point, point
        spread = self.draws @ x
        return point, float(np.percentile(spread, 2.5)), float(np.percentile(spread, 97.5))

    def _row_for(self, m: int, n: int, strategy: str) -> np.ndarray:
        counts = timed_counts(self.series, plan_counts(self.workload.with_(n_models=m, n_batches=n, strategy=strategy)))
        known = {t.key for t in self.terms} | {k for t in self.terms for k in t.merged} | set(self.explained)
        missing = [k for k, v in counts.items() if v and k not in known]
        if missing:
            raise ValueError(f"strategy {strategy!r} needs {missing[0]} calls, which {self.series} never measured")
        return np.r_[1.0, [counts[t.key] for t in self.terms]]

    def shares(self, m: int, n: int) -> dict[str, float]:
        """Each term's share of the predicted time at m x n (t0 included)."""
        parts = self.row(m, n) * self.theta
        total = parts.sum() or 1.0
        return dict(zip(["t0", *(t.label for t in self.terms)], (parts / total).tolist(), strict=True))

    def interval(self, i: int) -> tuple[float, float]:
        """95% bootstrap interval of ``theta[i]``."""
        if not len(self.draws):
            return float(self.theta[i]), float(self.theta[i])
        lo, hi = np.percentile(self.draws[:, i], [2.5, 97.5])
        return float(lo), float(hi)

    def resolved(self, i: int) -> bool:
        """Whether the data separate ``theta[i]`` from zero: its 95% lower bound is at least
        :data:`RESOLVED_FRACTION` of its upper bound (a cost the fit put at its zero bound is not)."""
        return is_resolved(self.interval(i))

    @property
    def unresolved(self) -> list[str]:
        """The terms (``t0``, or what a unit costs per) the data cannot separate from zero."""
        names = ["t0", *(t.what for t in self.terms)]
        return [names[i] for i in range(len(self.theta)) if not self.resolved(i)]

    def describe(self) -> str:
        """Each unit cost with its interval, or ``not resolved (< X)`` where the data cannot separate
        it from zero (X: its 95% upper bound)."""
        if self.resolved(0):
            value, unit = in_unit(self.t0)
            parts = [f"t0 {value:.3g} {unit}"]
        else:
            value, unit = in_unit(self.interval(0)[1])
            parts = [f"t0 not resolved (< {value:.3g} {unit})"]
        for i, term in enumerate(self.terms, 1):
            if self.resolved(i):
                parts.append(f"{term.format(self.theta[i], *self.interval(i))} ({term.label})")
            else:
                value, unit = in_unit(self.interval(i)[1])
                parts.append(f"not resolved (< {value:.3g} {unit}) per {term.what} ({term.label})")
        parts.append(
            COUNTED[self.counted] + ("" if self.formulas or self.counted == "plan" else ", the plan's beyond them")
        )
        return "; ".join(parts)

    def to_dict(self) -> dict:
        terms = []
        for i, t in enumerate(self.terms, 1):
            low, high = self.interval(i)
            terms.append(
                {
                    "counts": [t.key, *t.merged],
                    "per": t.what,
                    "seconds": float(self.theta[i]),
                    "low": low,
                    "high": high,
                    "resolved": self.resolved(i),
                }
            )
        return {
            "series": self.series,
            "t0_seconds": self.t0,
            "t0_resolved": self.resolved(0),
            "terms": terms,
            "explained": self.explained,
            "cells": self.n_cells,
            "counts_from": self.counted,
            "count_formulas": {k: f.text() for k, f in self.formulas.items()} if self.formulas else None,
        }


def design_matrix(terms: Sequence[Term], counts: Sequence[dict[str, int]]) -> np.ndarray:
    """The cost model's design on these cells' counts: ``t0``'s column of ones, then one per term."""
    return np.column_stack([np.ones(len(counts)), *[[c.get(term.key, 0) for c in counts] for term in terms]])


def fit_design(A: np.ndarray, t: np.ndarray, *, n_boot: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative coefficients of ``t ~ A @ theta`` (robust, in relative error) and ``n_boot``
    residual-bootstrap draws of them (one row each)."""
    theta = _solve(A, t)
    fitted = A @ theta
    rel = t / fitted - 1.0
    rng = np.random.default_rng(seed)
    draws = np.array([_solve(A, fitted * (1 + rng.choice(rel, len(t)))) for _ in range(n_boot)]).reshape(-1, A.shape[1])
    return theta, draws


def own_counts(workloads: Sequence[Workload], recorded: RecordedCounts | None) -> list[dict[str, int]] | None:
    """Every workload's counts as the commit's runs recorded them, or None when any is missing (a
    result from before the counts were recorded, or of a plain ``asv run``): the caller then uses
    the plan for all of them, so that one fit never mixes the two."""
    if recorded is None:
        return None
    found = [recorded.of(w) for w in workloads]
    return found if all(found) else None  # type: ignore[return-value]


def count_formulas(workloads: Sequence[Workload], counts: Sequence[dict[str, int]]) -> dict[str, CountFormula] | None:
    """Each count's exact formula in the cells' models and batches (None when one has none: the cells
    cannot price other sizes)."""
    sizes = [(w.n_models, w.n_batches) for w in workloads]
    if len({m for m, _ in sizes}) < 2 or len({n for _, n in sizes}) < 2:
        return None  # a size the grid holds fixed: a formula would extrapolate it blind (8*m for m*n at n = 8)
    out = {}
    for key in counts[0]:
        found = fit_formula(sizes, [c.get(key, 0) for c in counts])
        if found is None:
            return None
        out[key] = found
    return out


def fit_costs(
    series: str,
    workloads: Sequence[Workload],
    times: Sequence[float],
    *,
    n_boot: int = 200,
    seed: int = 0,
    counts: Sequence[dict[str, int]] | None = None,
) -> CostModel:
    """Fit unit costs to cells (their workloads and seconds).

    ``counts``: each cell's counts as the measured commit's runs recorded them
    (:mod:`mlupdate.bench.results.counts`); without them, the checkout's plan counts. Of either, the
    counts the series' time is made of (:func:`~mlupdate.bench.suite.timed.timed_counts`: all, or a
    part-timed benchmark's). Raises ``ValueError`` when there are fewer cells than terms + 2.
    """
    own = counts is not None
    counts = [timed_counts(series, c) for c in (counts if own else [plan_counts(w) for w in workloads])]
    terms, explained = design(counts)
    t = np.asarray(times, float)
    if len(t) < len(terms) + 2:
        raise ValueError(f"{series}: {len(t)} cells are too few to fit t0 and {len(terms)} unit cost(s)")
    theta, draws = fit_design(design_matrix(terms, counts), t, n_boot=n_boot, seed=seed)
    formulas = count_formulas(workloads, counts) if own else None
    return CostModel(
        series, workloads[0], terms, explained, theta, draws, len(t), formulas, "recorded" if own else "plan"
    )


def cell_workloads(s, benchmark_dir) -> list[Workload]:
    """The workload of every cell of a series (see :func:`mlupdate.bench.suite.catalog.workload_of`)."""
    from ..suite.catalog import workload_of

    return [
        workload_of(c.benchmark or s.benchmark, {**s.fixed, **{k: str(v) for k, v in c.sizes.items()}}, benchmark_dir)
        for c in s.cells
    ]


def largest(s) -> list[int]:
    """Indices of the held-out cells: every size at its maximum (the grid's corner, the diagonal's top),
    in the series' own grid (cells another benchmark measured for its price are never held out)."""
    own = [c for c in s.cells if c.benchmark is None]
    top = {k: max(c.sizes[k] for c in own) for k in s.size_names}
    return [i for i, c in enumerate(s.cells) if c.benchmark is None and all(c.sizes[k] == top[k] for k in top)]
