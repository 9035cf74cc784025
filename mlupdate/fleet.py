"""The deployed fleet: m fitted estimators over one shared fitted preprocessor."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler
from sklearn.tree import DecisionTreeRegressor
from tqdm.auto import tqdm

from .data import SyntheticTask, check_count
from .errors import unknown
from .metrics import evaluate_columns
from .multifit import fit_columns, fit_key

__all__ = ["ESTIMATOR_KINDS", "DeployedModel", "Fleet", "fit_fleet", "make_estimators", "make_preprocessor"]


def _ridge(i: int) -> BaseEstimator:
    return Ridge(alpha=1.0)


def _tree(i: int) -> BaseEstimator:
    return DecisionTreeRegressor(max_depth=6, random_state=0)


def _sgd(i: int) -> BaseEstimator:
    return SGDRegressor(alpha=1e-4, max_iter=20, tol=None, random_state=0)


#: Named estimator mixes for :func:`make_estimators`; ``mixed`` alternates
#: a linear and a tree model.
ESTIMATOR_KINDS: dict[str, tuple[Callable[[int], BaseEstimator], ...]] = {
    "mixed": (_ridge, _tree),
    "ridge": (_ridge,),
    "tree": (_tree,),
    "sgd": (_sgd,),
}


def make_estimators(n_models: int, kind: str = "mixed") -> list[BaseEstimator]:
    """Return ``n_models`` unfitted scikit-learn regressors of a named mix.

    Parameters
    ----------
    n_models : int
        Number of estimators (m).
    kind : {"mixed", "ridge", "tree", "sgd"}, default="mixed"
        ``mixed`` alternates Ridge and a depth-6 decision tree; ``sgd`` supports
        ``partial_fit`` (needed by the ``incremental`` strategy).
    """
    check_count("n_models", n_models)
    if kind not in ESTIMATOR_KINDS:
        raise unknown("estimator kind", kind, ESTIMATOR_KINDS)
    makers = ESTIMATOR_KINDS[kind]
    return [makers[i % len(makers)](i) for i in range(n_models)]


def make_preprocessor() -> Pipeline:
    """The fleet's shared feature pipeline: standardise, then cubic splines."""
    return make_pipeline(StandardScaler(), SplineTransformer(n_knots=4, degree=3))


class OutputColumn(RegressorMixin, BaseEstimator):
    """Serve column ``column`` of a fitted multi-output regressor.

    What each model becomes after the ``shared`` retrain strategy: all models
    share one fitted estimator and each predicts its own target.
    """

    def __init__(self, estimator: BaseEstimator, column: int) -> None:
        self.estimator = estimator
        self.column = column

    def fit(self, X: np.ndarray, y: np.ndarray) -> OutputColumn:  # pragma: no cover - never refit alone
        raise TypeError("OutputColumn is a view of a shared fit; refit the shared estimator instead")

    def predict(self, X: np.ndarray) -> np.ndarray:
        y_hat = self.estimator.predict(X)
        return y_hat if y_hat.ndim == 1 else y_hat[:, self.column]


@dataclass
class DeployedModel:
    """One deployed model: its estimator, its target and its deploy-time score."""

    index: int
    estimator: BaseEstimator
    deploy_r2: float
    #: Seconds its deploy fit took (a group fit's time shared out): parallel executors start
    #: the slowest models first, so that no worker is left with a long task at the end.
    fit_seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"model {self.index} ({type(self.estimator).__name__})"


@dataclass
class Fleet:
    """m deployed models sharing one fitted preprocessor and training data.

    Build one with :meth:`deploy`. ``X_history_pre`` is the historical data
    already preprocessed (done once at deploy time); retraining appends the
    preprocessed new batches to it.
    """

    models: list[DeployedModel]
    preprocessor: Pipeline
    X_history_pre: np.ndarray
    Y_history: np.ndarray
    n_features: int

    @property
    def n_models(self) -> int:
        return len(self.models)

    @classmethod
    def deploy(
        cls,
        task: SyntheticTask,
        estimators: Sequence[BaseEstimator] | None = None,
        preprocessor: Pipeline | None = None,
        progress: bool | None = False,
    ) -> Fleet:
        """Fit the preprocessor and every estimator on the task's history.

        Parameters
        ----------
        task : SyntheticTask
            Supplies the history (fit) and the validation data (deploy scores).
        estimators : sequence of estimators, optional
            One per target; cloned before fitting. Default:
            ``make_estimators(task.n_targets)``.
        preprocessor : transformer, optional
            Default: :func:`make_preprocessor`.
        progress : bool or None, default=False
            A progress bar over the models on stderr (``None``: only on a TTY).

        Estimators of one class and one set of parameters that fit each target
        on its own (Ridge, LinearRegression, Lasso, ElasticNet) are fitted as one
        multi-target fit: the same coefficients, one solve.
        """
        estimators = make_estimators(task.n_targets) if estimators is None else list(estimators)
        if len(estimators) != task.n_targets:
            raise ValueError(
                f"got {len(estimators)} estimators for a task with {task.n_targets} targets; they must match"
            )
        for i, est in enumerate(estimators):
            if not (hasattr(est, "fit") and hasattr(est, "predict")):
                raise TypeError(
                    f"estimator {i} ({type(est).__name__}) has no fit/predict; pass scikit-learn regressors"
                )
        pre = clone(make_preprocessor() if preprocessor is None else preprocessor)
        X, Y = task.history()
        X_pre = pre.fit_transform(X)
        X_val, Y_val = task.validation()
        fitted, seconds = fit_fleet(estimators, X_pre, Y, progress=progress)
        X_val_pre = pre.transform(X_val)
        scores = evaluate_columns(Y_val, np.column_stack([est.predict(X_val_pre) for est in fitted]))["r2"]
        models = [DeployedModel(i, est, float(scores[i]), seconds[i]) for i, est in enumerate(fitted)]
        return cls(models, pre, X_pre, Y, task.n_features)


def fit_fleet(
    estimators: Sequence[BaseEstimator], X: np.ndarray, Y: np.ndarray, progress: bool | None = False
) -> tuple[list[BaseEstimator], list[float]]:
    """Fit estimator i on ``(X, Y[:, i])`` for every i: estimators of one class and one set of
    parameters in :data:`mlupdate.multifit.FUSED_FITS` as one multi-target fit, the rest one by one.

    ``progress``: a bar over the models on stderr (``None``: only on a TTY).
    Returns the fitted estimators and the seconds each fit took (a group's shared out).
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, est in enumerate(estimators):
        groups[fit_key(est) or ("alone", i)].append(i)
    fitted: list[BaseEstimator | None] = [None] * len(estimators)
    bar = tqdm(
        total=len(estimators),
        desc="deploy",
        unit="model",
        leave=False,
        disable=None if progress is None else not progress,
    )
    seconds = [0.0] * len(estimators)
    with bar:
        for members in groups.values():
            start = time.perf_counter()
            group = fit_columns(estimators[members[0]], X, Y[:, members])
            for i, est in zip(members, group, strict=True):
                fitted[i], seconds[i] = est, (time.perf_counter() - start) / len(members)
            bar.update(len(members))
    return fitted, seconds
