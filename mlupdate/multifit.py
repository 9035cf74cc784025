"""One multi-target fit for many models: exact where the estimator fits each target alone.

m models of one estimator class and one set of parameters, trained on the same
rows, are one fit on the m target columns for the estimators of
:data:`FUSED_FITS` (for Ridge, one factorisation and m right-hand sides). The
fused executor's retrain and :meth:`mlupdate.Fleet.deploy` both use it.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

__all__ = ["FUSED_FITS", "fit_columns", "fit_key"]

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
    fitted = clone(template).fit(X, Y if Y.shape[1] > 1 else Y[:, 0])
    if Y.shape[1] == 1:
        return [fitted]
    out = []
    for j in range(Y.shape[1]):
        one = copy.copy(fitted)
        one.coef_ = fitted.coef_[j].copy()
        one.intercept_ = float(np.ravel(fitted.intercept_)[j])
        if hasattr(fitted, "n_iter_") and np.ndim(fitted.n_iter_):
            one.n_iter_ = np.ravel(fitted.n_iter_)[j]
        out.append(one)
    return out
