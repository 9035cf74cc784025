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

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from ..batches import Batch
from ..metrics import evaluate_columns
from ..multifit import FUSED_FITS, Accumulator, accumulator, fit_columns, fit_key
from ..report import Failure, ModelResult, StageRecorder
from ..strategies import RetrainStrategy, TrainingData
from ..task import ModelWork, SharedData, run_model
from .base import Executor

__all__ = ["AFFINE_STEPS", "FUSED_FITS", "FusedExecutor", "fit_columns", "linear_form", "why_not_linear"]


def _affine(step: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scale, shift)`` of a fitted transformer that is one affine map per column,
    ``x * scale + shift`` (:data:`AFFINE_STEPS`), else None."""
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

    if isinstance(step, StandardScaler | RobustScaler):
        centre = getattr(step, "mean_" if isinstance(step, StandardScaler) else "center_", None)
        scale = getattr(step, "scale_", None)
        n = step.n_features_in_
        inv = 1.0 / (np.ones(n) if scale is None else np.asarray(scale, float))
        shift = np.zeros(n) if centre is None or not getattr(step, "with_mean", getattr(step, "with_centering", True)) \
            else -np.asarray(centre, float) * inv  # fmt: skip
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


def _columns(idx: list[int]) -> list[int] | slice:
    """Consecutive target columns as a slice, so that indexing a batch's targets is a view, not a copy."""
    if idx and idx == list(range(idx[0], idx[-1] + 1)):
        return slice(idx[0], idx[-1] + 1)
    return idx


def _matrix(estimators: Sequence[BaseEstimator]) -> tuple[np.ndarray, np.ndarray]:
    forms = [linear_form(e) for e in estimators]
    return np.column_stack([f[0] for f in forms]), np.array([f[1] for f in forms])


class _Group:
    """The linear models of one update, predicted, evaluated and retrained together.

    Batches are added one at a time (:meth:`add_batch`), so a stream of them is
    never held: a refit group keeps its training rows' moments (Ridge) or the
    blocks it will stack, and nothing else of a batch outlives the call.
    """

    def __init__(self, works: Sequence[ModelWork], shared: SharedData) -> None:
        self.works, self.shared = sorted(works, key=lambda w: w.model.index), shared
        self.idx = [w.model.index for w in self.works]
        self.cols = _columns(self.idx)
        self.strategy = self.works[0].strategy
        self.stages = StageRecorder()
        self.calls = 0
        self.notes: dict[int, str] = {}
        self.W, self.b = _matrix([w.model.estimator for w in self.works])
        self.sums: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(self.idx)))
        self.n_batches = 0
        self.kept: list[np.ndarray] = []  # the preprocessed batches, for a strategy's own per-model retrain
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
            acc, cols = accumulator(self.works[group[0]].model.estimator), _columns([self.idx[i] for i in group])
            acc.add(self.shared.X_history, self.shared.Y_history[:, cols])
            groups[key] = (group, cols, acc)
        return groups

    def add_batch(self, batch: Batch, X: np.ndarray | None = None) -> np.ndarray:
        """Predict, evaluate and gather one batch (``X``: already preprocessed); return its preprocessed rows."""
        if X is None:
            X = self._call("preprocess", self.shared.preprocessor.transform, batch.X)
        Y_hat = self._call("predict", lambda: X @ self.W + self.b)
        self.stages.counts["rows_predicted"] += X.shape[0] * len(self.idx)
        for name, values in self._call("evaluate", evaluate_columns, batch.y[:, self.cols], Y_hat).items():
            self.sums[name] += values
        for _, cols, acc in self.refits.values():
            acc.add(X, batch.y[:, cols])
        if self.strategy.needs_new_data and not self.refits:
            self.kept.append(X)
        self.n_batches += 1
        return X

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
                self.notes[self.idx[group[0]]] = (
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
                self.shared.X_history,
                self.shared.Y_history[:, col],
                self.kept,
                [b.y[:, col] for b in self.shared.batches],
            )
            with self.stages.within("retrain"):
                out.append(self.strategy.retrain_model(w.model, data, float(before["r2"][i]), self.stages))
            self.notes[col] = f"retrained alone: strategy {self.strategy.name!r} updates each model on its own"
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
        if any(why_not_linear(e) for e in estimators):  # e.g. a strategy returned a non-linear estimator
            cols = [self.stages.call("score", e.predict, shared.X_holdout_pre) for e in estimators]
            return evaluate_columns(shared.Y_holdout[:, self.cols], np.column_stack(cols))
        W, b = _matrix(estimators)
        Y_hat = self._call("score", lambda: shared.X_holdout_pre @ W + b)
        return evaluate_columns(shared.Y_holdout[:, self.cols], Y_hat)


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
            fused, alone = _split(items)
            if fused:
                yield from self._fused(fused, shared, fn)
            for work, reason in alone:
                res = fn(work, shared)
                res.fallback = reason
                yield res

    @staticmethod
    def _fused(works: list[ModelWork], shared: SharedData, fn) -> Iterator[ModelResult]:
        try:
            group = _Group(works, shared)
            for j, batch in enumerate(shared.batches):
                group.add_batch(batch, None if shared.batches_pre is None else shared.batches_pre[j])
            results = group.results()
        except Exception as exc:  # noqa: BLE001 - a failure of the fused path: each model on its own instead
            reason = f"the fused path failed ({type(exc).__name__}: {exc}); ran alone"
            for work in works:
                res = fn(work, shared)
                res.fallback = reason
                yield res
            return
        yield from results

    def streams(self, strategy: RetrainStrategy) -> bool:
        """A per-model strategy that refits (``full``, ``triggered``) or retrains nothing (``none``)
        streams: its retrain needs only what :class:`_Group` gathers."""
        return strategy.per_model and (strategy.refit or not strategy.retrains)

    def map_stream(self, fn, items, shared, batches, order) -> Iterator[ModelResult]:
        """:meth:`map` over batches taken one at a time from an iterator and not kept.

        The linear models keep their training rows' moments; a model that runs
        alone keeps the raw batches' features and its own targets, which is what
        its retrain needs. A failure of the fused path fails its models (the
        stream cannot be read again to run them alone).
        """
        with threadpool_limits(limits=self.blas_threads):
            fused, alone = _split(items)
            stream = _Stream(fused, alone, shared, order)
            for batch in batches:
                stream.add(batch)
            results = stream.group_results()
            sub = stream.alone_data()
            for k, (work, reason) in enumerate(alone):
                results.append(fn(dataclasses.replace(work, column=k), sub))
                results[-1].fallback = reason
            results[0].stages.merge(stream.stages)  # the batch-major preprocessing, counted once
            yield from results


