"""The update loop: evaluate every deployed model on new batches, then retrain.

:func:`update_fleet` is equivalent to the plain loop::

    for model in fleet.models:                   # m
        for batch in batches:                    # n
            X = fleet.preprocessor.transform(batch.X)
            y_hat = model.estimator.predict(X)
            evaluate(batch.y[:, model.index], y_hat)
        retrain(model, history + batches)        # per strategy

with the order of the two loops, the retrain strategy and the executor that
runs the per-model tasks chosen by name, and every operation counted and timed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .adapters import as_batch, as_batches
from .batches import Batch, check_batch
from .errors import ExecutorError, UsageError, UsageTypeError
from .executors import Executor, get_executor
from .fleet import Fleet
from .plan import Plan, check_order
from .report import Failure, ModelResult, StageRecorder, UpdateReport
from .strategies import RetrainStrategy, TrainingData, get_strategy
from .task import ModelWork, SharedData, run_model, score

__all__ = ["update_fleet"]


def _checked(batches: Iterable[Batch], fleet: Fleet, rows: list[int]) -> Iterator[Batch]:
    """Each batch checked as it is read (targets as a column each); ``rows`` gets each one's row count."""
    for batch in as_batches(batches, fleet.feature_names):
        check_batch(batch, fleet.n_features, fleet.n_models)
        yield batch
        rows.append(batch.n_rows)
    if not rows:
        raise UsageError("no batches: the update needs at least 1 new batch")


def update_fleet(
    fleet: Fleet,
    batches: Iterable[Batch],
    holdout: tuple[np.ndarray, np.ndarray],
    *,
    strategy: str | RetrainStrategy = "full",
    order: str = "model-major",
    executor: str | Executor = "serial",
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = False,
) -> UpdateReport:
    """Evaluate every model on every new batch, retrain, and report.

    Parameters
    ----------
    fleet : Fleet
        The deployed models (left unchanged; updated estimators are returned
        in the report).
    batches : iterable of Batch
        The n new batches, e.g. ``task.stream(n)``, each checked (features,
        finiteness, lengths). Every batch is read and checked before any model
        runs, except on an executor that streams (``fused``, with the ``none``,
        ``full`` and ``triggered`` strategies): it reads each batch once, as it
        comes, and keeps only what the retrain needs, so memory does not grow
        with n; a bad batch then stops the update with the same error.
    holdout : (X, Y)
        Fresh raw data to score each model on after the retrain.
    strategy : str or RetrainStrategy, default="full"
        A name from :data:`mlupdate.strategies.STRATEGIES`.
    order : {"model-major", "batch-major"}, default="model-major"
        Where preprocessing happens: per model and batch (m*n calls), or once
        per batch shared by all models (n calls).
    executor : str or Executor, default="serial"
        A name from :data:`mlupdate.executors.EXECUTORS`.
    n_jobs, backend : optional
        Passed to the executor when it is given by name (joblib, and fused: its column shards).
    progress : bool or None, default=False
        Show a progress bar over models on stderr (``None``: only on a TTY).

    Returns
    -------
    UpdateReport
        Counts (equal to :class:`~mlupdate.plan.Plan`'s), stage times,
        per-model metrics before and after, and failures. Models that raise
        are reported as failures; the others complete. A lost worker marks
        the models it had not returned as failed in stage ``worker``.

    Raises
    ------
    UsageError
        Bad names, counts, or batches, before any work starts (a
        ``ValueError``; :class:`~mlupdate.errors.UsageTypeError`, also a
        ``TypeError``, for a value of the wrong type).

    Examples
    --------
    Three models on your own arrays, then a stream of four new batches, each an
    ``(X, Y)`` pair (DataFrames work too), read once as it arrives:

    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from mlupdate import Fleet, update_fleet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> Y = X @ rng.normal(size=(4, 3)) + 0.1 * rng.normal(size=(300, 3))
    >>> fleet = Fleet.from_data(X[:200], Y[:200], [Ridge() for _ in range(3)])
    >>> batches = ((X[i : i + 20], Y[i : i + 20]) for i in range(200, 280, 20))
    >>> report = update_fleet(fleet, batches, holdout=(X[280:], Y[280:]), executor="fused")
    >>> report.counts["predict"], report.counts["fit"]  # 3 models x 4 batches, then 3 refits
    (12, 3)
    >>> report.retrained, report.ok
    ([True, True, True], True)
    >>> [round(after["r2"], 2) for after in report.after]
    [0.99, 1.0, 1.0]
    """
    strategy, executor = _check(fleet, strategy, order, executor, n_jobs, backend)
    start = time.perf_counter()
    parent = StageRecorder()
    if executor.streams(strategy):
        plan, results, failures = _run_streamed(fleet, batches, holdout, order, strategy, executor, progress)
    else:
        raw = list(_checked(batches, fleet, []))
        plan = _plan(fleet, [batch.n_rows for batch in raw], order, strategy)
        shared, fleet_pre = _shared_data(fleet, raw, holdout, order, strategy, parent)
        results, failures = _run_tasks(fleet, strategy, executor, shared, progress)
        if not strategy.per_model:
            _retrain_fleet(
                fleet=fleet,
                strategy=strategy,
                raw=raw,
                X_new=fleet_pre,
                results=results,
                X_holdout_pre=shared.X_holdout_pre,
                Y_holdout=shared.Y_holdout,
                stages=parent,
            )
    for res in results.values():
        parent.merge(res.stages)
    return _report(fleet, plan, executor, parent, results, failures, time.perf_counter() - start)


