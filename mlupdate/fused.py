"""The ``fused`` executor: many linear models as one matrix, where that is exact.

For linear models over one shared preprocessed ``X`` (``coef_``/``intercept_``:
Ridge, LinearRegression, Lasso, SGDRegressor, ...), the update's per-model work
has an exact fleet-wide form:

- m predictions on a batch are one product ``X @ W + b``;
- their metrics are scikit-learn's, once per batch with ``multioutput="raw_values"``;
- m ``full`` refits of one estimator class and one set of parameters on the same
  rows are one multi-target fit (for Ridge, one factorisation and m right-hand
  sides), for the estimators in :data:`FUSED_FITS`, whose multi-target fit is
  per target independent.

Everything else runs per model in the same run, as the serial executor would
(trees, ``incremental``, estimators without an exact multi-target fit); the
report names what fell back and why. Counts stay per model and batch, so the
plan still equals the run; ``UpdateReport.fusion`` says how many fused calls
were made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from .executors import Executor, register_executor
from .loop import ModelWork, SharedData, run_model
from .metrics import evaluate_columns
from .multifit import FUSED_FITS, fit_blocks, fit_columns, fit_key
from .report import ModelResult, StageRecorder
from .strategies import FullRetrain, RetrainStrategy, TrainingData, TriggeredRetrain

__all__ = ["FUSED_FITS", "FusedExecutor", "fit_columns", "linear_reason"]


def linear_reason(estimator: BaseEstimator) -> str | None:
    """``None`` when a fitted estimator predicts as ``X @ coef_ + intercept_``; else why not."""
    coef = getattr(estimator, "coef_", None)
    if coef is None or not hasattr(estimator, "intercept_"):
        return f"{type(estimator).__name__} is not linear (no coef_/intercept_)"
    if np.ndim(coef) != 1 or np.ndim(estimator.intercept_) > 1 or np.size(estimator.intercept_) != 1:
        return f"{type(estimator).__name__} has a multi-output coef_ of shape {np.shape(coef)}"
    return None


def _columns(idx: list[int]) -> list[int] | slice:
    """Consecutive target columns as a slice, so that indexing a batch's targets is a view, not a copy."""
    if idx and idx == list(range(idx[0], idx[-1] + 1)):
        return slice(idx[0], idx[-1] + 1)
    return idx


def _matrix(estimators: Sequence[BaseEstimator]) -> tuple[np.ndarray, np.ndarray]:
    W = np.column_stack([np.ravel(e.coef_) for e in estimators])
    b = np.array([float(np.ravel(e.intercept_)[0]) for e in estimators])
    return W, b


