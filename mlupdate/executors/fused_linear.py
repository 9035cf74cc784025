"""The fused executor's linear models: one matrix for every model, where that is exact.

For linear models over one shared preprocessed ``X`` (``coef_``/``intercept_``:
Ridge, LinearRegression, Lasso, SGDRegressor, ...), the update's per-model work
has an exact fleet-wide form:

- m predictions on a batch are one product ``X @ W + b``;
- their metrics come from one residual array (:func:`mlupdate.metrics.evaluate_columns`);
- m ``full`` refits of one estimator class and one set of parameters on the same
  rows are one multi-target fit (for Ridge, one factorisation and m right-hand
  sides), for the estimators in :data:`~mlupdate.multifit.FUSED_FITS`, whose
  multi-target fit is per target independent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from ..metrics import evaluate_columns
from ..multifit import Accumulator, accumulator, fit_key
from ..report import ModelResult, StageRecorder
from ..strategies import TrainingData
from ..task import ModelWork, SharedData

__all__ = ["AFFINE_STEPS", "LinearGroup", "column_of", "columns", "linear_form", "own_columns", "why_not_linear"]


def column_of(work: ModelWork) -> int:
    """Where a work item's targets are in the shared data."""
    return work.model.index if work.column is None else work.column


def _affine(step: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scale, shift)`` of a fitted transformer that is one affine map per column,
    ``x * scale + shift`` (:data:`AFFINE_STEPS`), else None."""
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

    if isinstance(step, StandardScaler | RobustScaler):
        centre = getattr(step, "mean_" if isinstance(step, StandardScaler) else "center_", None)
        scale = getattr(step, "scale_", None)
        n = step.n_features_in_
        inv = 1.0 / (np.ones(n) if scale is None else np.asarray(scale, float))
        shift = (
            np.zeros(n)
            if centre is None or not getattr(step, "with_mean", getattr(step, "with_centering", True))
            else -np.asarray(centre, float) * inv
        )
        return inv, shift
    if isinstance(step, MinMaxScaler) and not step.clip:
        return np.asarray(step.scale_, float), np.asarray(step.min_, float)
    if isinstance(step, MaxAbsScaler):
        return 1.0 / np.asarray(step.scale_, float), np.zeros(step.n_features_in_)
    return None


#: Transformers a Pipeline may have before its linear model and still be fused.
AFFINE_STEPS = ("StandardScaler", "MinMaxScaler (clip=False)", "MaxAbsScaler", "RobustScaler")


def linear_form(estimator: BaseEstimator) -> tuple[np.ndarray, float] | str:
    """``(coef, intercept)`` with which a fitted estimator predicts ``X @ coef + intercept``, or
    why it does not: a linear model, or a Pipeline of affine scalers (:data:`AFFINE_STEPS`)
    ending in one, folded exactly into one coefficient vector."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    coef = getattr(final, "coef_", None)
    if coef is None or not hasattr(final, "intercept_"):
        return f"{type(final).__name__} is not linear (no coef_/intercept_)"
    if np.ndim(coef) != 1 or np.ndim(final.intercept_) > 1 or np.size(final.intercept_) != 1:
        return f"{type(final).__name__} has a multi-output coef_ of shape {np.shape(coef)}"
    w, b = np.asarray(coef, float), float(np.ravel(final.intercept_)[0])
    for name, step in reversed(steps[:-1] if steps else []):
        form = _affine(step) if step not in (None, "passthrough") else (np.ones(len(w)), np.zeros(len(w)))
        if form is None:
            return f"Pipeline step {name!r} ({type(step).__name__}) is not one of {', '.join(AFFINE_STEPS)}"
        scale, shift = form
        w, b = w * scale, b + float(w @ shift)
    return w, b


def why_not_linear(estimator: BaseEstimator) -> str | None:
    """Why a fitted estimator does not predict as ``X @ coef + intercept`` (``None``: it does)."""
    form = linear_form(estimator)
    return form if isinstance(form, str) else None


