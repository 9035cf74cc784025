"""Estimators whose predictions are row by row, so that many batches can be predicted in one call.

A fitted estimator is *row-wise* when the prediction for a row depends on that
row alone: predicting the rows of many batches stacked, then slicing the
result per batch, gives what one call per batch gives. The fused executor
predicts a block of batches with one call for each such model (one round of
scikit-learn's input checks per block, not per batch).

The known row-wise estimators are :data:`ROWWISE_ESTIMATORS` (regressors) and
:data:`ROWWISE_TRANSFORMERS` (fitted transformers a Pipeline of row-wise steps
may hold), by class name and module. Declare your own with
:func:`register_rowwise`. Classes are matched exactly: a subclass may predict
differently, so it is row-wise only once registered.

Trees, forests and boosting predict each row with the same operations
whatever the other rows are, so the stacked predictions equal the per-batch
ones exactly. Products with a coefficient matrix (linear models, k-NN's
distances) may round differently when the BLAS blocks a larger call: within
1e-12 relative.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ROWWISE_ESTIMATORS", "ROWWISE_TRANSFORMERS", "is_rowwise", "is_rowwise_transformer", "register_rowwise"]

#: Regressors whose predictions are row by row (module, class names).
ROWWISE_ESTIMATORS: dict[str, tuple[str, ...]] = {
    "sklearn.tree": ("DecisionTreeRegressor", "ExtraTreeRegressor"),
    "sklearn.ensemble": (
        "RandomForestRegressor",
        "ExtraTreesRegressor",
        "GradientBoostingRegressor",
        "HistGradientBoostingRegressor",
        "AdaBoostRegressor",
    ),
    "sklearn.neighbors": ("KNeighborsRegressor", "RadiusNeighborsRegressor"),
    "sklearn.linear_model": (
        "Ridge",
        "RidgeCV",
        "LinearRegression",
        "Lasso",
        "ElasticNet",
        "SGDRegressor",
        "HuberRegressor",
        "BayesianRidge",
        "ARDRegression",
        "TheilSenRegressor",
        "QuantileRegressor",
        "PoissonRegressor",
        "GammaRegressor",
        "TweedieRegressor",
    ),
    "sklearn.svm": ("SVR", "LinearSVR", "NuSVR"),
    "sklearn.kernel_ridge": ("KernelRidge",),
    "sklearn.dummy": ("DummyRegressor",),
}

#: Fitted transformers that map each row on its own (a Pipeline of these ending in a
#: row-wise regressor is row-wise).
ROWWISE_TRANSFORMERS: dict[str, tuple[str, ...]] = {
    "sklearn.preprocessing": (
        "StandardScaler",
        "MinMaxScaler",
        "MaxAbsScaler",
        "RobustScaler",
        "Normalizer",
        "SplineTransformer",
        "PolynomialFeatures",
        "OneHotEncoder",
        "OrdinalEncoder",
        "KBinsDiscretizer",
        "QuantileTransformer",
        "PowerTransformer",
        "Binarizer",
    ),
    "sklearn.impute": ("SimpleImputer", "MissingIndicator"),
    "sklearn.decomposition": ("PCA", "TruncatedSVD"),
    "sklearn.feature_selection": ("SelectKBest", "SelectPercentile", "VarianceThreshold"),
}

_declared: set[type] = set()


def register_rowwise(cls: type) -> type:
    """Declare that fitted instances of ``cls`` predict (or transform) row by row.

    Usable as a class decorator. The fused executor then predicts a block of
    batches with one call for such a model and slices the result per batch; declare
    only a class for which that equals one call per batch.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_rowwise takes a class, not {cls!r}")
    _declared.add(cls)
    return cls


def _listed(cls: type, table: dict[str, tuple[str, ...]]) -> bool:
    module = cls.__module__
    return any(
        (module == prefix or module.startswith(prefix + ".")) and cls.__name__ in names
        for prefix, names in table.items()
    )


def _step_rowwise(step: Any, table: dict[str, tuple[str, ...]]) -> bool:
    if step in (None, "passthrough"):
        return True
    return type(step) in _declared or _listed(type(step), table)


def is_rowwise(estimator: Any) -> bool:
    """Whether ``estimator`` predicts row by row: a listed or declared class, or a Pipeline of
    listed or declared transformers ending in one."""
    steps = getattr(estimator, "steps", None)
    if steps and type(estimator).__name__ == "Pipeline":
        return all(_step_rowwise(s, ROWWISE_TRANSFORMERS) for _, s in steps[:-1]) and _step_rowwise(
            steps[-1][1], ROWWISE_ESTIMATORS
        )
    return _step_rowwise(estimator, ROWWISE_ESTIMATORS)


def is_rowwise_transformer(transformer: Any) -> bool:
    """Whether a fitted transformer (a fleet's preprocessor) maps each row on its own: a listed or
    declared class, or a Pipeline of them. The fused executor then preprocesses a block of batches
    with one call."""
    steps = getattr(transformer, "steps", None)
    if steps and type(transformer).__name__ == "Pipeline":
        return all(_step_rowwise(s, ROWWISE_TRANSFORMERS) for _, s in steps)
    return _step_rowwise(transformer, ROWWISE_TRANSFORMERS)
