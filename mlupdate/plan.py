"""The schedule of an update: what (m, n, order, strategy) costs, before running."""

from __future__ import annotations

from dataclasses import dataclass

from .batches import check_count
from .errors import unknown
from .strategies import get_strategy

__all__ = ["ORDERS", "Plan", "check_order"]

#: Loop orders. ``model-major``: for each model, for each batch (preprocess
#: runs m*n times). ``batch-major``: for each batch, preprocess once, then
#: every model (n times). Predictions and metrics are the same either way.
ORDERS = ("model-major", "batch-major")


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise unknown("order", order, ORDERS)
    return order


@dataclass(frozen=True)
class Plan:
    """Operation counts of one update, known before it runs.

    Parameters
    ----------
    n_models, n_batches : int
        m deployed models, n new batches.
    rows_per_batch, history_rows : int
        Rows per new batch; rows of historical training data.
    order : {"model-major", "batch-major"}
    strategy : str
        A registered retrain strategy name.
    batch_rows : (int, int), optional
        The fewest and most rows of a new batch, when the batches differ: the counts then take
        ``rows_per_batch`` (the first batch's) for every batch, and the rows done differ from them.

    Notes
    -----
    ``preprocess`` is m*n (model-major) or n (batch-major); the ``shared``
    strategy in model-major order adds n (the parent preprocesses the new
    batches once for the shared fit). ``predict`` and ``evaluate`` are m*n;
    ``score`` is m (the after-retrain score on holdout data). For
    ``triggered`` the fit counts are upper bounds (:attr:`data_dependent`).
    """

    n_models: int
    n_batches: int
    rows_per_batch: int = 1000
    history_rows: int = 10_000
    order: str = "model-major"
    strategy: str = "full"
    batch_rows: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        check_count("n_models", self.n_models)
        check_count("n_batches", self.n_batches)
        check_count("rows_per_batch", self.rows_per_batch)
        check_count("history_rows", self.history_rows)
        check_order(self.order)
        get_strategy(self.strategy)

    @property
    def data_dependent(self) -> bool:
        return get_strategy(self.strategy).data_dependent

    @property
    def stage_calls(self) -> int:
        """Model x batch stage visits: m*n (each a predict and an evaluate)."""
        return self.n_models * self.n_batches

    @property
    def retrains(self) -> int:
        """Retrain operations: full fits, or one per model for ``incremental``."""
        counts = self.counts()
        return counts["fit"] if counts["fit"] else (self.n_models if counts["partial_fit"] else 0)

    def counts(self) -> dict[str, int]:
        """Expected value of every key in :data:`mlupdate.report.COUNT_KEYS`."""
        m, n, r = self.n_models, self.n_batches, self.rows_per_batch
        strategy = get_strategy(self.strategy)
        preprocess = m * n if self.order == "model-major" else n
        if not strategy.per_model and self.order == "model-major":
            preprocess += n
        return {
            "preprocess": preprocess,
            "predict": m * n,
            "evaluate": m * n,
            "score": m,
            "rows_predicted": m * n * r,
            **strategy.planned(m, n, r, self.history_rows),
        }

    def summary(self) -> str:
        """``"100 + 10"``: stage calls plus retrains, as the README writes it."""
        return f"{self.stage_calls:,} + {self.retrains:,}"
