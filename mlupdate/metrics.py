"""Regression metrics used by the evaluate stage (scikit-learn's, named once)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

__all__ = ["METRICS", "evaluate", "evaluate_columns", "r2"]

#: metric name -> function(y_true, y_pred) -> float
METRICS = {"mae": mean_absolute_error, "rmse": root_mean_squared_error, "r2": r2_score}


def evaluate(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Return every metric in :data:`METRICS` for one prediction."""
    return {name: float(fn(y_true, y_pred)) for name, fn in METRICS.items()}


def evaluate_columns(Y_true: np.ndarray, Y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` for each column at once, with one residual array.

    Column j equals ``evaluate(Y_true[:, j], Y_pred[:, j])`` (within rounding):
    mean absolute error, root mean squared error, and R^2 as scikit-learn defines
    it (a constant column scores 1.0 when predicted exactly, else 0.0). No input
    checks: the fused executor calls it on arrays it built.
    """
    E = Y_pred - Y_true
    sq = np.einsum("ij,ij->j", E, E)
    centred = Y_true - Y_true.mean(0)
    tot = np.einsum("ij,ij->j", centred, centred)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(tot > 0, 1.0 - sq / np.where(tot > 0, tot, 1.0), np.where(sq == 0, 1.0, 0.0))
    n = Y_true.shape[0]
    return {"mae": np.abs(E).mean(0), "rmse": np.sqrt(sq / n), "r2": r2}


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination (the score ``triggered`` compares)."""
    return float(r2_score(y_true, y_pred))
