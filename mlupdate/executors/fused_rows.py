"""The fused executor's other models: predicted per model, over blocks of batches, evaluated together.

A model that is not linear (a tree, a forest, k-NN, any Pipeline) still runs
in the fused pass, with three savings over one model and one batch at a time:

- a row-wise model (:func:`mlupdate.rowwise.is_rowwise`) predicts a block of
  batches with one call, sliced per batch (one round of input checks per block);
  the others predict one batch per call;
- every model's metrics on a batch come from one residual array
  (:func:`mlupdate.metrics.evaluate_columns`), not three checked calls per model;
- a refit stacks history and new rows once for all the group's models, and the
  fits run on a thread per core (scikit-learn's tree builders release the GIL).

Counts keep their meaning: a block call of ``k`` batches counts ``k`` predictions.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, clone
from threadpoolctl import threadpool_limits

from ..metrics import evaluate_columns
from ..report import Failure, ModelResult, StageRecorder
from ..rowwise import is_rowwise
from ..strategies import TrainingData
from ..task import ModelWork, SharedData
from .fused_linear import column_of, columns

__all__ = ["BLOCK_CELLS", "RowGroup"]

#: Values held at once for a block of batches: rows x models (8 bytes each).
BLOCK_CELLS = 2_000_000


class RowGroup:
    """The models that are not fused as a matrix: predicted per model over blocks of batches,
    evaluated together, refitted on one stack of rows.

    Parameters
    ----------
    works : the models (all with one strategy); ``reasons[i]``: why ``works[i]`` is not linear.
    shared : what every model reads (history, holdout, preprocessor).
    threads : threads for the refits.
    """

    def __init__(self, works: Sequence[ModelWork], reasons: Sequence[str], shared: SharedData, threads: int) -> None:
        order = sorted(range(len(works)), key=lambda k: column_of(works[k]))
        self.works, self.shared, self.threads = [works[k] for k in order], shared, threads
        self.rowwise = [is_rowwise(w.model.estimator) for w in self.works]
        self.notes = [self._note(reasons[k], r) for k, r in zip(order, self.rowwise, strict=True)]
        self.index = [w.model.index for w in self.works]
        self.cols = columns([column_of(w) for w in self.works])
        self.strategy = self.works[0].strategy
        self.stages = StageRecorder()
        self.sums: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(self.works)))
        self.failures: dict[int, Failure] = {}
        self.n_batches = 0
        self.kept_X: list[np.ndarray] = []
        self.kept_y: list[np.ndarray] = []

    @staticmethod
    def _note(reason: str, rowwise: bool) -> str:
        how = "predicted over blocks of batches" if rowwise else "not row-wise (mlupdate.rowwise): one batch per call"
        return f"{reason}; {how}"

    def add_block(self, ys: Sequence[np.ndarray], Xs: Sequence[np.ndarray]) -> None:
        """Predict, evaluate and keep a block of batches: their preprocessed rows ``Xs``, and
        the group's targets ``ys`` (:func:`~.fused_linear.own_columns`)."""
        bounds = np.cumsum([0, *(X.shape[0] for X in Xs)])
        stacked = np.vstack(Xs) if len(Xs) > 1 else Xs[0]
        Y_hat = np.zeros((bounds[-1], len(self.works)))
        for k, work in enumerate(self.works):
            if k in self.failures:
                continue
            try:
                Y_hat[:, k] = self._predict(work.model.estimator, self.rowwise[k], stacked, Xs)
            except Exception as exc:  # noqa: BLE001 - this model fails, the others go on
                self.failures[k] = Failure(work.model.index, work.model.name, "predict", f"{type(exc).__name__}: {exc}")
        self.stages.counts["rows_predicted"] += int(bounds[-1]) * len(self.works)
        for j, y in enumerate(ys):
            part = Y_hat[bounds[j] : bounds[j + 1]]
            for name, values in self.stages.call("evaluate", evaluate_columns, y, part, n=len(self.works)).items():
                self.sums[name] += values
            if self.strategy.needs_new_data or self.strategy.refit:
                self.kept_X.append(Xs[j])
                self.kept_y.append(y)
        self.n_batches += len(ys)

    def _predict(self, estimator: BaseEstimator, rowwise: bool, stacked: np.ndarray, Xs: Sequence[np.ndarray]):
        if rowwise:
            return self.stages.call("predict", estimator.predict, stacked, n=len(Xs))
        return np.concatenate([self.stages.call("predict", estimator.predict, X) for X in Xs])

    def results(self) -> list[ModelResult]:
        """Every model's result, once every batch has been added."""
        before = {k: v / self.n_batches for k, v in self.sums.items()}
        updated = self._retrain(before)
        finals = [u if u is not None else w.model.estimator for u, w in zip(updated, self.works, strict=True)]
        after = self._score(finals) if self.strategy.per_model else None
        out = []
        for k, work in enumerate(self.works):
            res = ModelResult(index=work.model.index, fallback=self.notes[k], failure=self.failures.get(k))
            if res.failure is None:
                res.estimator, res.retrained = finals[k], updated[k] is not None
                res.before = {name: float(v[k]) for name, v in before.items()}
                res.after = {} if after is None else {name: float(v[k]) for name, v in after.items()}
            out.append(res)
        out[0].stages = self.stages
        return out

    def _retrain(self, before: dict[str, np.ndarray]) -> list[BaseEstimator | None]:
        strategy, out = self.strategy, [None] * len(self.works)
        if not strategy.per_model or not strategy.retrains:
            return out
        live = [k for k in range(len(self.works)) if k not in self.failures]
        if not strategy.refit:
            for k in live:
                work = self.works[k]
                with self.stages.within("retrain"):
                    data = TrainingData(
                        self.shared.X_history,
                        self.shared.Y_history[:, column_of(work)],
                        self.kept_X,
                        [y[:, k] for y in self.kept_y],
                    )
                    out[k] = strategy.retrain_model(work.model, data, float(before["r2"][k]), self.stages)
            return out
        chosen = [k for k in live if strategy.wants_refit(self.works[k].model, float(before["r2"][k]))]
        if chosen:
            for k, fitted in zip(chosen, self._refit(chosen), strict=True):
                out[k] = fitted
        return out

    def _refit(self, chosen: list[int]) -> list[BaseEstimator]:
        """``clone(estimator).fit(history + new rows)`` for each chosen model, the rows stacked once,
        the fits on ``threads`` threads (each fit single-threaded, so that they do not compete)."""
        X = np.vstack([self.shared.X_history, *self.kept_X])
        Y_new = np.vstack(self.kept_y) if self.kept_y else np.empty((0, len(self.works)))

        def fit(k: int) -> tuple[BaseEstimator | None, float]:
            y = np.concatenate([self.shared.Y_history[:, column_of(self.works[k])], Y_new[:, k]])
            start = time.perf_counter()
            try:
                return clone(self.works[k].model.estimator).fit(X, y), time.perf_counter() - start
            except Exception as exc:  # noqa: BLE001 - this model fails, the others go on
                model = self.works[k].model
                self.failures[k] = Failure(model.index, model.name, "retrain", f"{type(exc).__name__}: {exc}")
                return None, time.perf_counter() - start

        self.stages.current = "retrain"
        with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=max(1, self.threads)) as pool:
            done = list(pool.map(fit, chosen))
        self.stages.counts["fit"] += len(chosen)
        self.stages.counts["rows_trained"] += X.shape[0] * len(chosen)
        self.stages.seconds["fit"] += sum(s for _, s in done)
        return [f for f, _ in done]

    def _score(self, estimators: list[BaseEstimator]) -> dict[str, np.ndarray]:
        """Every model's metrics on the holdout, from one residual array."""
        X = self.shared.X_holdout_pre
        Y_hat = np.zeros((X.shape[0], len(estimators)))
        for k, est in enumerate(estimators):
            if k not in self.failures:
                Y_hat[:, k] = self.stages.call("score", est.predict, X)
        return evaluate_columns(self.shared.Y_holdout[:, self.cols], Y_hat)
