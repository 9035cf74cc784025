"""Seeded, network-free synthetic tasks and their streams of new data batches.

A :class:`SyntheticTask` is a multi-target regression problem ("demand per
region"): target ``i`` is served by deployed model ``i``. Every batch is
generated from ``(seed, batch index)`` alone, so a :class:`BatchStream` can be
iterated any number of times, lazily, without holding the batches in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Batch", "BatchStream", "SyntheticTask", "check_batch"]


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
    """Raise ``ValueError`` naming ``batch`` (or ``name``) if it cannot be fed to the fleet.

    Checks shape (2-D, ``n_features`` columns, at least one row), that ``y`` has
    one row per row of ``X`` and ``n_targets`` columns, and that both are finite.
    ``X`` may be a DataFrame (its numeric columns are checked, by name).
    """
    name = name or f"batch {batch.index}"
    X, y = batch.X, batch.y
    frame = hasattr(X, "columns") and hasattr(X, "iloc")
    if not (frame or isinstance(X, np.ndarray)) or not isinstance(y, np.ndarray):
        raise TypeError(
            f"{name}: X and y must be arrays (X may be a DataFrame), got {type(X).__name__} and {type(y).__name__}"
        )
    if X.ndim != 2:
        raise ValueError(f"{name}: X must be 2-D (rows x features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 rows; every batch needs at least 1 row")
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features; the fleet was trained on {n_features}")
    y2 = y.reshape(-1, 1) if y.ndim == 1 else y
    if y2.shape[0] != X.shape[0]:
        raise ValueError(f"{name}: y has {y2.shape[0]} rows but X has {X.shape[0]}; they must match")
    if y2.ndim != 2 or y2.shape[1] != n_targets:
        raise ValueError(f"{name}: y has shape {y.shape}; expected ({X.shape[0]}, {n_targets}), one column per model")
    columns = [(f"column {c!r}", X[c].to_numpy()) for c in X.select_dtypes("number").columns] if frame else [("X", X)]
    for label, arr in [*columns, ("y", y2)]:
        if not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"{name}: {label} must be numeric, got dtype {arr.dtype}")
        finite = np.isfinite(arr)
        if not finite.all():
            row = int(np.argwhere(~finite)[0][0])
            raise ValueError(f"{name}: {label} holds NaN or inf (first at row {row}); all values must be finite")


@dataclass(frozen=True)
class SyntheticTask:
    """A seeded multi-target regression task with optional drift.

    Targets are ``y_i = X @ w_i + sin(X @ v_i) + noise``. Drift rotates the
    weights of the drifting targets linearly over the stream, so the last
    batch is ``drift`` standard deviations of weight away from deploy time.

    Parameters
    ----------
    n_targets : int
        Number of targets, one per deployed model (m).
    n_features : int, default=20
        Raw feature count.
    rows_per_batch : int, default=1000
        Rows in each new batch.
    history_rows : int, default=10000
        Rows of historical training data the fleet is deployed on.
    drift : float, default=0.0
        Size of the weight change at the end of the stream (0 = stationary).
    drift_targets : sequence of int or None, default=None
        Targets that drift; ``None`` means all of them when ``drift > 0``.
    noise : float, default=0.1
        Standard deviation of the additive target noise.
    seed : int, default=0
        Seed for everything: weights, history, batches, holdout.
    """

    n_targets: int
    n_features: int = 20
    rows_per_batch: int = 1000
    history_rows: int = 10_000
    drift: float = 0.0
    drift_targets: Sequence[int] | None = None
    noise: float = 0.1
    seed: int = 0
    _weights: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("n_targets", "n_features", "rows_per_batch", "history_rows"):
            check_count(name, getattr(self, name))
        if not np.isfinite(self.drift) or self.drift < 0:
            raise ValueError(f"drift={self.drift!r} must be a finite number >= 0")
        if self.drift_targets is not None:
            bad = [t for t in self.drift_targets if not 0 <= int(t) < self.n_targets]
            if bad:
                raise ValueError(f"drift_targets {bad} out of range; allowed 0..{self.n_targets - 1}")
        rng = np.random.default_rng([self.seed, 0xC0FFEE])
        w = rng.normal(size=(self.n_features, self.n_targets)) / np.sqrt(self.n_features)
        v = rng.normal(size=(self.n_features, self.n_targets)) / np.sqrt(self.n_features)
        d = rng.normal(size=(self.n_features, self.n_targets)) / np.sqrt(self.n_features)
        mask = np.zeros(self.n_targets)
        if self.drift > 0:
            targets = range(self.n_targets) if self.drift_targets is None else self.drift_targets
            mask[list(targets)] = 1.0
        object.__setattr__(self, "_weights", (w, v, d * mask * self.drift))

    def _draw(self, key: int, n_rows: int, progress: float) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, key])
        X = rng.normal(size=(n_rows, self.n_features))
        w, v, d = self._weights
        y = X @ (w + progress * d) + np.sin(X @ v) + self.noise * rng.normal(size=(n_rows, self.n_targets))
        return X, y

    def history(self) -> tuple[np.ndarray, np.ndarray]:
        """Historical training data ``(X, Y)`` the fleet is deployed on."""
        return self._draw(1, self.history_rows, 0.0)

    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        """Deploy-time validation data (no drift): the reference scores."""
        return self._draw(2, self.rows_per_batch, 0.0)

    def holdout(self, n_batches: int) -> tuple[np.ndarray, np.ndarray]:
        """Fresh data from the distribution at the end of an ``n_batches`` stream."""
        return self._draw(3, self.rows_per_batch, 1.0)

    def batch(self, index: int, n_batches: int) -> Batch:
        """Batch ``index`` of a stream of ``n_batches`` (drift grows along it)."""
        X, y = self._draw(1000 + index, self.rows_per_batch, (index + 1) / n_batches)
        return Batch(index, X, y)

    def stream(self, n_batches: int) -> BatchStream:
        """A lazy, re-iterable stream of ``n_batches`` new batches."""
        return BatchStream(self, check_count("n_batches", n_batches))


@dataclass(frozen=True)
class BatchStream:
    """``n_batches`` batches of a task, generated on iteration, never stored."""

    task: SyntheticTask
    n_batches: int

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[Batch]:
        for index in range(self.n_batches):
            yield self.task.batch(index, self.n_batches)


def check_count(name: str, value: object) -> int:
    """Return ``value`` as an int if it is a whole number >= 1, else raise.

    ``bool`` and floats are refused (``TypeError``) rather than truncated.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be a whole number >= 1")
    if value < 1:
        raise ValueError(f"{name}={value!r} must be a whole number >= 1")
    return int(value)
