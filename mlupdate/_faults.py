"""Fault-injecting estimators, for the tests of failure isolation and lost workers.

They live in the package, not in ``tests/``, because joblib and dask worker
processes unpickle them by module path: a worker can import ``mlupdate`` but
not the test folder. Private: not part of the public API.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge

__all__ = ["FailingRegressor", "WorkerKillingRegressor"]


class FailingRegressor(RegressorMixin, BaseEstimator):
    """A Ridge that raises ``RuntimeError`` in ``fail_in`` ("predict" or "fit").

    The first fit (deploy) and the first predict (the deploy-time score)
    succeed, so a fleet can be deployed with it and fail only in the update.
    """

    def __init__(self, fail_in: str = "predict", fits_before_failing: int = 1) -> None:
        self.fail_in = fail_in
        self.fits_before_failing = fits_before_failing
        self._predicts = 0

    def fit(self, X: np.ndarray, y: np.ndarray) -> FailingRegressor:
        if self.fail_in == "fit" and self.fits_before_failing < 0:
            raise RuntimeError("injected failure in fit")
        self.model_ = Ridge().fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        self._predicts += 1
        if self.fail_in == "predict" and self._predicts > 1:
            raise RuntimeError("injected failure in predict")
        return self.model_.predict(X)

    def __sklearn_clone__(self) -> FailingRegressor:
        # Each clone has one successful fit fewer left: deploy fits, retrain fails.
        return type(self)(self.fail_in, self.fits_before_failing - 1)


class WorkerKillingRegressor(RegressorMixin, BaseEstimator):
    """A Ridge whose ``predict`` SIGKILLs the process it runs in, unless that
    is the process with pid ``parent_pid`` (so deploy and scoring in the
    parent work, and a worker process dies).

    With ``once_marker`` (a file path), only the first worker dies: it creates
    the file, and a retry of the task elsewhere finds it and predicts.
    """

    def __init__(self, parent_pid: int = 0, once_marker: str = "") -> None:
        self.parent_pid = parent_pid
        self.once_marker = once_marker

    def fit(self, X: np.ndarray, y: np.ndarray) -> WorkerKillingRegressor:
        self.model_ = Ridge().fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if os.getpid() != self.parent_pid:
            if not self.once_marker:
                os.kill(os.getpid(), signal.SIGKILL)
            elif not os.path.exists(self.once_marker):
                Path(self.once_marker).touch()
                os.kill(os.getpid(), signal.SIGKILL)
        return self.model_.predict(X)
