"""The deployed fleet: m fitted estimators over one shared fitted preprocessor."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .adapters import dense, dense_output, feature_names_of, features, targets
from .batches import Batch, check_batch, check_count
from .errors import UsageError, UsageTypeError, unknown
from .metrics import evaluate_columns
from .multifit import fit_columns, fit_key
from .synthetic import SyntheticTask

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
        raise UsageTypeError("OutputColumn is a view of a shared fit; refit the shared estimator instead")

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
    #: Seconds its deploy-time prediction of the validation rows took: with ``fit_seconds``,
    #: what the fused executor balances its shards by.
    predict_seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"model {self.index} ({type(self.estimator).__name__})"


@dataclass
class Fleet:
    """m deployed models sharing one fitted preprocessor and training data.

    Build one with :meth:`from_data` (your arrays or DataFrames),
    :meth:`from_fitted` (models already trained) or :meth:`deploy` (a synthetic
    task). ``X_history_pre`` is the historical data already preprocessed (done
    once at deploy time); retraining appends the preprocessed new batches to it.
    ``feature_names`` are the DataFrame columns the preprocessor reads (``None``:
    arrays); ``target_names`` name each model's target when they were given.
    """

    models: list[DeployedModel]
    preprocessor: Any
    X_history_pre: np.ndarray
    Y_history: np.ndarray
    n_features: int
    feature_names: list[str] | None = None
    target_names: list[str] | None = None
    validation_name: str = "given"  # what the deploy-time R^2 (the ``triggered`` baseline) was scored on

    @property
    def n_models(self) -> int:
        return len(self.models)

    @classmethod
    def from_data(
        cls,
        X_history: Any,
        Y_history: Any,
        estimators: Sequence[BaseEstimator] | None = None,
        preprocessor: Any = None,
        validation: tuple[Any, Any] | None = None,
        progress: bool | None = False,
    ) -> Fleet:
        """Fit the preprocessor on ``X_history``, then model i on target column i.

        Parameters
        ----------
        X_history : array or DataFrame of shape (rows, features)
            Raw training features. A DataFrame's column names are kept, so that
            a ``ColumnTransformer`` can select by name; later batches must have
            those columns (arrays are given them).
        Y_history : array, DataFrame or Series of shape (rows, models)
            One target column per model.
        estimators : sequence of estimators, optional
            Any scikit-learn regressors or ``Pipeline`` s, one per target; cloned
            before fitting. Default: :func:`make_estimators` (``mixed``).
        preprocessor : transformer, optional
            Any scikit-learn transformer or ``ColumnTransformer``, shared by the
            models; cloned before fitting. Default: a plain ``StandardScaler`` (the
            synthetic task's :meth:`deploy` uses :func:`make_preprocessor`'s splines).
        validation : (X, Y), optional
            Data to score each model on at deploy time (the ``triggered``
            strategy compares with it). Default: the history itself.
        progress : bool or None, default=False
            A progress bar over the models on stderr (``None``: only on a TTY).

        Estimators of one class and one set of parameters that fit each target
        on its own (Ridge, LinearRegression, Lasso, ElasticNet) are fitted as one
        multi-target fit: the same coefficients, one solve.
        """
        X, Y, names, target_names = _history(X_history, Y_history)
        estimators = make_estimators(Y.shape[1]) if estimators is None else list(estimators)
        _check_estimators(estimators, Y.shape[1])
        pre = clone(StandardScaler() if preprocessor is None else preprocessor)
        X_pre = pre.fit_transform(X)
        pre, X_pre = dense_output(pre, X_pre), dense(X_pre)
        fitted, seconds = fit_fleet(estimators, X_pre, Y, progress=progress)
        return cls._assemble(
            fitted, seconds, pre, X_pre, Y, X.shape[1], names, target_names, validation or (X, Y), (X,)
        )

    @classmethod
    def from_fitted(
        cls,
        estimators: Sequence[BaseEstimator],
        preprocessor: Any,
        X_history: Any,
        Y_history: Any,
        validation: tuple[Any, Any] | None = None,
    ) -> Fleet:
        """A fleet of models that are already fitted, over a fitted preprocessor: nothing is refitted.

        ``X_history, Y_history`` are the rows a retrain starts from (and the
        default validation data); the other parameters are as in :meth:`from_data`.
        """
        X, Y, names, target_names = _history(X_history, Y_history)
        estimators = list(estimators)
        _check_estimators(estimators, Y.shape[1])
        for what, est in [
            ("the preprocessor", preprocessor),
            *((f"estimator {i}", e) for i, e in enumerate(estimators)),
        ]:
            try:
                check_is_fitted(est)
            except (NotFittedError, TypeError) as exc:
                raise UsageError(f"{what} ({type(est).__name__}) is not fitted; use Fleet.from_data to fit it") from exc
        X_pre = preprocessor.transform(X)
        pre, X_pre = dense_output(preprocessor, X_pre), dense(X_pre)
        seconds = [0.0] * len(estimators)
        return cls._assemble(
            estimators, seconds, pre, X_pre, Y, X.shape[1], names, target_names, validation or (X, Y), (X,)
        )

    @classmethod
    def _assemble(
        cls, fitted, seconds, pre, X_pre, Y, n_features, names, target_names, validation, history=(None,)
    ) -> Fleet:
        """The fleet, with each model's deploy-time score on the validation data."""
        in_sample = validation[0] is history[0]
        X_val, (Y_val, _) = features(validation[0], names, where="validation"), targets(validation[1])
        X_val_pre = np.asarray(pre.transform(X_val))
        predicted, took = [], []
        for est in fitted:
            start = time.perf_counter()
            predicted.append(est.predict(X_val_pre))
            took.append(time.perf_counter() - start)
        scores = evaluate_columns(Y_val, np.column_stack(predicted))["r2"]
        models = [DeployedModel(i, est, float(scores[i]), seconds[i], took[i]) for i, est in enumerate(fitted)]
        fleet = cls(models, pre, X_pre, Y, n_features, names, target_names)
        fleet.validation_name = "the history (in-sample)" if in_sample else f"a validation split of {len(X_val)} rows"
        return fleet

    @classmethod
    def deploy(
        cls,
        task: SyntheticTask,
        estimators: Sequence[BaseEstimator] | None = None,
        preprocessor: Any = None,
        progress: bool | None = False,
    ) -> Fleet:
        """:meth:`from_data` on a synthetic task's history, scored on its validation data.

        ``estimators`` default to ``make_estimators(task.n_targets)``.
        """
        estimators = make_estimators(task.n_targets) if estimators is None else list(estimators)
        if len(estimators) != task.n_targets:
            raise UsageError(
                f"got {len(estimators)} estimators for a task with {task.n_targets} targets; they must match"
            )
        X, Y = task.history()
        pre = make_preprocessor() if preprocessor is None else preprocessor  # the synthetic task's splines
        fleet = cls.from_data(X, Y, estimators, pre, validation=task.validation(), progress=progress)
        fleet.validation_name = "the synthetic task's validation set"
        return fleet

    def take(self, m: int) -> Fleet:
        """The first ``m`` models, as a fleet of their own (same preprocessor and history)."""
        models = [
            DeployedModel(i, d.estimator, d.deploy_r2, d.fit_seconds, d.predict_seconds)
            for i, d in enumerate(self.models[:m])
        ]
        names = self.target_names[:m] if self.target_names else None
        return Fleet(
            models,
            self.preprocessor,
            self.X_history_pre,
            self.Y_history[:, :m],
            self.n_features,
            self.feature_names,
            names,
        )


