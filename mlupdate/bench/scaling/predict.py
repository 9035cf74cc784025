"""Cost models of a commit's series: fitted, validated on held-out cells, and predicting sizes.

``mlupdate scaling predict``, ``mlupdate plan --predict`` and the scaling page
share :func:`cost_models`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import UsageError
from ...plan import Plan
from ...strategies import get_strategy
from ..results.asv_results import ResultsError
from ..results.counts import read_counts
from ..runner.noise import noisy_commits
from ..suite.catalog import NoWorkload, WorkloadError
from ..suite.timed import part_timed, timed_counts
from .costs import CostModel, cell_workloads, design, fit_costs, largest, own_counts, plan_counts
from .exponents import resolve_commit, sizes_by_exponent
from .fit import fit_surface
from .series import Series, load_series, priced_together

__all__ = ["SEED_SIZES", "SeriesCosts", "cost_models", "fleet_plans", "predict_plans", "predictions"]

#: The seed's rows: what 10x10, 100x100 and 1000x1000 cost.
SEED_SIZES = ((10, 10), (100, 100), (1000, 1000))


@dataclass
class SeriesCosts:
    """A series' cost model and its held-out check."""

    series: Series
    model: CostModel
    held_out: list[dict]  # per held-out cell: sizes, seconds, cost-model and exponent-model errors

    def to_dict(self) -> dict:
        return {**self.model.to_dict(), "commit": self.series.commit, "held_out": self.held_out}


def _validate(s: Series, workloads, t: np.ndarray, counts: list[dict] | None) -> list[dict]:
    """Refit without the largest cells and predict them, with both models."""
    hold = largest(s)
    keep = [i for i in range(len(t)) if i not in hold]
    out = []
    try:
        kept = None if counts is None else [counts[i] for i in keep]
        costs = fit_costs(s.key, [workloads[i] for i in keep], t[keep], n_boot=0, counts=kept)
    except ValueError:
        return out
    sizes = sizes_by_exponent(s)
    try:
        power = fit_surface({k: v[keep] for k, v in sizes.items()}, t[keep], n_boot=0)
    except ValueError:
        power = None
    for i in hold:
        w = workloads[i]
        row = {"sizes": s.cells[i].sizes, "seconds": float(t[i])}
        row["cost_model_error"] = float(costs.row(w.n_models, w.n_batches) @ costs.theta) / t[i] - 1
        if power is not None:
            row["exponent_model_error"] = float(power.predict({k: v[[i]] for k, v in sizes.items()})[0] / t[i] - 1)
        out.append(row)
    return out


def _commit(series: list[Series], commit: str | None) -> str:
    commits = {s.commit for s in series}
    if not commits:
        raise ResultsError("no timed series in the results: run the suite first (make bench)")
    if commit is None:
        return max(series, key=lambda s: s.date).commit
    return resolve_commit(commit, commits)


def cost_models(
    results_dir: Path,
    *,
    commit: str | None = None,
    pattern: str | None = None,
    benchmark_dir: Path = Path("benchmarks"),
    n_boot: int = 200,
    warn: Callable[[str], None] = print,
    commits: Container[str] | None = None,
) -> list[SeriesCosts]:
    """Fit every timed series that ``pattern`` selects, from ``commit`` (default: each
    series from the newest commit that measured it in a quiet run; a noisy run's,
    :func:`~mlupdate.bench.runner.noise.noisy_commits`, only when no quiet run measured it).

    Without a pattern, series too small to fit by design are skipped; a series
    that a pattern selects and that cannot be fitted is a :class:`~mlupdate.errors.UsageError`.
    """
    all_series = [s for s in load_series(results_dir, prefixes=("time_",), warn=warn, commits=commits) if s.size_names]
    all_series = priced_together(all_series)
    if commit is not None:
        sha = _commit(all_series, commit)
        all_series = [s for s in all_series if s.commit == sha]
    elif not all_series:
        raise ResultsError(f"no timed series in {results_dir}: run the suite first (make bench)")
    noisy = noisy_commits(results_dir)
    newest: dict[str, Series] = {}
    for s in sorted(all_series, key=lambda s: s.date):
        if s.commit not in noisy or s.key not in newest or newest[s.key].commit in noisy:
            newest[s.key] = s  # each series from the newest quiet commit that measured it (noisy: none quiet)
    chosen = [s for s in newest.values() if pattern is None or re.search(pattern, s.key)]
    if pattern is not None and not chosen:
        raise UsageError(f"no series in {results_dir} matches {pattern!r}")
    out = []
    for s in chosen:
        try:
            workloads = cell_workloads(s, benchmark_dir)
        except WorkloadError as exc:
            if pattern is not None:
                raise
            if not isinstance(exc, NoWorkload):
                warn(f"{s.key}: skipped, {exc}")
            continue
        need = len(design([timed_counts(s.key, plan_counts(w)) for w in workloads])[0]) + 2
        if len(s.cells) < need:
            if pattern is not None:
                raise UsageError(f"{s.key} at {s.commit[:8]} has {len(s.cells)} cells, too few to fit (needs {need})")
            continue
        t = np.array([c.value for c in s.cells])
        counts = own_counts(workloads, read_counts(s.path) if s.path else None)
        model = fit_costs(s.key, workloads, t, n_boot=n_boot, seed=len(s.key), counts=counts)
        out.append(SeriesCosts(s, model, _validate(s, workloads, t, counts)))
    return out


