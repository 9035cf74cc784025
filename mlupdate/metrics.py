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
    """Every metric of :data:`METRICS` for each column at once (one input check, not one per model).

    Column j equals ``evaluate(Y_true[:, j], Y_pred[:, j])``: the same scikit-learn
    functions, with ``multioutput="raw_values"``.
    """
    return {name: np.asarray(fn(Y_true, Y_pred, multioutput="raw_values"), float) for name, fn in METRICS.items()}


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination (the score ``triggered`` compares)."""
    return float(r2_score(y_true, y_pred))