def _split(works: Iterable[ModelWork]) -> tuple[list[ModelWork], list[tuple[ModelWork, str]]]:
    """The linear models, and the others with the reason each runs alone."""
    fused, alone = [], []
    for work in works:
        reason = why_not_linear(work.model.estimator)
        if reason:
            alone.append((work, reason))
        else:
            fused.append(work)
    return fused, alone


class _Stream:
    """One pass over a stream of batches: the linear models' group takes each batch, and the
    models that run alone keep what they will need (raw features and their own targets)."""

    def __init__(self, fused: list[ModelWork], alone: list[tuple[ModelWork, str]], shared: SharedData, order: str):
        self.shared, self.order = shared, order
        self.group = _Group(fused, shared) if fused else None
        self.error: tuple[str, str] | None = None
        self.alone_cols = [w.model.index for w, _ in alone]
        self.kept: list[Batch] = []
        self.kept_pre: list[np.ndarray] = []
        self.stages = StageRecorder()  # the batch-major preprocessing, once per batch

    def add(self, batch: Batch) -> None:
        X = None
        if self.order == "batch-major":
            X = self.stages.call("preprocess", self.shared.preprocessor.transform, batch.X)
        if self.group is not None and self.error is None:
            try:
                X = self.group.add_batch(batch, X)
            except Exception as exc:  # noqa: BLE001 - the group's models fail; the others go on
                self.error = (self.group.stages.current, f"{type(exc).__name__}: {exc}")
        if self.alone_cols:
            self.kept.append(Batch(batch.index, batch.X, batch.y[:, self.alone_cols]))
            if self.order == "batch-major":
                self.kept_pre.append(X)

    def group_results(self) -> list[ModelResult]:
        if self.group is None:
            return []
        if self.error is None:
            try:
                return self.group.results()
            except Exception as exc:  # noqa: BLE001
                self.error = (self.group.stages.current or "retrain", f"{type(exc).__name__}: {exc}")
        stage, message = self.error
        out = [ModelResult(index=w.model.index, failure=Failure(w.model.index, w.model.name, stage, message))
               for w in self.group.works]  # fmt: skip
        out[0].stages = self.group.stages
        return out

    def alone_data(self) -> SharedData:
        """What the models that run alone read: their own target columns, in their order."""
        cols = self.alone_cols
        return dataclasses.replace(
            self.shared,
            batches=self.kept,
            batches_pre=self.kept_pre if self.order == "batch-major" else None,
            Y_history=self.shared.Y_history[:, cols],
            Y_holdout=self.shared.Y_holdout[:, cols],
        )
