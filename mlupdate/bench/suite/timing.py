"""Timing helpers shared by the benchmarks and ``tools/``: ratios in one process.

The machines this runs on are shared and noisy, so every comparison here
times A and B alternately in the same process and reports medians.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone

from ...batches import Batch
from ...fleet import Fleet
from ...metrics import evaluate
from ...strategies import TrainingData

__all__ = ["median_times", "plain_loop"]


def median_times(candidates: dict[str, Callable[[], Any]], repeat: int = 5, warmup: int = 1) -> dict[str, float]:
    """Median wall seconds of each callable, run round-robin ``repeat`` times.

    Each candidate runs ``warmup`` times first (pool start-up, caches).
    """
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def plain_loop(fleet: Fleet, batches: Sequence[Batch], holdout: tuple[np.ndarray, np.ndarray]) -> list[Any]:
    """The hand-written nested loop with ``full`` retrain, no counting or timing.

    The reference the serial executor is measured against.
    """
    X_hold = fleet.preprocessor.transform(holdout[0])
    updated = []
    for model in fleet.models:
        i = model.index
        kept = []
        for batch in batches:
            X = fleet.preprocessor.transform(batch.X)
            y_hat = model.estimator.predict(X)
            evaluate(batch.y[:, i], y_hat)
            kept.append(X)
        data = TrainingData(fleet.X_history_pre, fleet.Y_history[:, i], kept, [b.y[:, i] for b in batches])
        X_full, y_full = data.full()
        est = clone(model.estimator).fit(X_full, y_full)
        evaluate(holdout[1][:, i], est.predict(X_hold))
        updated.append(est)
    return updated
