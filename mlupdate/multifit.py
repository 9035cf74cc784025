"""One multi-target fit for many models: exact where the estimator fits each target alone.

m models of one estimator class and one set of parameters, trained on the same
rows, are one fit on the m target columns for the estimators of
:data:`FUSED_FITS` (for Ridge, one factorisation and m right-hand sides). The
fused executor's retrain and :meth:`mlupdate.Fleet.deploy` both use it.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

__all__ = ["FUSED_FITS", "Accumulator", "Blocks", "Moments", "accumulator", "fit_blocks", "fit_columns", "fit_key"]

#: Estimators whose fit on a 2-D y is the per-column fits, exactly (one solve, many right-hand sides).
FUSED_FITS: tuple[type, ...] = (Ridge, LinearRegression, Lasso, ElasticNet)


#: Transformers a Pipeline may have before its final estimator and still be refitted with others:
#: fitted on X alone (no y), so every model of the group fits them the same.
SHARED_STEPS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler")


def fit_key(estimator: BaseEstimator) -> tuple | None:
    """Estimators with equal keys are refitted together; ``None``: refit alone. A Pipeline of
    :data:`SHARED_STEPS` ending in one of :data:`FUSED_FITS` is refitted with its equals:
    its scalers once on the shared X, its final estimators in one multi-target fit."""
    steps = getattr(estimator, "steps", None)
    if steps:
        if any(type(step).__name__ not in SHARED_STEPS for _, step in steps[:-1]):
            return None
        final = fit_key(steps[-1][1])
        return None if final is None else ("pipeline", repr(estimator.get_params(deep=True)))
    if type(estimator) not in FUSED_FITS:
        return None
    return type(estimator), repr(sorted(estimator.get_params(deep=False).items()))


def fit_columns(template: BaseEstimator, X: np.ndarray, Y: np.ndarray) -> list[BaseEstimator]:
    """One multi-target fit of ``template`` on ``X, Y``; one fitted estimator per column of ``Y``.

    Each equals ``clone(template).fit(X, Y[:, j])`` (the estimators of
    :data:`FUSED_FITS` fit each target independently).
    """
    return fit_blocks(template, [(X, Y)])


def fit_blocks(template: BaseEstimator, blocks: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[BaseEstimator]:
    """:func:`fit_columns` on the rows of every ``(X, Y)`` block, stacked."""
    acc = accumulator(template)
    for X, Y in blocks:
        acc.add(X, Y)
    return acc.fit(template)


class Accumulator(ABC):
    """Training rows gathered block by block, for one multi-target fit of many models.

    ``add(X, Y)`` takes a block (``X``: rows x features, ``Y``: rows x models);
    ``fit(template, columns)`` returns one fitted estimator per target column
    (all of them, or ``columns``); ``rows`` counts the rows added.
    """

    def __init__(self) -> None:
        self.rows = 0

    @abstractmethod
    def add(self, X: np.ndarray, Y: np.ndarray) -> None: ...

    @abstractmethod
    def fit(self, template: BaseEstimator, columns: Sequence[int] | None = None) -> list[BaseEstimator]: ...


class Blocks(Accumulator):
    """The blocks themselves, stacked at the fit: any estimator of :data:`FUSED_FITS`."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.blocks.append((X, Y))
        self.rows += X.shape[0]

    def fit(self, template: BaseEstimator, columns: Sequence[int] | None = None) -> list[BaseEstimator]:
        """One fit of ``template`` per target column (all, or ``columns`` of them), on every block's rows."""
        X = np.vstack([b[0] for b in self.blocks]) if len(self.blocks) > 1 else self.blocks[0][0]
        Y = np.vstack([b[1] for b in self.blocks]) if len(self.blocks) > 1 else self.blocks[0][1]
        Y = Y if columns is None else Y[:, list(columns)]
        if getattr(template, "steps", None):
            return _pipeline_columns(template, X, Y)
        fitted = clone(template).fit(X, Y if Y.shape[1] > 1 else Y[:, 0])
        if Y.shape[1] == 1:
            return [fitted]
        return [_column(fitted, fitted.coef_[j], np.ravel(fitted.intercept_)[j], j) for j in range(Y.shape[1])]


class Moments(Accumulator):
    """A Ridge's sufficient statistics (sums, ``X'X``, ``X'Y``), added block by block.

    Memory is features x models whatever the number of rows: no block is kept,
    and the fit is one factorisation with a right-hand side per model.
    """

    def add(self, X: np.ndarray, Y: np.ndarray) -> None:
        if not self.rows:
            d, g = X.shape[1], Y.shape[1]
            self.sx, self.sy, self.XtX, self.XtY = np.zeros(d), np.zeros(g), np.zeros((d, d)), np.zeros((d, g))
        self.rows += X.shape[0]
        self.sx += X.sum(0)
        self.sy += Y.sum(0)
        self.XtX += X.T @ X
        self.XtY += X.T @ Y

    def fit(self, template: BaseEstimator, columns: Sequence[int] | None = None) -> list[BaseEstimator]:
        cols = slice(None) if columns is None else list(columns)
        n, d = self.rows, self.XtX.shape[0]
        mx, my = self.sx / n, self.sy[cols] / n
        A = self.XtX - n * np.outer(mx, mx) + template.alpha * np.eye(d)
        B = self.XtY[:, cols] - n * np.outer(mx, my)
        W = linalg.solve(A, B, assume_a="pos")  # d x g: every model's coefficients, one factorisation
        b = my - mx @ W
        fitted = clone(template)
        fitted.n_features_in_, fitted.n_iter_, fitted.solver_ = d, None, "cholesky"
        return [_column(fitted, W[:, j], b[j], j) for j in range(W.shape[1])]


def accumulator(template: BaseEstimator) -> Accumulator:
    """Where to gather the training rows of a multi-target fit of ``template``: its moments
    when the fit needs no more (a Ridge with an intercept), else the blocks themselves."""
    return Moments() if _from_moments(template) else Blocks()


def _pipeline_columns(template, X: np.ndarray, Y: np.ndarray) -> list[BaseEstimator]:
    """A pipeline per column of ``Y``: the scalers fitted once on ``X`` (they do not read y), the
    final estimator in one multi-target fit on the scaled rows; each equals its own pipeline's fit."""
    from sklearn.pipeline import Pipeline

    scalers = [(name, clone(step)) for name, step in template.steps[:-1]]
    Xt = X
    for _, step in scalers:
        Xt = step.fit_transform(Xt)
    name, final = template.steps[-1]
    finals = fit_columns(final, np.asarray(Xt), Y)
    return [Pipeline([*[(n, copy.deepcopy(s)) for n, s in scalers], (name, f)]) for f in finals]


def _column(fitted: BaseEstimator, coef: np.ndarray, intercept: float, j: int) -> BaseEstimator:
    one = copy.copy(fitted)
    one.coef_ = np.array(coef, float)
    one.intercept_ = float(intercept)
    if hasattr(fitted, "n_iter_") and np.ndim(fitted.n_iter_):
        one.n_iter_ = np.ravel(fitted.n_iter_)[j]
    return one


def _from_moments(template: BaseEstimator) -> bool:
    """A Ridge whose fit is the centred normal equations (what scikit-learn's cholesky solver does)."""
    if type(template) is not Ridge:
        return False
    p = template.get_params()
    return p["fit_intercept"] and not p["positive"] and p["solver"] in ("auto", "cholesky") and np.ndim(p["alpha"]) == 0