def _check(fleet, strategy, order, executor, n_jobs, backend) -> tuple[RetrainStrategy, Executor]:
    """Names to objects, refusing bad input before any work starts."""
    check_order(order)
    strategy = get_strategy(strategy)
    params = {k: v for k, v in (("n_jobs", n_jobs), ("backend", backend)) if v is not None}
    if params and not isinstance(executor, str):
        raise UsageTypeError("n_jobs/backend go with an executor given by name; configure the Executor object instead")
    executor = get_executor(executor, **params)
    strategy.check(fleet)
    return strategy, executor


def _shared_data(
    fleet: Fleet,
    raw: list[Batch],
    holdout: tuple[np.ndarray, np.ndarray],
    order: str,
    strategy: RetrainStrategy,
    parent: StageRecorder,
) -> tuple[SharedData, list[np.ndarray] | None]:
    """What every task reads, and the batches preprocessed once in the parent.

    The parent preprocesses each batch once when the order is batch-major (the
    tasks read it) or when the retrain is fleet-wide (the parent fits on it).
    """
    fleet_pre = None
    if order == "batch-major" or not strategy.per_model:
        fleet_pre = [parent.call("preprocess", fleet.preprocessor.transform, b.X) for b in raw]
    shared = SharedData(
        fleet.preprocessor,
        raw,
        fleet_pre if order == "batch-major" else None,
        fleet.X_history_pre,
        fleet.Y_history,
        *_holdout(fleet, holdout),
    )
    return shared, fleet_pre


def _run_streamed(
    fleet: Fleet,
    batches: Iterable[Batch],
    holdout: tuple[np.ndarray, np.ndarray],
    order: str,
    strategy: RetrainStrategy,
    executor: Executor,
    progress: bool | None,
) -> tuple[Plan, dict[int, ModelResult], list[Failure]]:
    """The update on an executor that streams: each batch is read, checked and used once."""
    rows: list[int] = []
    shared = SharedData(fleet.preprocessor, [], None, fleet.X_history_pre, fleet.Y_history, *_holdout(fleet, holdout))
    works = [ModelWork(model, strategy) for model in fleet.models]
    total = len(batches) if isinstance(batches, Sized) else None
    bar = tqdm(
        _checked(batches, fleet, rows),
        total=total,
        desc="batches",
        unit="batch",
        leave=False,
        disable=None if progress is None else not progress,
    )
    with executor.session(), bar:
        results = {res.index: res for res in executor.map_stream(run_model, works, shared, bar, order)}
    return (
        _plan(fleet, rows, order, strategy),
        results,
        [res.failure for res in results.values() if res.failure is not None],
    )


