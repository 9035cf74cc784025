"""One pass of the fused update over a stream of batches, for a fleet's models or a shard of them.

:class:`FusedPass` takes each batch once (:meth:`FusedPass.add`) and keeps no
more of it than the retrain needs. The linear models
(:class:`~mlupdate.executors.fused_linear.LinearGroup`) and the others
(:class:`~mlupdate.executors.fused_rows.RowGroup`) take the batches a bounded
block at a time, preprocessed with one call when the preprocessor is row-wise
(:func:`mlupdate.rowwise.is_rowwise_transformer`). The fused executor runs one
pass in its own process, or one per shard on each worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..batches import Batch
from ..report import Failure, ModelResult, StageRecorder
from ..rowwise import is_rowwise_transformer
from ..task import ModelWork, SharedData
from .fused_linear import LinearGroup, own_columns, why_not_linear
from .fused_rows import BLOCK_CELLS, RowGroup

__all__ = ["FusedPass", "split"]


def split(works: Iterable[ModelWork]) -> tuple[list[ModelWork], list[tuple[ModelWork, str]]]:
    """The linear models, and the others with the reason each is not linear."""
    linear, other = [], []
    for work in works:
        reason = why_not_linear(work.model.estimator)
        if reason:
            other.append((work, reason))
        else:
            linear.append(work)
    return linear, other


class FusedPass:
    """The fused update of ``works`` over batches added one at a time.

    Parameters
    ----------
    works : the models' work items (``column``: where each one's targets are in ``shared``).
    shared : history, holdout and preprocessor (``shared.batches`` is not read).
    order : ``"batch-major"`` (each batch preprocessed once, here) or ``"model-major"``.
    threads : threads for the refits of the models that are not linear.
    """

    def __init__(self, works: Sequence[ModelWork], shared: SharedData, order: str, threads: int) -> None:
        linear, other = split(works)
        self.shared, self.order = shared, order
        self.linear = LinearGroup(linear, shared) if linear else None
        self.rows = RowGroup([w for w, _ in other], [r for _, r in other], shared, threads) if other else None
        self.groups = [g for g in (self.linear, self.rows) if g is not None]
        self.error: tuple[str, str] | None = None  # the linear group's failure: stage, message
        self.stages = StageRecorder()  # the batch-major preprocessing, once per batch
        self.stacked = is_rowwise_transformer(shared.preprocessor)  # preprocess a block in one call
        self.block_rows = max(1, BLOCK_CELLS // max(1, len(works)))
        self.block: list[tuple[np.ndarray | None, np.ndarray | None, list[np.ndarray]]] = []

    def add(self, batch: Batch, X: np.ndarray | None = None) -> None:
        """Take one batch (``X``: its rows already preprocessed). The batch is used in a bounded
        block of batches; what is kept of it is each group's own targets."""
        ys = [own_columns(batch.y, g.cols) for g in self.groups]
        self.block.append((batch.X if X is None else None, X, ys))
        if sum(len(y) for _, _, (y, *_) in self.block) >= self.block_rows:
            self._flush()

    def _preprocessed(self) -> list[np.ndarray]:
        """The block's rows preprocessed: one call for the block (a row-wise preprocessor), counted once
        per batch (batch-major) or once per model and batch (model-major: each model's own)."""
        if all(X is not None for _, X, _ in self.block):
            return [X for _, X, _ in self.block]
        raws = [raw for raw, _, _ in self.block]
        per_batch = 1 if self.order == "batch-major" else sum(len(g.works) for g in self.groups)
        stages = self.stages if self.order == "batch-major" else self.groups[0].stages
        transform = self.shared.preprocessor.transform
        if not self.stacked:
            return [np.asarray(stages.call("preprocess", transform, raw, n=per_batch)) for raw in raws]
        bounds = np.cumsum([0, *(len(raw) for raw in raws)])
        X = np.asarray(stages.call("preprocess", transform, np.vstack(raws), n=per_batch * len(raws)))
        return [X[bounds[j] : bounds[j + 1]] for j in range(len(raws))]

    def _flush(self) -> None:
        if not self.block:
            return
        Xs = self._preprocessed()
        for k, group in enumerate(self.groups):
            ys = [y[k] for _, _, y in self.block]
            if group is self.linear:
                if self.error is None:
                    try:
                        group.add_block(ys, Xs)
                    except Exception as exc:  # noqa: BLE001 - the linear models fail; the others go on
                        self.error = (group.stages.current, f"{type(exc).__name__}: {exc}")
            else:
                group.add_block(ys, Xs)
        self.block = []

    def results(self) -> list[ModelResult]:
        """Every model's result, once every batch has been added (the pass's counts on the first)."""
        self._flush()
        out = self._linear_results() + (self.rows.results() if self.rows is not None else [])
        if out:
            out[0].stages.merge(self.stages)
        return out

    def _linear_results(self) -> list[ModelResult]:
        group = self.linear
        if group is None:
            return []
        if self.error is None:
            try:
                return group.results()
            except Exception as exc:  # noqa: BLE001
                self.error = (group.stages.current or "retrain", f"{type(exc).__name__}: {exc}")
        stage, message = self.error
        out = [
            ModelResult(index=w.model.index, failure=Failure(w.model.index, w.model.name, stage, message))
            for w in group.works
        ]
        out[0].stages = group.stages
        return out