def _history(X_history: Any, Y_history: Any) -> tuple[Any, np.ndarray, list[str] | None, list[str] | None]:
    """The history's features and targets, checked as a batch is, and their column names."""
    names = feature_names_of(X_history)
    X, (Y, target_names) = features(X_history, names, where="the history"), targets(Y_history)
    check_batch(Batch(0, X, Y), X.shape[1] if X.ndim == 2 else 0, Y.shape[1], name="the history")
    return X, Y, names, target_names


def _check_estimators(estimators: Sequence[Any], n_targets: int) -> None:
    if len(estimators) != n_targets:
        raise UsageError(f"got {len(estimators)} estimators for {n_targets} target columns; they must match")
    for i, est in enumerate(estimators):
        if not (hasattr(est, "fit") and hasattr(est, "predict")):
            raise UsageTypeError(
                f"estimator {i} ({type(est).__name__}) has no fit/predict; pass scikit-learn regressors"
            )


class DeployError(UsageError):
    """A model's deploy fit failed: the message names the model and the estimator's own error."""


def _deploy_fit(estimators: Sequence[BaseEstimator], members: list[int], X: np.ndarray, Y: np.ndarray) -> list:
    """Fit the group ``members`` (one estimator and parameters) on their targets; a failure names
    the first model of the group and the estimator's own error (its parameter check first, so
    that an invalid parameter is not reported as what the shared solve made of it)."""
    template = estimators[members[0]]
    try:
        if hasattr(type(template), "_parameter_constraints"):  # scikit-learn's own parameter check
            template._validate_params()
        return fit_columns(template, X, Y[:, members])
    except Exception as exc:  # noqa: BLE001 - any failure of a user's estimator is reported as theirs
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DeployError(
            f"deploying model {members[0]} ({template!r}) failed: {type(exc).__name__}: {message}"
        ) from None


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
            group = _deploy_fit(estimators, members, X, Y)
            for i, est in zip(members, group, strict=True):
                fitted[i], seconds[i] = est, (time.perf_counter() - start) / len(members)
            bar.update(len(members))
    return fitted, seconds
