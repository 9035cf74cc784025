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

from .batches import Batch, check_count
from .errors import UsageError

__all__ = ["BatchStream", "SyntheticTask"]


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
            raise UsageError(f"drift={self.drift!r} must be a finite number >= 0")
        if self.drift_targets is not None:
            bad = [t for t in self.drift_targets if not 0 <= int(t) < self.n_targets]
            if bad:
                raise UsageError(f"drift_targets {bad} out of range; allowed 0..{self.n_targets - 1}")
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