def _holdout(fleet: Fleet, holdout: tuple[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The holdout's features preprocessed, and its targets, checked like a batch."""
    batch = as_batch(holdout, 0, fleet.feature_names)
    check_batch(batch, fleet.n_features, fleet.n_models, name="the holdout")
    return np.asarray(fleet.preprocessor.transform(batch.X)), batch.y


def _run_tasks(
    fleet: Fleet, strategy: RetrainStrategy, executor: Executor, shared: SharedData, progress: bool | None
) -> tuple[dict[int, ModelResult], list[Failure]]:
    """Every model's task on the executor; failed models, and those a lost worker took."""
    # on workers, slowest first (by deploy fit time): the last task a worker takes is a short one; one
    # worker takes them in the fleet's order, which no clock moves (the order moves the allocations,
    # and an instruction count with them)
    models = sorted(fleet.models, key=lambda m: -m.fit_seconds) if executor.n_workers > 1 else fleet.models
    works = [ModelWork(model, strategy) for model in models]
    results: dict[int, ModelResult] = {}
    lost: str | None = None
    bar = tqdm(
        total=len(works), desc="models", unit="model", leave=False, disable=None if progress is None else not progress
    )
    with executor.session(), bar:
        try:
            for res in executor.map(run_model, works, shared):
                results[res.index] = res
                bar.update(1)
        except ExecutorError as exc:
            lost = str(exc)
    failures = [res.failure for res in results.values() if res.failure is not None]
    if lost is not None:
        failures += [
            Failure(m.index, m.name, "worker", f"lost: {lost}") for m in fleet.models if m.index not in results
        ]
    return results, failures


def _shown(preprocessor: Any) -> str:
    """A preprocessor as one line: ``StandardScaler()``, ``Pipeline(StandardScaler, SplineTransformer)``."""
    steps = getattr(preprocessor, "steps", None)
    if steps:
        return f"Pipeline({', '.join(type(step).__name__ for _, step in steps)})"
    return " ".join(repr(preprocessor).split())


def _plan(fleet: Fleet, rows: list[int], order: str, strategy: RetrainStrategy) -> Plan:
    """The update's plan: ``rows`` holds each new batch's row count."""
    uneven = (min(rows), max(rows)) if min(rows) != max(rows) else None
    return Plan(fleet.n_models, len(rows), rows[0], fleet.X_history_pre.shape[0], order, strategy.name, uneven)


def _report(
    fleet: Fleet,
    plan: Plan,
    executor: Executor,
    parent: StageRecorder,
    results: dict[int, ModelResult],
    failures: list[Failure],
    wall_seconds: float,
) -> UpdateReport:
    ordered = [results.get(model.index) for model in fleet.models]
    return UpdateReport(
        config={
            "n_models": plan.n_models,
            "n_batches": plan.n_batches,
            "rows_per_batch": plan.rows_per_batch,
            **({"batch_rows": list(plan.batch_rows)} if plan.batch_rows else {}),
            "history_rows": plan.history_rows,
            "order": plan.order,
            "strategy": plan.strategy,
            **executor.describe(),
            **({"targets": fleet.target_names} if fleet.target_names else {}),
            "preprocessor": _shown(fleet.preprocessor),
            "validation": fleet.validation_name,
            "features": fleet.feature_names or [f"x{j}" for j in range(fleet.n_features)],
        },
        planned=plan.counts(),
        counts=dict(parent.counts),
        seconds=dict(parent.seconds),
        wall_seconds=wall_seconds,
        before=[r.before if r else {} for r in ordered],
        after=[r.after if r else {} for r in ordered],
        retrained=[bool(r and r.retrained) for r in ordered],
        failures=sorted(failures, key=lambda f: f.model),
        estimators=[r.estimator if r and not r.failure else None for r in ordered],
        fusion=_fusion(fleet, results),
    )


def _fusion(fleet: Fleet, results: dict[int, ModelResult]) -> dict | None:
    """What an executor that fuses models did: which were fused, how many calls, what ran alone and why."""
    if not any(r.fused or r.fallback for r in results.values()):
        return None
    names = {m.index: m.name for m in fleet.models}
    return {
        "fused_models": sorted(i for i, r in results.items() if r.fused),
        "fused_calls": sum(r.fused_calls for r in results.values()),
        # models that ran alone, and why; a fused model's note (e.g. retrained alone) is not a fallback
        "fallback": {names[i]: r.fallback for i, r in sorted(results.items()) if r.fallback and not r.fused},
        "notes": {names[i]: r.fallback for i, r in sorted(results.items()) if r.fallback and r.fused},
    }


def _retrain_fleet(
    *,
    fleet: Fleet,
    strategy: RetrainStrategy,
    raw: Sequence[Batch],
    X_new: Sequence[np.ndarray],
    results: dict[int, ModelResult],
    X_holdout_pre: np.ndarray,
    Y_holdout: np.ndarray,
    stages: StageRecorder,
) -> None:
    """The fleet-wide retrain (``per_model = False``), in the parent, then each model's holdout score."""
    data = TrainingData(fleet.X_history_pre, fleet.Y_history, X_new, [b.y for b in raw])
    estimators = strategy.retrain_fleet(fleet, data, stages)
    for model, est in zip(fleet.models, estimators, strict=True):
        res = results.get(model.index)
        if res is None or res.failure is not None:
            continue
        res.estimator, res.retrained = est, True
        res.after = score(est, X_holdout_pre, Y_holdout[:, model.index], stages)
