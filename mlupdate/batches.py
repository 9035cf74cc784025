"""A batch of new labelled data, and the checks every batch and count passes.

The update loop checks each batch before a model sees it (:func:`check_batch`);
sizes given by a user are checked by :func:`check_count`. Both raise the
package's :class:`~mlupdate.errors.UsageError` types, naming the bad value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError, UsageTypeError

__all__ = ["Batch", "check_batch", "check_count"]


@dataclass(frozen=True)
class Batch:
    """One batch of new labelled data.

    Parameters
    ----------
    index : int
        Position of the batch in its stream (0-based); used in error messages.
    X : ndarray of shape (n_rows, n_features)
        Raw (not yet preprocessed) features.
    y : ndarray of shape (n_rows, n_targets)
        Observed targets, one column per deployed model.
    """

    index: int
    X: np.ndarray
    y: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])


def check_batch(batch: Batch, n_features: int, n_targets: int, name: str | None = None) -> None:
    """Raise :class:`~mlupdate.errors.UsageError` naming ``batch`` (or ``name``) if it cannot be fed to the fleet.

    Checks shape (2-D, ``n_features`` columns, at least one row), that ``y`` has
    one row per row of ``X`` and ``n_targets`` columns, and that both are finite.
    ``X`` may be a DataFrame (its numeric columns are checked, by name).
    """
    name = name or f"batch {batch.index}"
    X, y = batch.X, batch.y
    frame = hasattr(X, "columns") and hasattr(X, "iloc")
    if not (frame or isinstance(X, np.ndarray)) or not isinstance(y, np.ndarray):
        raise UsageTypeError(
            f"{name}: X and y must be arrays (X may be a DataFrame), got {type(X).__name__} and {type(y).__name__}"
        )
    if X.ndim != 2:
        raise UsageError(f"{name}: X must be 2-D (rows x features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise UsageError(f"{name} is empty: it has 0 rows; every batch needs at least 1 row")
    if X.shape[1] != n_features:
        raise UsageError(f"{name} has {X.shape[1]} features; the fleet was trained on {n_features}")
    y2 = y.reshape(-1, 1) if y.ndim == 1 else y
    if y2.shape[0] != X.shape[0]:
        raise UsageError(f"{name}: y has {y2.shape[0]} rows but X has {X.shape[0]}; they must match")
    if y2.ndim != 2 or y2.shape[1] != n_targets:
        raise UsageError(f"{name}: y has shape {y.shape}; expected ({X.shape[0]}, {n_targets}), one column per model")
    columns = [(f"column {c!r}", X[c].to_numpy()) for c in X.select_dtypes("number").columns] if frame else [("X", X)]
    for label, arr in [*columns, ("y", y2)]:
        if not np.issubdtype(arr.dtype, np.number):
            raise UsageTypeError(f"{name}: {label} must be numeric, got dtype {arr.dtype}")
        finite = np.isfinite(arr)
        if not finite.all():
            row = int(np.argwhere(~finite)[0][0])
            raise UsageError(f"{name}: {label} holds NaN or inf (first at row {row}); all values must be finite")


def check_count(name: str, value: object) -> int:
    """Return ``value`` as an int if it is a whole number >= 1, else raise.

    ``bool`` and floats are refused (``TypeError``) rather than truncated.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise UsageTypeError(f"{name}={value!r} must be a whole number >= 1")
    if value < 1:
        raise UsageError(f"{name}={value!r} must be a whole number >= 1")
    return int(value)
