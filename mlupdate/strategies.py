"""Retrain strategies, registered by name.

A strategy decides what happens after a model has been evaluated on the new
batches. Per-model strategies run inside each model's task (so they run in
parallel under the joblib executor); fleet-wide strategies (``shared``) run
once in the parent after every model has been evaluated.

Add one by subclassing :class:`RetrainStrategy` and decorating it with
:func:`register_strategy`. A strategy declares what its retrain is
(:attr:`~RetrainStrategy.refit`, :meth:`~RetrainStrategy.wants_refit`), and an
executor asks it that rather than testing its class: a strategy that declares
``refit = True`` gets the fused executor's one multi-target fit and streaming.
"""

from __future__ import annotations

import copy
from abc import ABC
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import get_tags

from .errors import UsageError, unknown
from .fleet import DeployedModel, Fleet, OutputColumn
from .report import StageRecorder

__all__ = ["STRATEGIES", "RetrainStrategy", "TrainingData", "check_estimators", "get_strategy", "register_strategy"]

STRATEGIES: dict[str, type[RetrainStrategy]] = {}


def register_strategy(cls: type[RetrainStrategy]) -> type[RetrainStrategy]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    STRATEGIES[cls.name] = cls
    return cls


def get_strategy(name: str | RetrainStrategy, **params: float) -> RetrainStrategy:
    """Return a strategy instance from its registered name (or pass one through)."""
    if isinstance(name, RetrainStrategy):
        return name
    if name not in STRATEGIES:
        raise unknown("strategy", name, STRATEGIES)
    return STRATEGIES[name](**params)


@dataclass
class TrainingData:
    """The new data one model (or the fleet) retrains on, already preprocessed.

    ``X_new`` holds one preprocessed array per batch and ``y_new`` the matching
    targets (one column for a model, all columns for the fleet).
    """

    X_history: np.ndarray
    y_history: np.ndarray
    X_new: Sequence[np.ndarray]
    y_new: Sequence[np.ndarray]

    def full(self) -> tuple[np.ndarray, np.ndarray]:
        """Historical + new rows, stacked: the "full training data"."""
        return np.vstack([self.X_history, *self.X_new]), np.concatenate([self.y_history, *self.y_new])