def predict_plans(plans: list[Plan], models: list[SeriesCosts], strict: bool = False) -> list[dict | None]:
    """Per plan, the seconds predicted by the serial series of its strategy and order (``None``: no such
    series; with ``strict``, a :class:`~mlupdate.errors.UsageError` naming the plan and what was measured).

    Each prediction names its series and the workload the unit costs were measured on.
    """
    out: list[dict | None] = []
    for plan in plans:
        match = next(
            (
                sc
                for sc in models
                if (sc.model.workload.strategy, sc.model.workload.order, sc.model.workload.executor)
                == (plan.strategy, plan.order, "serial")
                and part_timed(sc.model.series) is None  # a whole update's series, not its training's
            ),
            None,
        )
        if match is None and strict:
            measured = sorted(
                {
                    f"{sc.model.workload.strategy}/{sc.model.workload.order}"
                    for sc in models
                    if sc.model.workload.executor == "serial"
                }
            )
            raise UsageError(
                f"--predict: no serial series of strategy {plan.strategy!r} in order {plan.order!r} "
                f"has been measured (measured: {', '.join(measured) or 'none'})"
            )
        if match is None:
            out.append(None)
            continue
        w = match.model.workload
        point, low, high = match.model.predict(plan.n_models, plan.n_batches)
        about = f"{w.estimators} fleet, {w.rows_per_batch} rows per batch, {w.history_rows} history rows"
        row = _priced(match.model, about, point, low, high)
        if (plan.rows_per_batch, plan.history_rows) != (w.rows_per_batch, w.history_rows):
            # the unit costs are per visit and per fit of the measured workload: rows and visits were
            # proportional in every measured cell, so they cannot be rescaled to other rows
            row["note"] = (
                f"priced at the measured {w.rows_per_batch} rows per batch and {w.history_rows} history rows, "
                f"not the plan's {plan.rows_per_batch} and {plan.history_rows}"
            )
        out.append(row)
    return out


def predictions(models: list[SeriesCosts], sizes, strategies=()) -> list[dict]:
    """Per series and size, the predicted seconds; with ``strategies``, also each strategy's plan on
    the series' unit costs, and what it saves against the series' own strategy (``saves``: a fraction,
    negative when it costs more). A strategy the series cannot predict is a ``UsageError`` naming why."""
    rows = []
    for sc in models:
        own = sc.model.workload.strategy
        for m, n in sizes:
            seconds, low, high = sc.model.predict(m, n)
            rows.append({"series": sc.model.series, "size": f"{m}x{n}", "seconds": seconds, "low": low, "high": high})
            for strategy in (s for s in strategies if s != own):
                try:
                    other, lo, hi = sc.model.predict(m, n, strategy)
                except ValueError as exc:
                    raise UsageError(f"--strategy {strategy}: {exc}") from None
                bound = get_strategy(strategy).data_dependent  # e.g. triggered: its refits depend on the data
                rows.append(
                    {
                        "series": f"{sc.model.series} as {strategy}" + (" (at most)" if bound else ""),
                        "size": f"{m}x{n}",
                        "seconds": other,
                        "low": lo,
                        "high": hi,
                        "saves": 1 - other / seconds,
                        "against": own,
                        "upper_bound": bound,
                    }
                )
    return rows


def fleet_plans(plans: list[Plan], fleet: str, results_dir: Path, benchmark_dir: Path, warn=print) -> list[dict]:
    """Per plan, the seconds a registered fleet's unit costs predict (its own series,
    ``own.OwnFleetGrid``), each plan's strategy on the same unit costs; a plan that cannot be
    predicted is a :class:`~mlupdate.errors.UsageError` naming why."""
    pattern = "^" + re.escape(f"own.OwnFleetGrid.time_update(fleet={fleet})") + "$"
    try:
        (sc,) = cost_models(results_dir, pattern=pattern, benchmark_dir=benchmark_dir, warn=warn)
    except UsageError as exc:
        raise UsageError(f"--fleet {fleet}: no prediction ({exc}); measure it with `mlupdate bench`") from None
    out = []
    for plan in plans:
        try:
            point, low, high = sc.model.predict(plan.n_models, plan.n_batches, plan.strategy)
        except ValueError as exc:
            raise UsageError(f"--strategy {plan.strategy}: {exc}") from None
        w = sc.model.workload
        about = f"your fleet, {w.rows_per_batch} rows per batch, {w.history_rows} history rows, {w.strategy} measured"
        out.append(_priced(sc.model, about, point, low, high))
    return out


def _priced(model: CostModel, about: str, point: float, low: float, high: float) -> dict:
    """One predicted row: its series, workload and seconds, and the unit costs it could not resolve."""
    row = {"series": model.series, "workload": about, "seconds": point, "low": low, "high": high}
    if model.unresolved:
        # priced at their fitted value (often zero): the data could not separate them from zero
        row["not_resolved"] = model.unresolved
    return row
