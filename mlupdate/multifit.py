"""One multi-target fit for many models: exact where the estimator fits each target alone.

m models of one estimator class and one set of parameters, trained on the same
rows, are one fit on the m target columns for the estimators of
:data:`FUSED_FITS` (for Ridge, one factorisation and m right-hand sides). The
fused executor's retrain and :meth:`mlupdate.Fleet.deploy` both use it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

__all__ = ["FUSED_FITS", "fit_blocks", "fit_columns", "fit_key"]

#: Estimators whose fit on a 2-D y is the per-column fits, exactly (one solve, many right-hand sides).
FUSED_FITS: tuple[type, ...] = (Ridge, LinearRegression, Lasso, ElasticNet)


def fit_key(estimator: BaseEstimator) -> tuple | None:
    """Estimators with equal keys are refitted together; ``None``: refit alone."""
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
    """:func:`fit_columns` on the rows of every ``(X, Y)`` block, stacked.

    A Ridge with an intercept is solved from the blocks' moments (sums, ``X'X``,
    ``X'Y``): no stacked copy of the targets, whose size is rows x models.
    """
    if _from_moments(template):
        return _ridge_from_moments(template, blocks)
    X = np.vstack([b[0] for b in blocks]) if len(blocks) > 1 else blocks[0][0]
    Y = np.vstack([b[1] for b in blocks]) if len(blocks) > 1 else blocks[0][1]
    fitted = clone(template).fit(X, Y if Y.shape[1] > 1 else Y[:, 0])
    if Y.shape[1] == 1:
        return [fitted]
    return [_column(fitted, fitted.coef_[j], np.ravel(fitted.intercept_)[j], j) for j in range(Y.shape[1])]


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


def _ridge_from_moments(template: Ridge, blocks: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[BaseEstimator]:
    d, g = blocks[0][0].shape[1], blocks[0][1].shape[1]
    n, sx, sy = 0, np.zeros(d), np.zeros(g)
    XtX, XtY = np.zeros((d, d)), np.zeros((d, g))
    for X, Y in blocks:
        n += X.shape[0]
        sx += X.sum(0)
        sy += Y.sum(0)
        XtX += X.T @ X
        XtY += X.T @ Y
    mx, my = sx / n, sy / n
    A = XtX - n * np.outer(mx, mx) + template.alpha * np.eye(d)
    B = XtY - n * np.outer(mx, my)
    W = linalg.solve(A, B, assume_a="pos")  # d x g: every model's coefficients, one factorisation
    b = my - mx @ W
    fitted = clone(template)
    fitted.n_features_in_, fitted.n_iter_, fitted.solver_ = d, None, "cholesky"
    return [_column(fitted, W[:, j], b[j], j) for j in range(g)]
