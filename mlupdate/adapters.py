"""Your own data as the loop's inputs: numpy arrays, pandas DataFrames, or ``(X, Y)`` pairs.

Features may be a DataFrame, so that a ``ColumnTransformer`` selects its columns
by name; the fleet remembers the names, and later batches are matched to them
(arrays are given those names). Targets become a float array with one column per
model. pandas is optional: it is only imported when a DataFrame is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from .batches import Batch
from .errors import UsageError, UsageTypeError

__all__ = ["as_batch", "as_batches", "dense", "dense_output", "feature_names_of", "features", "targets"]


def _is_frame(X: Any) -> bool:
    return hasattr(X, "columns") and hasattr(X, "iloc")


def feature_names_of(X: Any) -> list[str] | None:
    """The column names of a DataFrame of features; ``None`` for an array."""
    return [str(c) for c in X.columns] if _is_frame(X) else None


def features(X: Any, names: Sequence[str] | None = None, where: str = "X") -> Any:
    """Features as the fleet reads them: a DataFrame with the fleet's columns, in its
    order, when the fleet has column names (an array is given them), else an array."""
    if names is None:
        return X.to_numpy() if _is_frame(X) else np.asarray(X)
    if not _is_frame(X):
        import pandas as pd

        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(names):
            raise UsageError(f"{where} has shape {X.shape}; the fleet was trained on {len(names)} named features")
        return pd.DataFrame(X, columns=list(names))
    X = X.rename(columns=str)
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise UsageError(f"{where} has no column {missing[0]!r}, a feature the fleet was trained on")
    return X[list(names)]


def targets(Y: Any) -> tuple[np.ndarray, list[str] | None]:
    """Targets as an array with one column per model, and their names if they had any."""
    if _is_frame(Y):
        return Y.to_numpy(), [str(c) for c in Y.columns]
    if hasattr(Y, "to_numpy") and hasattr(Y, "name"):  # a Series: one model
        return Y.to_numpy().reshape(-1, 1), None if Y.name is None else [str(Y.name)]
    Y = np.asarray(Y)
    return (Y.reshape(-1, 1) if Y.ndim == 1 else Y), None


def as_batch(item: Any, index: int, names: Sequence[str] | None = None) -> Batch:
    """A :class:`~mlupdate.batches.Batch` from a Batch or an ``(X, Y)`` pair (arrays or DataFrames)."""
    if isinstance(item, Batch):
        X, y = item.X, item.y
        index = item.index
    elif isinstance(item, tuple) and len(item) == 2:
        X, y = item
    else:
        raise UsageTypeError(f"batch {index}: expected an mlupdate.Batch or an (X, Y) pair, got {type(item).__name__}")
    return Batch(index, features(X, names, where=f"batch {index}"), targets(y)[0])


def as_batches(items: Iterable[Any], names: Sequence[str] | None = None) -> Iterator[Batch]:
    """:func:`as_batch` over an iterable, lazily, numbering the batches from 0."""
    for k, item in enumerate(items):
        yield as_batch(item, k, names)


def dense(X: Any) -> np.ndarray:
    """``X`` as a dense array (a sparse matrix is expanded)."""
    return X.toarray() if sparse.issparse(X) else np.asarray(X)


def dense_output(preprocessor: Any, X_pre: Any) -> Any:
    """The fitted preprocessor, followed by a step that makes its output a dense array
    when it is not one already (a ``ColumnTransformer`` with one-hot columns is sparse)."""
    if isinstance(X_pre, np.ndarray):
        return preprocessor
    return Pipeline([("features", preprocessor), ("dense", FunctionTransformer(dense).fit(X_pre))])