class _Group:
    """The linear models of one update, predicted, evaluated and retrained together."""

    def __init__(self, works: Sequence[ModelWork], shared: SharedData) -> None:
        self.works, self.shared = sorted(works, key=lambda w: w.model.index), shared
        self.idx = [w.model.index for w in self.works]
        self.cols = _columns(self.idx)
        self.strategy = self.works[0].strategy
        self.stages = StageRecorder()
        self.calls = 0
        self.notes: dict[int, str] = {}

    def _call(self, stage: str, fn, *args: Any) -> Any:
        self.calls += 1
        return self.stages.call(stage, fn, *args, n=len(self.idx))

    def evaluate_batches(self) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        """Mean metrics per model over the batches, and the preprocessed batches (for a retrain)."""
        W, b = _matrix([w.model.estimator for w in self.works])
        shared, g = self.shared, len(self.idx)
        sums: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(g))
        kept = []
        for j, batch in enumerate(shared.batches):
            if shared.batches_pre is None:
                X = self._call("preprocess", shared.preprocessor.transform, batch.X)
            else:
                X = shared.batches_pre[j]
            Y_hat = self._call("predict", lambda X=X: X @ W + b)
            self.stages.counts["rows_predicted"] += X.shape[0] * g
            for name, values in self._call("evaluate", evaluate_columns, batch.y[:, self.cols], Y_hat).items():
                sums[name] += values
            if self.strategy.needs_new_data:
                kept.append(X)
        n = len(shared.batches)
        return {k: v / n for k, v in sums.items()}, kept

    def retrain(self, before: dict[str, np.ndarray], kept: list[np.ndarray]) -> list[BaseEstimator | None]:
        """Per model the updated estimator (``None``: keep the deployed one)."""
        strategy, shared = self.strategy, self.shared
        if not strategy.per_model:
            return [None] * len(self.works)  # fleet-wide: the parent retrains
        if type(strategy).retrain_model is RetrainStrategy.retrain_model:
            return [None] * len(self.works)  # e.g. ``none``: nothing to retrain
        if not isinstance(strategy, FullRetrain | TriggeredRetrain):
            return self._retrain_each(before, kept)
        out: list[BaseEstimator | None] = [None] * len(self.works)
        chosen = [i for i, w in enumerate(self.works) if self._wants_refit(w, float(before["r2"][i]))]
        if not chosen:
            return out
        for members in self._fit_groups(chosen):
            cols = _columns([self.idx[i] for i in members])
            blocks = [(shared.X_history, shared.Y_history[:, cols])]
            blocks += [(X, b.y[:, cols]) for X, b in zip(kept, shared.batches, strict=True)]
            for i, est in zip(members, self._fit(self.works[members[0]].model.estimator, blocks), strict=True):
                out[i] = est
        return out

    def _fit_groups(self, chosen: list[int]) -> list[list[int]]:
        """Models refitted together: one estimator class and one set of parameters, of :data:`FUSED_FITS`."""
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i in chosen:
            est = self.works[i].model.estimator
            key = fit_key(est)
            if key is None:
                self.notes[self.idx[i]] = f"retrained alone: {type(est).__name__} has no exact multi-target fit"
                key = ("alone", i)
            groups[key].append(i)
        return list(groups.values())

    def _retrain_each(self, before: dict[str, np.ndarray], kept: list[np.ndarray]) -> list[BaseEstimator | None]:
        """The strategy's own per-model retrain (e.g. ``incremental``'s partial_fit), model by model."""
        out: list[BaseEstimator | None] = []
        for i, w in enumerate(self.works):
            col = self.idx[i]
            data = TrainingData(
                self.shared.X_history, self.shared.Y_history[:, col], kept, [b.y[:, col] for b in self.shared.batches]
            )
            with self.stages.within("retrain"):
                out.append(self.strategy.retrain_model(w.model, data, float(before["r2"][i]), self.stages))
            self.notes[col] = f"retrained alone: strategy {self.strategy.name!r} updates each model on its own"
        return out

    def _wants_refit(self, work: ModelWork, new_r2: float) -> bool:
        if isinstance(self.strategy, TriggeredRetrain):
            return work.model.deploy_r2 - new_r2 > self.strategy.threshold
        return isinstance(self.strategy, FullRetrain)

    def _fit(self, template: BaseEstimator, blocks: list[tuple[np.ndarray, np.ndarray]]) -> list[BaseEstimator]:
        """One fit for the group, on history + new batches (never stacked per model)."""
        self.calls += 1
        g, rows = blocks[0][1].shape[1], sum(X.shape[0] for X, _ in blocks)
        with self.stages.within("retrain"):
            fitted = self.stages.call("fit", fit_blocks, template, blocks, n=g)
        self.stages.counts["rows_trained"] += rows * g
        return fitted

    def results(self) -> list[ModelResult]:
        before, kept = self.evaluate_batches()
        updated = self.retrain(before, kept)
        finals = [u if u is not None else w.model.estimator for u, w in zip(updated, self.works, strict=True)]
        after = self._score(finals) if self.strategy.per_model else None
        out = []
        for i in range(len(self.works)):
            res = ModelResult(index=self.idx[i], estimator=finals[i], fused=True, fallback=self.notes.get(self.idx[i]))
            res.before = {k: float(v[i]) for k, v in before.items()}
            res.retrained = updated[i] is not None
            if after is not None:
                res.after = {k: float(v[i]) for k, v in after.items()}
            out.append(res)
        out[0].stages, out[0].fused_calls = self.stages, self.calls  # the group's counts, once
        return out

    def _score(self, estimators: list[BaseEstimator]) -> dict[str, np.ndarray]:
        shared = self.shared
        if any(linear_reason(e) for e in estimators):  # e.g. a strategy returned a non-linear estimator
            cols = [self.stages.call("score", e.predict, shared.X_holdout_pre) for e in estimators]
            return evaluate_columns(shared.Y_holdout[:, self.cols], np.column_stack(cols))
        W, b = _matrix(estimators)
        Y_hat = self._call("score", lambda: shared.X_holdout_pre @ W + b)
        return evaluate_columns(shared.Y_holdout[:, self.cols], Y_hat)


@register_executor
class FusedExecutor(Executor):
    """``fused``: linear models as one matrix per batch, the rest per model, in this process.

    Parameters
    ----------
    blas_threads : int or None
        BLAS threads for the matrix products and solves (default: all cores).
    """

    name = "fused"

    @property
    def n_workers(self) -> int:
        return 1

    def map(self, fn, items, shared=None) -> Iterator[Any]:
        with threadpool_limits(limits=self.blas_threads):
            if fn is not run_model or not isinstance(shared, SharedData):
                yield from (fn(item, shared) for item in items)
                return
            fused, alone = [], []
            for work in items:
                reason = linear_reason(work.model.estimator)
                (alone if reason else fused).append((work, reason))
            if fused:
                yield from self._fused([w for w, _ in fused], shared, fn)
            for work, reason in alone:
                res = fn(work, shared)
                res.fallback = reason
                yield res

    @staticmethod
    def _fused(works: list[ModelWork], shared: SharedData, fn) -> Iterator[ModelResult]:
        try:
            results = _Group(works, shared).results()
        except Exception as exc:  # noqa: BLE001 - a failure of the fused path: each model on its own instead
            reason = f"the fused path failed ({type(exc).__name__}: {exc}); ran alone"
            for work in works:
                res = fn(work, shared)
                res.fallback = reason
                yield res
            return
        yield from results
