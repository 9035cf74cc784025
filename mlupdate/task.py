"""One model's task: what the loop hands to an executor, and the function a worker runs.

:class:`ModelWork` (the model and its strategy) and :class:`SharedData` (what
every task reads, sent to each worker once) go in; :func:`run_model` turns them
into a :class:`~mlupdate.report.ModelResult`. The loop builds them, the
executors run them; both import them from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .batches import Batch
from .fleet import DeployedModel
from .metrics import evaluate
from .report import Failure, ModelResult, StageRecorder
from .strategies import RetrainStrategy, TrainingData

__all__ = ["ModelWork", "SharedData", "run_model", "score"]


@dataclass
class SharedData:
    """What every model's task reads: sent to each worker once, not per task
    (memory-mapped by loky, scattered by the dask backend)."""

    preprocessor: Any
    batches: Sequence[Batch]
    batches_pre: Sequence[np.ndarray] | None
    X_history: np.ndarray
    Y_history: np.ndarray
    X_holdout_pre: np.ndarray
    Y_holdout: np.ndarray


@dataclass
class ModelWork:
    """One model's task: the deployed model and the retrain strategy.

    ``column``: where the model's targets are in the shared data, when that holds
    only some models' columns (default: the model's index).
    """

    model: DeployedModel
    strategy: RetrainStrategy
    column: int | None = None


def run_model(work: ModelWork, shared: SharedData) -> ModelResult:
    """One model's task: preprocess (unless shared), predict and evaluate each
    batch, then retrain per a per-model strategy and score on holdout data.

    Exceptions raised by the model are caught and returned as a
    :class:`~mlupdate.report.Failure` in the stage they came from, so that the
    other models complete.
    """
    model, strategy = work.model, work.strategy
    i = model.index if work.column is None else work.column
    result = ModelResult(index=model.index)
    stages = result.stages
    try:
        kept: list[np.ndarray] = []
        scores: list[dict[str, float]] = []
        for j, batch in enumerate(shared.batches):
            if shared.batches_pre is None:
                X = stages.call("preprocess", shared.preprocessor.transform, batch.X)
            else:
                X = shared.batches_pre[j]
            y_hat = stages.call("predict", model.estimator.predict, X)
            stages.counts["rows_predicted"] += X.shape[0]
            scores.append(stages.call("evaluate", evaluate, batch.y[:, i], y_hat))
            if strategy.needs_new_data:
                kept.append(X)
        result.before = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
        estimator: BaseEstimator = model.estimator
        if strategy.per_model:
            with stages.within("retrain"):
                data = TrainingData(shared.X_history, shared.Y_history[:, i], kept, [b.y[:, i] for b in shared.batches])
                updated = strategy.retrain_model(model, data, result.before["r2"], stages)
            if updated is not None:
                estimator, result.retrained = updated, True
            # a fleet-wide retrain scores in the parent instead
            result.after = score(estimator, shared.X_holdout_pre, shared.Y_holdout[:, i], stages)
        result.estimator = estimator
    except Exception as exc:  # noqa: BLE001 - isolate this model's failure
        result.failure = Failure(
            model.index, model.name, stages.current or "preprocess", f"{type(exc).__name__}: {exc}"
        )
    return result


def score(estimator: BaseEstimator, X_pre: np.ndarray, y: np.ndarray, stages: StageRecorder) -> dict[str, float]:
    """Metrics of ``estimator`` on the preprocessed holdout, counted as ``score``."""
    return evaluate(y, stages.call("score", estimator.predict, X_pre))
