"""What an update run did: counts, stage times, per-model metrics, failures."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["COUNT_KEYS", "Failure", "ModelResult", "StageRecorder", "UpdateReport"]

#: Every operation count a plan predicts and a run reports.
COUNT_KEYS = (
    "preprocess",
    "predict",
    "evaluate",
    "fit",
    "partial_fit",
    "score",
    "rows_predicted",
    "rows_trained",
)

#: Stages that are timed.
STAGES = ("preprocess", "predict", "evaluate", "fit", "partial_fit", "score")


class StageRecorder:
    """Counts and times calls per stage.

    ``call(stage, fn, *args)`` runs ``fn(*args)``, adds one to ``counts[stage]``
    and its wall time to ``seconds[stage]``. Row counts are added by the caller.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(COUNT_KEYS, 0)
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        #: The stage that ran last (a failure is reported in it), or the step that encloses it.
        self.current = ""
        self._within: str | None = None

    @contextmanager
    def within(self, step: str) -> Iterator[None]:
        """Report the calls made inside as part of ``step`` (e.g. the fits of a ``retrain``)."""
        self._within = self.current = step
        try:
            yield
        finally:
            self._within = None

    def call(self, stage: str, fn: Callable[..., Any], *args: Any, n: int = 1) -> Any:
        """``fn(*args)``, timed and counted as ``n`` operations of ``stage`` (a fused call does ``n``)."""
        self.current = self._within or stage
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds[stage] += time.perf_counter() - start
            self.counts[stage] += n

    def merge(self, other: StageRecorder) -> None:
        for key, value in other.counts.items():
            self.counts[key] += value
        for key, value in other.seconds.items():
            self.seconds[key] += value


@dataclass
class Failure:
    """A model that did not complete: which one, in which stage, and why."""

    model: int
    name: str
    stage: str
    message: str

    def __str__(self) -> str:
        return f"{self.name} failed in {self.stage}: {self.message}"


@dataclass
class ModelResult:
    """What one model's task returns to the parent."""

    index: int
    estimator: Any = None
    stages: StageRecorder = field(default_factory=StageRecorder)
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    retrained: bool = False
    failure: Failure | None = None
    fused: bool = False  # predicted, evaluated (and maybe refitted) in one call with others
    fallback: str | None = None  # why the fused executor ran this model on its own
    fused_calls: int = 0  # fused calls this result accounts for (on one model of each group)


@dataclass
class UpdateReport:
    """The outcome of :func:`mlupdate.update_fleet`.

    Attributes
    ----------
    config : dict
        m, n, rows, order, strategy, executor, backend, n_jobs, blas_threads, seed.
    planned : dict
        Operation counts from the plan (for ``triggered``, ``fit`` and
        ``rows_trained`` are upper bounds).
    counts : dict
        Operations actually performed (same keys as ``planned``).
    seconds : dict
        Wall time summed per stage over all models (and workers).
    wall_seconds : float
        Wall time of the whole update.
    before, after : list of dict
        Per model: mean metrics over the new batches with the deployed model,
        and metrics on fresh holdout data after the retrain.
    retrained : list of bool
        Whether each model was refitted or updated.
    failures : list of Failure
        Models that did not complete (exceptions, lost workers).
    estimators : list
        The updated estimators (``None`` where a model failed).
    fusion : dict or None
        With the ``fused`` executor: ``fused_models`` (indices), ``fused_calls``
        and ``fallback`` (model name -> why it ran on its own). Counts stay
        per model and batch, so they still equal the plan.
    """

    config: dict[str, Any]
    planned: dict[str, int]
    counts: dict[str, int]
    seconds: dict[str, float]
    wall_seconds: float
    before: list[dict[str, float]]
    after: list[dict[str, float]]
    retrained: list[bool]
    failures: list[Failure]
    estimators: list[Any] = field(repr=False, default_factory=list)
    fusion: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when every model completed."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: the estimators as their class names (``Pipeline(StandardScaler, Ridge)``)."""
        out = asdict(self)
        out["estimator_classes"] = [None if e is None else _class_of(e) for e in out.pop("estimators")]
        out["failures"] = [asdict(f) for f in self.failures]
        return out


def _class_of(estimator: Any) -> str:
    steps = getattr(estimator, "steps", None)
    if steps:
        return f"{type(estimator).__name__}({', '.join(type(step).__name__ for _, step in steps)})"
    return type(estimator).__name__