class RetrainStrategy(ABC):
    """Base class of retrain strategies.

    Class attributes
    ----------------
    name : str
        Registry key (CLI ``--strategy``).
    per_model : bool
        True: :meth:`retrain_model` runs in each model's task. False:
        :meth:`retrain_fleet` runs once, in the parent, after all tasks.
    refit : bool
        True: the per-model retrain is a fresh fit of the model's estimator on
        history + new batches (``clone(estimator).fit(X, y)``), for the models
        :meth:`wants_refit` picks; nothing else. An executor may then do that
        fit any exact way (the fused executor: one multi-target fit per group).
    needs_new_data : bool
        Whether the retrain needs the preprocessed new batches. A per-model
        strategy with neither ``refit`` nor ``needs_new_data`` retrains nothing.
    data_dependent : bool
        True when the fit count depends on the data (the plan gives a bound).

    Subclasses override :meth:`planned` (exact counts for m models, n batches)
    and either declare ``refit`` (overriding :meth:`wants_refit` to refit only
    some models) or override one of :meth:`retrain_model` /
    :meth:`retrain_fleet`; :meth:`check` refuses a fleet the strategy cannot
    apply to, before any work starts.
    """

    name: ClassVar[str]
    per_model: ClassVar[bool] = True
    refit: ClassVar[bool] = False
    needs_new_data: ClassVar[bool] = True
    data_dependent: ClassVar[bool] = False

    def check(self, fleet: Fleet) -> None:
        """Raise :class:`~mlupdate.errors.UsageError` if the strategy cannot apply to ``fleet``."""

    def planned(self, m: int, n: int, rows: int, history_rows: int) -> dict[str, int]:
        """Counts of ``fit``, ``partial_fit`` and ``rows_trained`` for the plan."""
        return {"fit": 0, "partial_fit": 0, "rows_trained": 0}

    @property
    def retrains(self) -> bool:
        """Whether a per-model retrain can change any model (``none``: it cannot)."""
        return self.refit or self.needs_new_data

    def wants_refit(self, model: DeployedModel, new_r2: float) -> bool:
        """With ``refit``: whether to refit ``model``, whose mean R^2 on the new batches is ``new_r2``."""
        return self.refit

    def retrain_model(
        self, model: DeployedModel, data: TrainingData, new_r2: float, stages: StageRecorder
    ) -> BaseEstimator | None:
        """Return the updated estimator, or ``None`` to keep the deployed one.

        The default is the declared retrain: a refit of the models
        :meth:`wants_refit` picks (with ``refit``), else nothing.
        """
        if self.refit and self.wants_refit(model, new_r2):
            return _refit(model.estimator, data, stages)
        return None

    def retrain_fleet(self, fleet: Fleet, data: TrainingData, stages: StageRecorder) -> list[BaseEstimator]:
        """Fleet-wide retrain: return one updated estimator per model."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _refit(estimator: BaseEstimator, data: TrainingData, stages: StageRecorder) -> BaseEstimator:
    X, y = data.full()
    fitted = stages.call("fit", clone(estimator).fit, X, y)
    stages.counts["rows_trained"] += X.shape[0]
    return fitted


@register_strategy
class NoRetrain(RetrainStrategy):
    """``none``: predict and evaluate only; the deployed models stay."""

    name = "none"
    needs_new_data = False


@register_strategy
class FullRetrain(RetrainStrategy):
    """``full``: refit every model from scratch on history + new batches (m fits)."""

    name = "full"
    refit = True

    def planned(self, m: int, n: int, rows: int, history_rows: int) -> dict[str, int]:
        return {"fit": m, "partial_fit": 0, "rows_trained": m * (history_rows + n * rows)}


@register_strategy
class TriggeredRetrain(RetrainStrategy):
    """``triggered``: refit only models whose R^2 dropped by more than ``threshold``.

    The drop is the deploy-time validation R^2 minus the mean R^2 over the new
    batches. Parameters: ``threshold`` (default 0.1).
    """

    name = "triggered"
    refit = True
    data_dependent = True

    def __init__(self, threshold: float = 0.1) -> None:
        if not np.isfinite(threshold) or threshold < 0:
            raise UsageError(f"threshold={threshold!r} must be a finite number >= 0")
        self.threshold = float(threshold)

    def planned(self, m, n, rows, history_rows):
        return FullRetrain().planned(m, n, rows, history_rows)

    def wants_refit(self, model: DeployedModel, new_r2: float) -> bool:
        return model.deploy_r2 - new_r2 > self.threshold

    def __repr__(self) -> str:
        return f"TriggeredRetrain(threshold={self.threshold})"


@register_strategy
class IncrementalRetrain(RetrainStrategy):
    """``incremental``: ``partial_fit`` each model on each new batch (m*n calls)."""

    name = "incremental"

    def check(self, fleet: Fleet) -> None:
        lacking = [m.name for m in fleet.models if not hasattr(m.estimator, "partial_fit")]
        if lacking:
            shown = ", ".join(lacking[:3]) + (f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
            raise UsageError(
                f"strategy 'incremental' needs partial_fit, which {shown} lack(s); "
                "use estimators that have it (e.g. kind 'sgd')"
            )

    def planned(self, m, n, rows, history_rows):
        return {"fit": 0, "partial_fit": m * n, "rows_trained": m * n * rows}

    def retrain_model(self, model, data, new_r2, stages):
        # Update a copy: the deployed estimator stays as it was.
        est = copy.deepcopy(model.estimator)
        for X, y in zip(data.X_new, data.y_new, strict=True):
            stages.call("partial_fit", est.partial_fit, X, y)
            stages.counts["rows_trained"] += X.shape[0]
        return est


@register_strategy
class SharedRetrain(RetrainStrategy):
    """``shared``: one multi-output fit for all models together (1 fit).

    Needs every model to be the same estimator (class and parameters) with
    multi-output support; afterwards model i serves output i of the shared fit.
    """

    name = "shared"
    per_model = False

    def check(self, fleet: Fleet) -> None:
        for model in fleet.models:
            if not get_tags(_base(model.estimator)).target_tags.multi_output:
                raise UsageError(
                    f"strategy 'shared' needs multi-output support, which {model.name} lacks; "
                    "use e.g. kind 'ridge' or 'tree'"
                )
        kinds = {(type(m.estimator).__name__, repr(_base(m.estimator).get_params())) for m in fleet.models}
        if len(kinds) > 1:
            names = sorted({k[0] for k in kinds})
            raise UsageError(
                f"strategy 'shared' needs all models to be one estimator with one set of parameters; "
                f"found {len(kinds)} different ({', '.join(names)}); use e.g. kind 'ridge' or 'tree'"
            )

    def planned(self, m, n, rows, history_rows):
        return {"fit": 1, "partial_fit": 0, "rows_trained": history_rows + n * rows}

    def retrain_fleet(self, fleet, data, stages):
        shared = _refit(_base(fleet.models[0].estimator), data, stages)
        return [OutputColumn(shared, i) for i in range(fleet.n_models)]


def _base(estimator: BaseEstimator) -> BaseEstimator:
    """The estimator a model was built from (unwraps a previous shared fit)."""
    return estimator.estimator if isinstance(estimator, OutputColumn) else estimator


@dataclass
class _Unfitted:
    """Just enough of a :class:`~mlupdate.fleet.Fleet` for :meth:`RetrainStrategy.check` before any fit."""

    models: list[DeployedModel]

    @property
    def n_models(self) -> int:
        return len(self.models)


def check_estimators(strategy: str | RetrainStrategy, estimators: Sequence[BaseEstimator]) -> RetrainStrategy:
    """The strategy, once it has accepted a fleet of ``estimators``: refused before any is fitted."""
    strategy = get_strategy(strategy)
    strategy.check(_Unfitted([DeployedModel(i, e, float("nan")) for i, e in enumerate(estimators)]))
    return strategy