def own_columns(Y: np.ndarray, cols: list[int] | slice) -> np.ndarray:
    """Columns ``cols`` of a batch's targets as an array of their own (a view would keep every
    model's targets of the batch alive); all the columns, in order, are ``Y`` itself."""
    if isinstance(cols, slice) and cols.start == 0 and cols.stop == Y.shape[1]:
        return Y
    return np.array(Y[:, cols])


def columns(idx: list[int]) -> list[int] | slice:
    """Consecutive target columns as a slice, so that indexing a batch's targets is a view, not a copy."""
    if idx and idx == list(range(idx[0], idx[-1] + 1)):
        return slice(idx[0], idx[-1] + 1)
    return idx


def _matrix(estimators: Sequence[BaseEstimator]) -> tuple[np.ndarray, np.ndarray]:
    forms = [linear_form(e) for e in estimators]
    return np.column_stack([f[0] for f in forms]), np.array([f[1] for f in forms])


class LinearGroup:
    """The linear models of one update, predicted, evaluated and retrained together.

    Batches are added a bounded block at a time (:meth:`add_block`), so a stream
    of them is never held: a refit group keeps its training rows' moments (Ridge)
    or the blocks it will stack, and nothing else of a batch outlives the call.
    """

    def __init__(self, works: Sequence[ModelWork], shared: SharedData) -> None:
        self.works, self.shared = sorted(works, key=column_of), shared
        self.index = [w.model.index for w in self.works]  # the models
        self.idx = [column_of(w) for w in self.works]  # their target columns in the shared data
        self.cols = columns(self.idx)
        self.strategy = self.works[0].strategy
        self.stages = StageRecorder()
        self.calls = 0
        self.notes: dict[int, str] = {}
        self.W, self.b = _matrix([w.model.estimator for w in self.works])
        self.sums: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(self.idx)))
        self.n_batches = 0
        # the preprocessed batches and the group's targets, for a strategy's own per-model retrain
        self.kept: list[np.ndarray] = []
        self.kept_y: list[np.ndarray] = []
        self.refits = self._refit_groups() if self.strategy.refit else {}

    def _call(self, stage: str, fn, *args: Any) -> Any:
        self.calls += 1
        return self.stages.call(stage, fn, *args, n=len(self.idx))

    def _refit_groups(self) -> dict[tuple, tuple[list[int], list[int] | slice, Accumulator]]:
        """Models refitted together (one estimator class and one set of parameters, of
        :data:`FUSED_FITS`; the rest one each), with their training rows so far: the history."""
        members: dict[tuple, list[int]] = defaultdict(list)
        for i, w in enumerate(self.works):
            members[fit_key(w.model.estimator) or ("alone", i)].append(i)
        groups = {}
        for key, group in members.items():
            acc = accumulator(self.works[group[0]].model.estimator)
            acc.add(self.shared.X_history, self.shared.Y_history[:, columns([self.idx[i] for i in group])])
            groups[key] = (group, columns(group), acc)  # the group's positions among the group's targets
        return groups

    def add_block(self, ys: Sequence[np.ndarray], Xs: Sequence[np.ndarray]) -> None:
        """Predict, evaluate and gather a block of batches: their preprocessed rows ``Xs`` and the
        group's targets ``ys`` (:func:`own_columns`); one product for the block, metrics per batch."""
        X = np.vstack(Xs) if len(Xs) > 1 else Xs[0]
        self.calls += 1
        Y_hat = self.stages.call("predict", lambda: X @ self.W + self.b, n=len(self.idx) * len(Xs))
        self.stages.counts["rows_predicted"] += X.shape[0] * len(self.idx)
        start = 0
        for y in ys:
            part = Y_hat[start : start + y.shape[0]]
            for name, values in self._call("evaluate", evaluate_columns, y, part).items():
                self.sums[name] += values
            start += y.shape[0]
        if self.refits:
            Y = np.vstack(ys) if len(ys) > 1 else ys[0]
            for _, cols, acc in self.refits.values():
                acc.add(X, Y[:, cols])
        elif self.strategy.needs_new_data:
            self.kept += list(Xs)
            self.kept_y += list(ys)
        self.n_batches += len(ys)

    def retrain(self, before: dict[str, np.ndarray]) -> list[BaseEstimator | None]:
        """Per model the updated estimator (``None``: keep the deployed one)."""
        strategy = self.strategy
        if not strategy.per_model or not strategy.retrains:
            return [None] * len(self.works)  # fleet-wide (the parent retrains), or nothing to retrain (``none``)
        if not strategy.refit:
            return self._retrain_each(before)
        out: list[BaseEstimator | None] = [None] * len(self.works)
        chosen = {i for i, w in enumerate(self.works) if strategy.wants_refit(w.model, float(before["r2"][i]))}
        for key, (group, _, acc) in self.refits.items():
            picked = [k for k, i in enumerate(group) if i in chosen]
            if not picked:
                continue
            template = self.works[group[0]].model.estimator
            if key[0] == "alone":
                self.notes[self.index[group[0]]] = (
                    f"retrained alone: {type(template).__name__} has no exact multi-target fit"
                )
            fitted = self._fit(template, acc, None if len(picked) == len(group) else picked, len(picked))
            for k, est in zip(picked, fitted, strict=True):
                out[group[k]] = est
        return out

    def _retrain_each(self, before: dict[str, np.ndarray]) -> list[BaseEstimator | None]:
        """The strategy's own per-model retrain (e.g. ``incremental``'s partial_fit), model by model."""
        out: list[BaseEstimator | None] = []
        for i, w in enumerate(self.works):
            col = self.idx[i]
            data = TrainingData(
                self.shared.X_history, self.shared.Y_history[:, col], self.kept, [y[:, i] for y in self.kept_y]
            )
            with self.stages.within("retrain"):
                out.append(self.strategy.retrain_model(w.model, data, float(before["r2"][i]), self.stages))
            self.notes[self.index[i]] = (
                f"retrained alone: strategy {self.strategy.name!r} updates each model on its own"
            )
        return out

    def _fit(self, template: BaseEstimator, acc: Accumulator, columns: list[int] | None, g: int) -> list[BaseEstimator]:
        """One fit of ``g`` models (the group's, or ``columns`` of them) on history + new batches."""
        self.calls += 1
        with self.stages.within("retrain"):
            fitted = self.stages.call("fit", acc.fit, template, columns, n=g)
        self.stages.counts["rows_trained"] += acc.rows * g
        return fitted

    def results(self) -> list[ModelResult]:
        """Every model's result, once every batch has been added."""
        before = {k: v / self.n_batches for k, v in self.sums.items()}
        updated = self.retrain(before)
        finals = [u if u is not None else w.model.estimator for u, w in zip(updated, self.works, strict=True)]
        after = self._score(finals) if self.strategy.per_model else None
        out = []
        for i in range(len(self.works)):
            index = self.index[i]
            res = ModelResult(index=index, estimator=finals[i], fused=True, fallback=self.notes.get(index))
            res.before = {k: float(v[i]) for k, v in before.items()}
            res.retrained = updated[i] is not None
            if after is not None:
                res.after = {k: float(v[i]) for k, v in after.items()}
            out.append(res)
        out[0].stages, out[0].fused_calls = self.stages, self.calls  # the group's counts, once
        return out

    def _score(self, estimators: list[BaseEstimator]) -> dict[str, np.ndarray]:
        shared = self.shared
        if any(why_not_linear(e) for e in estimators):  # e.g. a strategy returned a non-linear estimator
            cols = [self.stages.call("score", e.predict, shared.X_holdout_pre) for e in estimators]
            return evaluate_columns(shared.Y_holdout[:, self.cols], np.column_stack(cols))
        W, b = _matrix(estimators)
        Y_hat = self._call("score", lambda: shared.X_holdout_pre @ W + b)
        return evaluate_columns(shared.Y_holdout[:, self.cols], Y_hat)
